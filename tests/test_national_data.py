"""The synthetic national dataset of the benchmark (benchmarks/national_data.py), on a tiny scale,
and the DuckDB floor of the join stage (benchmarks/duckdb_floor.py) on a hand-made Parquet pair."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from benchmarks.duckdb_floor import run_floor, table_files
from benchmarks.national_data import Generation, add_vintage, build_territories, generate
from pipelines.resources import PROJECT_ROOT
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.ingest import REFERENTIAL_READERS, read_observation_file
from qpv_observatory.manifest import load_manifest
from qpv_observatory.observations import combine_observations
from qpv_observatory.readers.referential import combine_referentials
from qpv_observatory.store import vintage_fingerprint
from qpv_observatory.territories import COMMUNE_RE, EPCI_RE, QPV_2015_RE, QPV_2024_RE, is_valid_code

EXPECTATIONS = PROJECT_ROOT / "expectations"
TINY = {"scale": 0.01, "vintages": 3, "indicators": 12, "seed": 1}


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("national")
    generate(out, **TINY)
    return out


def millesime_folders(raw: Path) -> list[Path]:
    return sorted(p for p in raw.iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 4)


@pytest.fixture(scope="module")
def read_back(generated):
    """Every generated file read by the project's own readers, as the pipeline reads them."""
    raw, catalogue = generated / "raw", load_catalogue(generated / "catalogue")
    manifest = load_manifest(raw, vintages=())  # the top sources.toml: referentials only
    referential = combine_referentials([REFERENTIAL_READERS[e.reader](raw / e.path, f"data/raw/{e.path}", e.geography)
                                        for e in manifest.referentials])
    frames = []
    for folder in millesime_folders(raw):
        entries = load_manifest(raw, vintages=[int(folder.name)]).files
        assert entries and {e.vintage for e in entries} == {int(folder.name)}
        frames += [read_observation_file(raw, entry, catalogue) for entry in entries]
    return referential, combine_observations(frames), catalogue


def test_same_arguments_write_byte_identical_files(generated, tmp_path):
    again = tmp_path / "again"
    generate(again, **TINY)
    assert tree_bytes(again) == tree_bytes(generated)


def test_layout_millesime_folders_and_catalogue(generated):
    raw = generated / "raw"
    assert [p.name for p in millesime_folders(raw)] == ["2022", "2023", "2024"]
    assert sorted(p.name for p in (generated / "catalogue").iterdir()) == [
        "indicators.csv", "method_breaks.csv", "plausible_ranges.csv", "source_variables.csv", "sources.csv", "zero_not_available.csv"]
    assert Generation.load(generated).vintages == [2022, 2023, 2024]


def test_referentials_are_read_and_codes_well_formed(read_back):
    referential, _, _ = read_back
    links, territories = referential.qpv_links, referential.territories
    for geography, pattern in ((2015, QPV_2015_RE), (2024, QPV_2024_RE)):
        codes = links.loc[links["geography"] == geography, "qpv_code"]
        assert len(codes.unique()) == 16 and codes.map(lambda c: bool(pattern.match(c))).all()
    assert links["commune_code"].map(lambda c: bool(COMMUNE_RE.match(c))).all()
    assert links["epci_code"].map(lambda c: bool(EPCI_RE.match(c))).all()
    communes = territories.loc[territories["territory_level"] == "commune", "territory_code"]
    assert len(communes) == 350 and communes.map(lambda c: bool(COMMUNE_RE.match(c))).all()
    # Corsican and overseas code forms, QPV spanning two communes, communes outside any EPCI.
    assert {"2A", "2B", "97"} <= {c[:2] for c in communes}
    assert links["qpv_code"].str.contains("02A|02B").any() and links["qpv_code"].str.startswith("QP97").any()
    assert links.groupby("qpv_code")["commune_code"].nunique().max() == 2
    assert len(set(communes) - set(referential.commune_epci["commune_code"])) >= 1
    statuses = referential.qpv_correspondence.drop_duplicates("qpv_2024")["status_2024"].value_counts()
    assert statuses.to_dict() == {"Inchangé": 11, "Modifié": 3, "Nouveau": 2}
    new = referential.qpv_correspondence.query("status_2024 == 'Nouveau'")
    assert new["qpv_2015"].isna().all() and new["qpv_2024"].str.endswith("N").all()


