"""Time series of the gaps: the 2015 → 2024 geography through the official correspondence, method breaks."""

from __future__ import annotations

import pandas as pd
import pytest

from qpv_observatory.catalogue import empty_method_breaks
from qpv_observatory.series import COMPARABLE, COMPARABLE_WITH_WARNING, NO_HISTORY, gap_series
from qpv_observatory.values import OK, SECRET

COMMUNE = "34172"


def gap_rows(qpv: str, source: str, figures: dict[int, float | None], commune_value: float = 20.0) -> list[dict]:
    """Gaps of one QPV to its commune, one per year; None is a secret QPV value."""
    return [{"qpv_code": qpv, "qpv_name": qpv, "indicator_id": "taux_pauvrete", "source": source,
             "source_label": source, "comparison_level": "commune", "comparison_code": COMMUNE,
             "comparison_name": "Montpellier", "year": year, "qpv_value": value,
             "qpv_status": OK if value is not None else SECRET, "comparison_value": commune_value,
             "comparison_status": OK, "gap": None if value is None else value - commune_value, "gap_unit": "points"}
            for year, value in figures.items()]


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"qpv_value": "Float64", "comparison_value": "Float64", "gap": "Float64",
                                      "year": "int64"})


CORRESPONDENCE = pd.DataFrame([("QN03401I", "QP034001", "Inchangé"), ("QN03402M", "QP034002", "Modifié"),
                               ("QN03403N", None, "Nouveau"), ("QN03404M", "QP034004", "Modifié"),
                               ("QN03404M", "QP034005", "Modifié")],
                              columns=["qpv_2024", "qpv_2015", "status_2024"])


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    rows = []
    for old in ("QP034001", "QP034002", "QP034004", "QP034005"):
        rows += gap_rows(old, "insee_filosofi", {2019: 40.0, 2021: 42.0})
    rows += gap_rows("QN03401I", "insee_filosofi", {2024: 45.0, 2025: 44.0})
    rows += gap_rows("QN03402M", "insee_filosofi", {2024: 38.0})
    rows += gap_rows("QN03403N", "insee_filosofi", {2024: 30.0})
    rows += gap_rows("QN03404M", "insee_filosofi", {2024: 41.0})
    return gap_series(frame(rows), CORRESPONDENCE, empty_method_breaks()).set_index(["qpv_code", "year"])


def test_2015_series_follows_its_own_years(series):
    row = series.loc[("QP034001", 2021)]
    assert (row.geography, row.previous_year, row.previous_qpv_code) == (2015, 2019, "QP034001")
    assert (row.qpv_value_change, row.gap_change, row.comparability) == (2.0, 2.0, COMPARABLE)
    first = series.loc[("QP034001", 2019)]
    assert first.comparability == NO_HISTORY and pd.isna(first.previous_year) and pd.isna(first.gap_change)


def test_status_i_continues_the_2015_predecessor(series):
    row = series.loc[("QN03401I", 2024)]
    assert (row.geography, row.previous_year, row.previous_qpv_code) == (2024, 2021, "QP034001")
    assert (row.comparability, row.qpv_value_change, row.gap_change) == (COMPARABLE, 3.0, 3.0)
    assert "contour inchangé" in row.comparability_reason
    later = series.loc[("QN03401I", 2025)]
    assert (later.previous_year, later.previous_qpv_code, later.qpv_value_change) == (2024, "QN03401I", -1.0)


def test_status_m_continues_with_a_warning(series):
    row = series.loc[("QN03402M", 2024)]
    assert (row.previous_year, row.previous_qpv_code, row.comparability) == (2021, "QP034002", COMPARABLE_WITH_WARNING)
    assert row.qpv_value_change == -4.0 and "prudence" in row.comparability_reason


def test_status_n_and_merged_qpv_have_no_history(series):
    new = series.loc[("QN03403N", 2024)]
    assert new.comparability == NO_HISTORY and "nouveau quartier" in new.comparability_reason
    assert pd.isna(new.previous_year) and pd.isna(new.qpv_value_change) and pd.isna(new.gap_change)
    merged = series.loc[("QN03404M", 2024)]
    assert merged.comparability == NO_HISTORY and pd.isna(merged.previous_year)
    assert "plusieurs QPV 2015 (QP034004, QP034005)" in merged.comparability_reason


