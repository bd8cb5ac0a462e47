"""The warehouse keeps the unchanged millésimes of the published release and rewrites only the others."""

import duckdb
import pandas as pd
import pytest

from qpv_observatory.warehouse import DATABASE_NAME, MILLESIMES_TABLE, PARQUET_DIR, MillesimeFiles, write_tables


def stored(folder, vintage, frame, run):
    """A millésime's table as the store keeps it: a new folder (new files) at each promotion."""
    path = folder / run / f"millesime={vintage}" / "observations.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path, index=False)
    return path


def figures(vintage, value):
    return pd.DataFrame({"indicator_id": ["taux_pauvrete", "taux_chomage"], "year": [vintage, vintage],
                         "value": pd.array([value, value + 1], dtype="Float64")})


def publish(tmp_path, name, files, promotions, previous=None):
    release = tmp_path / name
    millesimes = pd.DataFrame({"millesime": list(promotions), "promotion": list(promotions.values())})
    return write_tables({"observations": MillesimeFiles(files, promotions), MILLESIMES_TABLE: millesimes},
                        release, previous=previous / DATABASE_NAME if previous else None)


def table(release, sql):
    with duckdb.connect(str(release / DATABASE_NAME), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_refreshed_millesime_is_rewritten_the_others_kept(tmp_path):
    store = tmp_path / "store"
    files = {2016: stored(store, 2016, figures(2016, 10.0), "a"), 2017: stored(store, 2017, figures(2017, 20.0), "a")}
    first = publish(tmp_path, "r1", files, {2016: "a", 2017: "a"})
    assert first.rebuilt == {"observations": None}  # no previous release: everything written
    # 2017 promoted again by run b with other figures; 2018 is new.
    files = {**files, 2017: stored(store, 2017, figures(2017, 25.0), "b"),
             2018: stored(store, 2018, figures(2018, 30.0), "b")}
    second = publish(tmp_path, "r2", files, {2016: "a", 2017: "b", 2018: "b"}, previous=tmp_path / "r1")
    assert second.rebuilt == {"observations": [2017, 2018]}
    rows = table(tmp_path / "r2", "SELECT millesime, indicator_id, value FROM observations ORDER BY 1, 2")
    assert rows == [(2016, "taux_chomage", 11.0), (2016, "taux_pauvrete", 10.0),
                    (2017, "taux_chomage", 26.0), (2017, "taux_pauvrete", 25.0),
                    (2018, "taux_chomage", 31.0), (2018, "taux_pauvrete", 30.0)]
    # The published release is never written: its database still has the first state.
    assert table(tmp_path / "r1", "SELECT sum(value) FROM observations") == [(62.0,)]
    # Parquet: one folder per table, a file per millésime, linked to the store's file (no copy).
    part = tmp_path / "r2" / PARQUET_DIR / "observations" / "millesime=2017" / "part-0.parquet"
    assert part.stat().st_ino == files[2017].stat().st_ino
    assert len(pd.read_parquet(tmp_path / "r2" / PARQUET_DIR / "observations")) == 6


def test_a_millesime_no_longer_published_leaves_the_warehouse(tmp_path):
    store = tmp_path / "store"
    files = {2016: stored(store, 2016, figures(2016, 10.0), "a"), 2017: stored(store, 2017, figures(2017, 20.0), "a")}
    publish(tmp_path, "r1", files, {2016: "a", 2017: "a"})
    second = publish(tmp_path, "r2", {2016: files[2016]}, {2016: "a"}, previous=tmp_path / "r1")
    assert second.rebuilt == {"observations": []}
    assert table(tmp_path / "r2", "SELECT DISTINCT millesime FROM observations") == [(2016,)]
    assert table(tmp_path / "r2", f"SELECT millesime FROM {MILLESIMES_TABLE}") == [(2016,)]


def test_a_table_whose_columns_changed_is_written_whole(tmp_path):
    store = tmp_path / "store"
    files = {2016: stored(store, 2016, figures(2016, 10.0), "a"), 2017: stored(store, 2017, figures(2017, 20.0), "a")}
    publish(tmp_path, "r1", files, {2016: "a", 2017: "a"})
    wider = figures(2017, 20.0).assign(status="ok")
    files = {2016: stored(store, 2016, figures(2016, 10.0).assign(status="ok"), "b"),
             2017: stored(store, 2017, wider, "b")}
    second = publish(tmp_path, "r2", files, {2016: "a", 2017: "b"}, previous=tmp_path / "r1")
    assert second.rebuilt == {"observations": None}
    assert table(tmp_path / "r2", "SELECT count(*) FROM observations WHERE status = 'ok'") == [(4,)]


@pytest.mark.parametrize("damage", [b"", b"not a database"])
def test_an_unreadable_previous_database_is_not_reused(tmp_path, damage):
    store = tmp_path / "store"
    files = {2016: stored(store, 2016, figures(2016, 10.0), "a")}
    publish(tmp_path, "r1", files, {2016: "a"})
    (tmp_path / "r1" / DATABASE_NAME).write_bytes(damage)
    second = publish(tmp_path, "r2", files, {2016: "a"}, previous=tmp_path / "r1")
    assert second.rebuilt == {"observations": None}
    assert table(tmp_path / "r2", "SELECT sum(value) FROM observations") == [(21.0,)]


def series_files(folder, name, years, content):
    """A table kept per year (as gap_series): one file a year, each naming its content in its footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from qpv_observatory.warehouse import content_metadata

    files = {}
    for year in years:
        files[year] = folder / name / f"{year}.parquet"
        files[year].parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(pd.DataFrame({"year": [year], "value": [float(year)]}), preserve_index=False)
        label = content.get(year, f"{name}/{year}")  # "": no id
        pq.write_table(table.replace_schema_metadata(content_metadata(label) if label else None), files[year])
    return files


def publish_series(tmp_path, name, files, previous=None):
    from qpv_observatory.warehouse import YearFiles

    millesimes = pd.DataFrame({"millesime": [2016], "promotion": ["a"]})
    return write_tables({MILLESIMES_TABLE: millesimes, "gap_series": YearFiles(files)}, tmp_path / name,
                        previous=previous / DATABASE_NAME if previous else None)


def test_a_series_kept_per_year_rewrites_only_the_years_the_release_does_not_hold(tmp_path):
    first = series_files(tmp_path / "store", "s1", [2016, 2017, 2018], {})
    published = publish_series(tmp_path, "r1", first)
    assert published.rebuilt["gap_series"] is None
    assert sorted(p.name for p in published.parquet_files["gap_series"].iterdir()) == [
        "2016.parquet", "2017.parquet", "2018.parquet"]
    # 2018 written again (other content), 2019 added: only those two years are written into the warehouse.
    second = {**first, **series_files(tmp_path / "store", "s2", [2018, 2019], {})}
    assert publish_series(tmp_path, "r2", second, previous=tmp_path / "r1").rebuilt["gap_series"] == [2018, 2019]
    assert table(tmp_path / "r2", "SELECT year, value FROM gap_series ORDER BY 1") == [
        (2016, 2016.0), (2017, 2017.0), (2018, 2018.0), (2019, 2019.0)]
    # The same files again: nothing to write.
    assert publish_series(tmp_path, "r3", second, previous=tmp_path / "r2").rebuilt["gap_series"] == []
    assert table(tmp_path / "r3", "SELECT count(*) FROM gap_series") == [(4,)]
    # A year gone (2017): its rows deleted, nothing written.
    third = {y: f for y, f in second.items() if y != 2017}
    assert publish_series(tmp_path, "r4", third, previous=tmp_path / "r3").rebuilt["gap_series"] == []
    assert table(tmp_path / "r4", "SELECT year FROM gap_series ORDER BY 1") == [(2016,), (2018,), (2019,)]
    # Files without an id are always written again.
    plain = series_files(tmp_path / "store", "s3", [2016], {2016: ""})
    assert publish_series(tmp_path, "r5", {**third, **plain}, previous=tmp_path / "r4").rebuilt["gap_series"] == [2016]
    assert table(tmp_path / "r5", "SELECT count(*) FROM gap_series") == [(3,)]


def test_a_release_with_the_one_file_series_of_earlier_versions_is_written_whole(tmp_path):
    # Releases published before the series was kept per year hold parquet/gap_series.parquet: no year to keep.
    single = tmp_path / "store" / "gap_series.parquet"
    single.parent.mkdir(parents=True)
    pd.DataFrame({"year": [2016, 2017], "value": [1.0, 2.0]}).to_parquet(single, index=False)
    millesimes = pd.DataFrame({"millesime": [2016], "promotion": ["a"]})
    write_tables({MILLESIMES_TABLE: millesimes, "gap_series": single}, tmp_path / "r1")
    per_year = series_files(tmp_path / "store", "s1", [2016, 2017], {})
    assert publish_series(tmp_path, "r2", per_year, previous=tmp_path / "r1").rebuilt["gap_series"] is None
    assert table(tmp_path / "r2", "SELECT year, value FROM gap_series ORDER BY 1") == [(2016, 2016.0), (2017, 2017.0)]