def test_every_file_is_read_with_valid_codes_and_the_catalogue_variables(read_back):
    referential, observations, catalogue = read_back
    assert set(observations["year"]) == {2022, 2023, 2024}
    assert set(observations["indicator_id"]) == set(catalogue.indicators["indicator_id"])
    assert set(observations["source"]) == {"insee_rp", "insee_filosofi", "cnaf", "cnam", "france_travail"}
    assert all(is_valid_code(code, level) for code, level in zip(observations["territory_code"],
                                                                observations["territory_level"]))
    # The 2015 geography before 2024, the 2024 one from 2024.
    qpv = observations[observations["territory_level"] == "qpv"]
    assert qpv.loc[qpv["year"] < 2024, "territory_code"].str.startswith("QP").all()
    assert qpv.loc[qpv["year"] == 2024, "territory_code"].str.startswith("QN").all()
    known = set(referential.territories["territory_code"])
    assert set(observations["territory_code"]) <= known
    # The all-communes file of the RP, quarterly France Travail counts read for the 4th quarter.
    rp_communes = observations.query("source == 'insee_rp' and territory_level == 'commune'")
    assert rp_communes.groupby(["indicator_id", "year"]).size().eq(350).all()
    assert set(observations.loc[observations["source"] == "france_travail", "period"]) == {
        "2022-T4", "2023-T4", "2024-T4"}


def test_secret_cells_are_statuses_with_empty_values(read_back):
    _, observations, _ = read_back
    not_ok = observations[observations["status"] != "ok"]
    assert not_ok["value"].isna().all() and observations.loc[observations["status"] == "ok", "value"].notna().all()
    assert {"secret", "not_available", "missing"} <= set(not_ok["status"])
    assert 0.01 < len(not_ok) / len(observations) < 0.05
    # Catalogued zeros of the CAF counts: "not available", never the number 0.
    zeros = not_ok[not_ok["marker"] == "0"]
    assert len(zeros) and set(zeros["source"]) == {"cnaf"} and (zeros["status"] == "not_available").all()


def test_values_are_plausible_and_qpv_worse_off_than_their_commune(read_back):
    referential, observations, catalogue = read_back
    units = catalogue.indicators.set_index("indicator_id")["unit"]
    rates = observations[observations["indicator_id"].map(units) == "%"]
    assert rates["value"].dropna().between(0, 100).all()
    assert (observations["value"].dropna() >= 0).all()
    worse = catalogue.indicators.query("unit == '%' and polarity == 'higher_is_worse'")["indicator_id"]
    key = ["indicator_id", "year", "source"]
    qpv = observations[observations["indicator_id"].isin(worse) & (observations["territory_level"] == "qpv")]
    main_commune = referential.qpv_links.drop_duplicates("qpv_code").set_index("qpv_code")["commune_code"]
    communes = observations[observations["territory_level"] == "commune"]
    paired = qpv.assign(commune_code=qpv["territory_code"].map(main_commune)).merge(
        communes, left_on=[*key, "commune_code"], right_on=[*key, "territory_code"], suffixes=("", "_commune"))
    assert len(paired) > 100
    assert ((paired["value"] - paired["value_commune"]).dropna() > 0).mean() > 0.75


def test_counts_add_up_from_communes_to_epci(read_back):
    """Rates come with their counts (role column), and an EPCI's counts are its communes' sums."""
    referential, observations, catalogue = read_back
    variables = catalogue.variables
    rates = set(variables.loc[(variables["source"] == "insee_rp") & (variables["role"] == "numerator"), "indicator_id"])
    rp = observations[(observations["source"] == "insee_rp") & observations["indicator_id"].isin(rates)]
    published = rp[rp["status"] == "ok"]
    assert len(published) and published[["numerator", "denominator"]].notna().all().all()
    members = referential.commune_epci.set_index("commune_code")["epci_code"]
    communes = rp[rp["territory_level"] == "commune"]
    grouped = (communes.assign(epci=communes["territory_code"].map(members)).dropna(subset=["epci"])
               .groupby(["indicator_id", "year", "epci"])["denominator"])
    summed = grouped.sum()[grouped.count() == grouped.size()]  # every commune's count published
    epci = rp[rp["territory_level"] == "epci"].set_index(["indicator_id", "year", "territory_code"])["denominator"]
    compared = pd.concat([summed.rename("communes"), epci.rename("epci")], axis=1, join="inner").dropna()
    assert len(compared) and (compared["communes"] == compared["epci"]).all()