def test_method_break_shows_and_stops_the_change():
    breaks = pd.DataFrame({"source": ["france_travail"], "first_year": [2025], "indicator_id": [None],
                           "label_fr": ["Loi pour le plein emploi"]}).astype(empty_method_breaks().dtypes.to_dict())
    rows = gap_rows("QP034001", "france_travail", {2023: 10.0, 2024: 11.0, 2025: 15.0, 2026: 16.0})
    rows += gap_rows("QP034001", "insee_filosofi", {2024: 40.0, 2025: 41.0})  # another source: no break
    out = gap_series(frame(rows), CORRESPONDENCE, breaks).set_index(["source", "year"])
    crossing = out.loc[("france_travail", 2025)]
    assert crossing.previous_year == 2024 and crossing.method_break == "Loi pour le plein emploi"
    assert pd.isna(crossing.qpv_value_change) and pd.isna(crossing.gap_change)
    assert out.loc[("france_travail", 2024), "qpv_value_change"] == 1.0
    assert out.loc[("france_travail", 2026), "qpv_value_change"] == 1.0  # both years under the new method
    assert pd.isna(out.loc[("france_travail", 2026), "method_break"])
    assert out.loc[("insee_filosofi", 2025), "qpv_value_change"] == 1.0


def test_indicator_scoped_break_leaves_the_source_s_other_indicators():
    breaks = pd.DataFrame({"source": ["cnaf"], "first_year": [2016], "indicator_id": ["part_rsa"],
                           "label_fr": ["Prime d'activité"]}).astype(empty_method_breaks().dtypes.to_dict())
    rows = gap_rows("QP079001", "cnaf", {2015: 30.0, 2016: 31.0})
    rsa = [dict(r, indicator_id="part_rsa") for r in rows]
    out = gap_series(frame(rows + rsa), CORRESPONDENCE, breaks).set_index(["indicator_id", "year"])
    assert out.loc[("part_rsa", 2016), "method_break"] == "Prime d'activité"
    assert pd.isna(out.loc[("part_rsa", 2016), "qpv_value_change"])
    assert out.loc[("taux_pauvrete", 2016), "qpv_value_change"] == 1.0


def test_secret_value_is_never_used_for_a_change():
    rows = gap_rows("QP034001", "insee_filosofi", {2019: None, 2021: 42.0})
    out = gap_series(frame(rows), CORRESPONDENCE, empty_method_breaks()).set_index("year")
    assert out.loc[2021, "previous_year"] == 2019 and out.loc[2021, "comparability"] == COMPARABLE
    assert pd.isna(out.loc[2021, "qpv_value_change"]) and pd.isna(out.loc[2021, "gap_change"])
    assert pd.isna(out.loc[2019, "qpv_value"])


def test_series_validated_in_parts_finds_what_a_whole_validation_finds(series, tmp_path):
    from pipelines.resources import PROJECT_ROOT
    from qpv_observatory.series import series_parts
    from qpv_observatory.validation import combine_outcomes, validate_frame

    suite = PROJECT_ROOT / "expectations" / "curated" / "gap_series.json"
    table = series.reset_index()
    other = table.assign(indicator_id="taux_chomage")
    broken = pd.concat([table, other, other.iloc[[0]]], ignore_index=True)  # a repeated key
    broken.loc[3, "comparability"] = "peut-etre"  # not an allowed value
    path = tmp_path / "gap_series.parquet"
    broken.to_parquet(path, index=False)
    parts = list(series_parts(path, "parquet/gap_series.parquet", max_rows=1))
    assert [sorted(p["indicator_id"].unique()) for p in parts] == [["taux_pauvrete"], ["taux_chomage"]]
    assert sum(len(p) for p in parts) == len(broken)
    in_parts = combine_outcomes([validate_frame(p, suite) for p in parts])
    whole = validate_frame(broken, suite)
    assert in_parts.failed_rules == whole.failed_rules and len(in_parts.failed_rules) == 2
    assert in_parts.rows == len(broken) and not in_parts.passed
    # Same rows named: the file's row numbers are the whole table's (1 = first row).
    assert sorted(f.row for f in in_parts.findings) == sorted(f.row for f in whole.findings)
    assert {f.file for f in in_parts.findings} == {"parquet/gap_series.parquet"}


def test_series_parts_refuse_a_file_not_grouped_by_indicator(series, tmp_path):
    from qpv_observatory.series import series_parts

    table = series.reset_index()
    scattered = pd.concat([table, table.assign(indicator_id="taux_chomage"), table], ignore_index=True)
    scattered.to_parquet(tmp_path / "gap_series.parquet", index=False)
    with pytest.raises(ValueError, match="dispersées"):
        list(series_parts(tmp_path / "gap_series.parquet", "gap_series.parquet", max_rows=1))


def store_gaps(folder, gaps: pd.DataFrame) -> dict:
    """The gaps of each year as a millésime of the store: {millésime: file}."""
    files = {}
    for year, part in gaps.groupby("year"):
        files[year] = folder / f"millesime={year}" / "gaps.parquet"
        files[year].parent.mkdir(parents=True, exist_ok=True)
        part.to_parquet(files[year], index=False)
    return files


def several_indicators(figures: dict[int, float]) -> pd.DataFrame:
    rows = []
    for indicator in ("taux_chomage", "taux_pauvrete", "part_jeunes"):
        for old in ("QP034001", "QP034002"):
            rows += [{**r, "indicator_id": indicator} for r in gap_rows(old, "insee_filosofi", {
                y: v for y, v in figures.items() if y < 2024})]
        rows += [{**r, "indicator_id": indicator} for r in gap_rows("QN03401I", "insee_filosofi", {
            y: v for y, v in figures.items() if y >= 2024})]
    return frame(rows)


def plain(table: pd.DataFrame) -> pd.DataFrame:
    """Empty cells alike, whatever their type."""
    return table.astype(object).where(table.notna(), None)


def read_series(folder) -> pd.DataFrame:
    """The series' files (one a year), each checked to be in series order, as one table in that order."""
    from qpv_observatory.series import SERIES_ORDER_COLUMNS
    from qpv_observatory.warehouse import year_files

    frames = []
    for year, path in year_files(folder).items():
        frame = pd.read_parquet(path)
        assert (frame["year"] == year).all()
        pd.testing.assert_frame_equal(frame, frame.sort_values(SERIES_ORDER_COLUMNS, ignore_index=True))
        frames.append(frame)
    return pd.concat(frames).sort_values(SERIES_ORDER_COLUMNS, ignore_index=True)


def test_series_written_in_parts_is_the_series_of_one_statement(tmp_path):
    from qpv_observatory.series import write_gap_series

    gaps = several_indicators({2019: 40.0, 2021: 42.0, 2024: 45.0})
    files = store_gaps(tmp_path, gaps)
    target = tmp_path / "series" / "gap_series"
    written = write_gap_series(files, {v: "a" for v in files}, CORRESPONDENCE, empty_method_breaks(), target,
                               part_rows=1)
    expected = gap_series(gaps, CORRESPONDENCE, empty_method_breaks())
    assert (written.rows, written.from_year) == (len(expected), None) and len(expected) == 15
    assert sorted(p.name for p in target.iterdir()) == ["2019.parquet", "2021.parquet", "2024.parquet"]
    pd.testing.assert_frame_equal(plain(read_series(target)), plain(expected))