def test_added_millesime_is_the_next_one_and_leaves_the_others_as_they_were(generated, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(generated, copy)
    before = tree_bytes(copy / "raw")
    fingerprints = {v: vintage_fingerprint(copy / "raw", copy / "catalogue", EXPECTATIONS, v) for v in (2022, 2023, 2024)}
    assert add_vintage(copy).vintages == [2022, 2023, 2024, 2025]
    after = tree_bytes(copy / "raw")
    assert {k: v for k, v in after.items() if not k.startswith("2025/")} == before
    # The catalogue gained the 2025 rows only: the refresh computes 2025 alone (the benchmark's one-millésime refresh).
    assert {v: vintage_fingerprint(copy / "raw", copy / "catalogue", EXPECTATIONS, v) for v in fingerprints} == fingerprints
    assert "2025/sources.toml" in after and "2025/insee_rp/rp2025_qpv.csv" in after
    catalogue = load_catalogue(copy / "catalogue")
    assert catalogue.variables_for("insee_rp", 2025) and catalogue.zero_not_available_for("cnaf", 2025)
    for entry in load_manifest(copy / "raw", vintages=[2025]).files:
        assert len(read_observation_file(copy / "raw", entry, catalogue))
    with pytest.raises(FileExistsError):
        add_vintage(copy, 2025)


def test_a_millesime_does_not_depend_on_how_many_were_generated(generated, tmp_path):
    fewer = tmp_path / "fewer"
    generate(fewer, **{**TINY, "vintages": 1})
    assert tree_bytes(fewer / "raw" / "2024") == tree_bytes(generated / "raw" / "2024")


# --- The DuckDB floor ---------------------------------------------------------------------------

def write_parquet(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def observation_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["indicator_id", "territory_code", "territory_level", "year", "source",
                                        "value", "status"])
    return frame.astype({"value": "Float64"})


def test_floor_statement_gives_the_gaps_against_commune_and_epci(tmp_path):
    """QP079001 in Niort; QP079002 across Niort and Aiffres (same EPCI, compared once with it);
    a secret commune value gives no gap; a value of another source is not compared."""
    observations = observation_rows([
        ("chomage", "QP079001", "qpv", 2015, "insee_rp", 45.3, "ok"),
        ("chomage", "QP079002", "qpv", 2015, "insee_rp", 30.0, "ok"),
        ("chomage", "79191", "commune", 2015, "insee_rp", 15.1, "ok"),
        ("chomage", "79003", "commune", 2015, "insee_rp", None, "secret"),
        ("chomage", "200041317", "epci", 2015, "insee_rp", 12.0, "ok"),
        ("chomage", "200041317", "epci", 2015, "cnaf", 99.0, "ok"),
        ("chomage", "QP079001", "qpv", 2016, "insee_rp", None, "not_available"),
        ("chomage", "79191", "commune", 2016, "insee_rp", 14.0, "ok"),
    ])
    links = pd.DataFrame({"qpv_code": ["QP079001", "QP079002", "QP079002"], "commune_code": ["79191", "79191", "79003"],
                          "epci_code": ["200041317"] * 3, "geography": [2015] * 3})
    curated = tmp_path / "curated"
    write_parquet(curated / "parquet", "observations", observations)
    write_parquet(curated / "parquet", "qpv_links", links)
    con, seconds = run_floor(table_files(curated, "observations"), table_files(curated, "qpv_links"))
    rows = con.execute("SELECT qpv_code, year, comparison_level, comparison_code, comparison_status, gap, ratio "
                       "FROM floor_gaps ORDER BY ALL").fetchall()
    assert seconds >= 0
    assert rows == [
        ("QP079001", 2015, "commune", "79191", "ok", 30.2, 3.0),
        ("QP079001", 2015, "epci", "200041317", "ok", 33.3, 3.775),
        ("QP079001", 2016, "commune", "79191", "ok", None, None),
        ("QP079001", 2016, "epci", "200041317", "absent", None, None),
        ("QP079002", 2015, "commune", "79003", "secret", None, None),
        ("QP079002", 2015, "commune", "79191", "ok", 14.9, 1.986755),
        ("QP079002", 2015, "epci", "200041317", "ok", 18.0, 2.5),
    ]


def test_floor_reads_the_current_release_and_tables_split_per_millesime(tmp_path):
    curated = tmp_path / "curated"
    frame = observation_rows([("chomage", "QP079001", "qpv", 2015, "insee_rp", 1.0, "ok")])
    current = curated / "releases" / "20260101-b" / "parquet"
    expected = [write_parquet(current / "observations" / "millesime=2015", "part-0", frame),
                write_parquet(current / "observations" / "millesime=2016", "part-0", frame)]
    write_parquet(curated / "releases" / "20250101-a" / "parquet", "observations", frame)  # superseded release
    write_parquet(curated / "releases" / ".staging-run" / "parquet", "observations", frame)  # being written
    write_parquet(current, "observations_summary", frame)  # another table
    (curated / "current").symlink_to(Path("releases") / "20260101-b")
    (curated / "parquet").symlink_to(Path("current") / "parquet")
    assert table_files(curated, "observations") == [p.resolve() for p in expected]
    with pytest.raises(FileNotFoundError, match="qpv_links"):
        table_files(curated, "qpv_links")
    # Without the entry point: the whole curated folder, staging folders left out.
    (curated / "parquet").unlink()
    (curated / "current").unlink()
    assert len(table_files(curated, "observations")) == 3
    with duckdb.connect() as con:
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [[str(p) for p in expected]]).fetchone()[0] == 2