def test_a_refresh_recomputes_the_series_from_the_first_year_it_changed(tmp_path):
    from qpv_observatory.series import (confirm_series, series_files_to_validate, series_rows_to_validate,
                                        write_gap_series)
    from qpv_observatory.warehouse import content_id, year_files

    target = tmp_path / "series" / "gap_series"
    first = store_gaps(tmp_path / "a", several_indicators({2019: 40.0, 2021: 42.0, 2024: 45.0}))
    write_gap_series(first, {v: "a" for v in first}, CORRESPONDENCE, empty_method_breaks(), target, part_rows=1)
    assert series_rows_to_validate(target) is None  # every row new
    assert series_files_to_validate(target) == list(year_files(target).values())
    # Not confirmed (its suite did not pass): the next refresh starts again from scratch.
    again = write_gap_series(first, {v: "a" for v in first}, CORRESPONDENCE, empty_method_breaks(), target)
    assert again.from_year is None
    confirm_series(target)
    unchanged = write_gap_series(first, {v: "a" for v in first}, CORRESPONDENCE, empty_method_breaks(), target)
    assert unchanged.from_year > 2024 and unchanged.rows == 15  # nothing to compute, nothing to validate
    assert series_files_to_validate(target) == []
    confirm_series(target)
    # 2021 promoted again with other figures, 2025 added: rows from 2021 on are computed again.
    changed = several_indicators({2019: 40.0, 2021: 47.0, 2024: 45.0, 2025: 44.0})
    second = store_gaps(tmp_path / "b", changed)
    promotions = {2019: "a", 2021: "b", 2024: "a", 2025: "b"}
    before = {year: (content_id(path), path.stat().st_ino) for year, path in year_files(target).items()}
    written = write_gap_series(second, promotions, CORRESPONDENCE, empty_method_breaks(), target, part_rows=1)
    assert written.from_year == 2021 and series_rows_to_validate(target) == 2021
    after = {year: (content_id(path), path.stat().st_ino) for year, path in year_files(target).items()}
    # The file of 2019 is the one written before; the later ones are new, with new content ids (for the warehouse).
    assert after[2019] == before[2019] and sorted(after) == [2019, 2021, 2024, 2025]
    assert all(after[y][0] not in {i for i, _ in before.values()} for y in (2021, 2024, 2025))
    assert series_files_to_validate(target) == [year_files(target)[y] for y in (2021, 2024, 2025)]
    expected = gap_series(changed, CORRESPONDENCE, empty_method_breaks())
    pd.testing.assert_frame_equal(plain(read_series(target)), plain(expected))
    row = expected.set_index(["indicator_id", "qpv_code", "year"]).loc[("taux_chomage", "QN03401I", 2024)]
    assert (row.previous_year, row.qpv_value_change) == (2021, -2.0)  # from the new 2021 figure
    # Another correspondence: everything again.
    confirm_series(target)
    other = CORRESPONDENCE.assign(qpv_2015=CORRESPONDENCE["qpv_2015"].where(CORRESPONDENCE["qpv_2024"] != "QN03401I"))
    assert write_gap_series(second, promotions, other, empty_method_breaks(), target).from_year is None


def test_a_withdrawn_last_millesime_leaves_the_series(tmp_path):
    from qpv_observatory.series import confirm_series, write_gap_series

    target = tmp_path / "series" / "gap_series"
    files = store_gaps(tmp_path, several_indicators({2019: 40.0, 2021: 42.0, 2024: 45.0, 2025: 44.0}))
    write_gap_series(files, {v: "a" for v in files}, CORRESPONDENCE, empty_method_breaks(), target)
    confirm_series(target)
    kept = {v: f for v, f in files.items() if v != 2025}
    written = write_gap_series(kept, {v: "a" for v in kept}, CORRESPONDENCE, empty_method_breaks(), target)
    assert written.from_year == 2025 and written.rows == 15
    assert sorted(p.name for p in target.iterdir()) == ["2019.parquet", "2021.parquet", "2024.parquet"]


@pytest.mark.parametrize("figures", [
    {2019: 40.0, 2021: 42.0, 2024: None},  # the latest point before the new year is secret: no change
    {2019: 40.0, 2021: None, 2024: 45.0},
    {2019: None, 2024: 45.0},  # a hole of several years before the new year
])
def test_an_added_millesime_gives_the_series_of_a_full_computation(tmp_path, figures):
    from qpv_observatory.series import confirm_series, write_gap_series

    target = tmp_path / "series" / "gap_series"
    first = store_gaps(tmp_path / "a", several_indicators(figures))
    write_gap_series(first, {v: "a" for v in first}, CORRESPONDENCE, empty_method_breaks(), target, part_rows=1)
    confirm_series(target)
    added = several_indicators({**figures, 2025: 44.0})
    second = store_gaps(tmp_path / "b", added)
    written = write_gap_series(second, {**{v: "a" for v in first}, 2025: "b"}, CORRESPONDENCE,
                               empty_method_breaks(), target, part_rows=1)
    assert written.from_year == 2025
    expected = gap_series(added, CORRESPONDENCE, empty_method_breaks())
    pd.testing.assert_frame_equal(plain(read_series(target)), plain(expected))
    latest = expected.set_index(["indicator_id", "qpv_code", "year"]).loc[("taux_chomage", "QN03401I", 2025)]
    assert latest.previous_year == 2024


def test_an_added_millesime_reads_the_latest_points_the_previous_write_kept(tmp_path, monkeypatch):
    """A refresh that adds a millésime reads the latest point of each series kept by the previous write, not
    every earlier point: the 2015 predecessor's point a 2024 QPV continues, and the series of an indicator
    the previous millésime lacked, are carried over. Each write gives the series of a full computation."""
    from qpv_observatory import series as series_module
    from qpv_observatory.series import confirm_series, write_gap_series

    real_points_from, sought = series_module._points_from, []

    def points_from(year, kept_latest=False):
        if year:  # 0: the statement's text for the inputs' digest
            sought.append((year, kept_latest))
        return real_points_from(year, kept_latest)

    monkeypatch.setattr(series_module, "_points_from", points_from)
    target = tmp_path / "series" / "gap_series"

    def write(gaps: pd.DataFrame, promotions: dict, folder: str):
        written = write_gap_series(store_gaps(tmp_path / folder, gaps), promotions, CORRESPONDENCE,
                                   empty_method_breaks(), target, part_rows=1)
        expected = gap_series(gaps, CORRESPONDENCE, empty_method_breaks())
        pd.testing.assert_frame_equal(plain(read_series(target)), plain(expected))
        confirm_series(target)
        return written, expected.set_index(["indicator_id", "qpv_code", "year"])

    earlier = several_indicators({2019: 40.0, 2021: 42.0})  # 2015 geography only
    write(earlier, {2019: "a", 2021: "a"}, "a")

    def chomage_only(year: int, value: float) -> pd.DataFrame:
        rows = several_indicators({year: value})
        return rows[rows["indicator_id"] == "taux_chomage"]

    with_2025 = pd.concat([earlier, chomage_only(2025, 44.0)], ignore_index=True)
    written, rows = write(with_2025, {2019: "a", 2021: "a", 2025: "a"}, "b")
    # The first write kept the latest points before 2021 (its newest millésime's first year): the points
    # from 2021 on are read again.
    assert written.from_year == 2025 and sought == [(2021, True)]
    assert (rows.loc[("taux_chomage", "QN03401I", 2025), ["previous_year", "previous_qpv_code"]].tolist()
            == [2021, "QP034001"])
    with_2026 = pd.concat([with_2025, chomage_only(2026, 45.0)], ignore_index=True)
    written, _ = write(with_2026, {2019: "a", 2021: "a", 2025: "a", 2026: "a"}, "c")
    assert written.from_year == 2026 and sought[-1] == (2025, True)
    with_2027 = pd.concat([with_2026, several_indicators({2027: 46.0})], ignore_index=True)
    promotions = {2019: "a", 2021: "a", 2025: "a", 2026: "a", 2027: "a"}
    written, rows = write(with_2027, promotions, "d")
    assert written.from_year == 2027 and sought[-1] == (2026, True)
    # taux_pauvrete has had no figure since 2021: its latest point is still the 2015 predecessor's 2021 one.
    assert (rows.loc[("taux_pauvrete", "QN03401I", 2027), ["previous_year", "previous_qpv_code", "gap_change"]]
            .tolist() == [2021, "QP034001", 4.0])
    assert rows.loc[("taux_chomage", "QN03401I", 2027), "previous_year"] == 2026
    # The newest millésime promoted again (a raw file corrected): the latest points before it are read, and
    # are still the latest before it (the file is kept as it is).
    latest_file = target.with_name("gap_series.latest_points.parquet")
    kept_file = (latest_file.stat().st_ino, latest_file.read_bytes())
    changed = with_2027.assign(qpv_value=with_2027["qpv_value"].where(with_2027["year"] != 2027, 47.0))
    written, _ = write(changed, {**promotions, 2027: "b"}, "e")
    assert written.from_year == 2027 and sought[-1] == (2027, True)
    assert (latest_file.stat().st_ino, latest_file.read_bytes()) == kept_file
    # An older millésime promoted again: the points kept are after its first year, every earlier point is read.
    changed = changed.assign(qpv_value=changed["qpv_value"].where(changed["year"] != 2025, 43.0))
    written, _ = write(changed, {**promotions, 2025: "b", 2027: "b"}, "f")
    assert written.from_year == 2025 and sought[-1] == (2025, False)
    assert sought == [(2021, True), (2025, True), (2026, True), (2027, True), (2025, False)]