# --- The benchmark's report -----------------------------------------------------------------------

def test_report_cost_curve_and_targets_from_measures():
    from benchmarks.run_national import Measure, ScaleResult, linearity, report_lines, targets

    def measured(seconds: float, mib: float) -> Measure:
        return Measure(seconds=seconds, peak_mib=mib, maxrss_mib=mib, tree_mib=0.0, returncode=0, log="")

    results = [ScaleResult(scale=scale, communes=0, epci=0, qpv_2015=0, qpv_2024=0, vintages=[], generation_seconds=0,
                           values_written=0, observations=int(observations), full=measured(seconds, 900),
                           one=measured(8, 700), join_seconds=1.2, floor_sql_seconds=0.3)
               for scale, observations, seconds in ((0.5, 4e6, 20.0), (1.0, 8e6, 40.0))]
    curve = linearity(results)
    assert curve["seconds_per_million_observations"] == {"1/2": 5.0, "1": 5.0}
    assert abs(curve["log_log_slope"] - 1.0) < 1e-9
    # Full refresh time and memory, one-millésime refresh, join against the floor (4 times: missed), slope.
    assert [reached for _, _, reached in targets(results, curve["log_log_slope"])] == [True, True, True, False, True]
    machine = {"cores": 2, "cores_used": None, "memory_gib": 4.0, "python": "3.11", "packages": {}, "date": "d"}
    lines = report_lines(results, "python -m benchmarks.run_national", machine, markdown=True)
    assert lines[0].startswith("| échelle | QPV (2015 / 2024) |") and lines[2].startswith("| 1/2 |")
    assert any("NON atteint" in line and "plancher" in line for line in lines)



def test_national_epci_codes_are_sirens():
    """At full size too: nine digits (the 200… serial numbers once overflowed to ten)."""
    epci = build_territories(1.0, 1).epci
    assert len(epci) == 1250 and epci["code"].map(lambda c: bool(EPCI_RE.match(c))).all()
