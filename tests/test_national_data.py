"""The synthetic national dataset of the benchmark (benchmarks/national_data.py), on a tiny scale,
and the DuckDB floor of the join stage (benchmarks/duckdb_floor.py) against the published gaps table."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from benchmarks.duckdb_floor import FLOOR_TABLES, run_floor, table_files
from benchmarks.national_data import Generation, add_vintage, build_territories, generate
from pipelines.resources import PROJECT_ROOT
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.ingest import REFERENTIAL_READERS, read_observation_file
from qpv_observatory.gaps import DERIVED_INPUT_COLUMNS, compute_gaps
from qpv_observatory.manifest import load_manifest
from qpv_observatory.observations import combine_observations, conform
from qpv_observatory.readers.referential import Referential, combine_referentials
from qpv_observatory.store import vintage_fingerprint
from qpv_observatory.territories import COMMUNE_RE, EPCI_RE, QPV_2015_RE, QPV_2024_RE, is_valid_code
from qpv_observatory.warehouse import MILLESIME_COLUMN, PARQUET_DIR

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
    local = observations["territory_level"].isin(["qpv", "commune", "epci"])
    assert set(observations.loc[local, "territory_code"]) <= known
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


def test_insee_qpv_files_give_the_national_rows(read_back):
    """INSEE's QPV files (RP, Filosofi, Cnam) carry the three national levels, always published: the QPV of the
    year's geography taken together (their counts add up), metropolitan France and France (more people)."""
    _, observations, catalogue = read_back
    national = observations[observations["territory_level"].isin(["qpv_france", "france_metro", "france"])]
    assert set(national["source"]) == {"insee_rp", "insee_filosofi", "cnam"}
    assert (national["status"] == "ok").all() and national["value"].notna().all()
    per_series = national.groupby(["indicator_id", "year", "source"])["territory_level"].agg(lambda l: ",".join(sorted(l)))
    assert (per_series == "france,france_metro,qpv_france").all()
    sources = catalogue.variables.groupby("indicator_id")["source"].first()
    for source in ("insee_rp", "insee_filosofi", "cnam"):
        assert set(per_series.loc[:, :, source].index.get_level_values(0)) == set(sources[sources == source].index)
    with_counts = observations[observations["denominator"].notna() | observations["status"].ne("ok")]
    qpv = with_counts[with_counts["territory_level"] == "qpv"].groupby(["indicator_id", "year", "source"])
    summed = qpv["denominator"].sum()[qpv["denominator"].count() == qpv.size()]  # every QPV's count published
    together = national[national["territory_level"] == "qpv_france"].set_index(
        ["indicator_id", "year", "source"])["denominator"]
    compared = pd.concat([summed.rename("qpv"), together.rename("together")], axis=1, join="inner").dropna()
    assert len(compared) >= 5 and (compared["qpv"] == compared["together"]).all()
    people = national.pivot_table(index=["indicator_id", "year", "source"], columns="territory_level",
                                  values="denominator").dropna()
    assert len(people) and (people["france"] > people["france_metro"]).all()
    assert (people["france_metro"] > people["qpv_france"]).all()


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


def test_floor_statement_gives_the_published_gap_table(demo_curated):
    """The floor is the same join as the pipeline's: on the demo data, its table is the published gaps table of
    each millésime, column for column, row for row, in the same order."""
    files = {table: table_files(demo_curated, table) for table in FLOOR_TABLES}
    con, seconds = run_floor(files)
    floor = con.execute("SELECT * FROM floor_gaps").df()
    published = pd.read_parquet(demo_curated / PARQUET_DIR / "gaps")
    assert seconds >= 0 and len(floor) == len(published) > 0
    assert {"commune_hors_qpv", "qpv_contrat"} <= set(floor["comparison_level"])
    for millesime, expected in published.groupby(MILLESIME_COLUMN, observed=True):
        got = floor[floor[MILLESIME_COLUMN] == millesime].drop(columns=MILLESIME_COLUMN).reset_index(drop=True)
        expected = expected.drop(columns=MILLESIME_COLUMN).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


def test_floor_statement_gives_the_gap_table_of_compute_gaps_at_every_level(tmp_path):
    """Hand-made tables in the published layout, two millésimes with the same indicator, year and source (each QPV
    figure compared within its millésime only): the floor's rows are compute_gaps' rows, level by level (unité
    urbaine and national levels, derived figures published or withheld with their reason), names (the last one
    listed wins), zero comparison value, polarities."""
    indicators = pd.DataFrame({"indicator_id": ["chomage", "emploi", "jeunes"], "unit": ["%", "€", "%"],
                               "polarity": ["higher_is_worse", "higher_is_better", "neutral"]})
    referential = Referential(
        territories=pd.DataFrame({"territory_code": ["QP030002", "30007", "30189", "200066918", "30701", "30007"],
                                  "territory_level": ["qpv", "commune", "commune", "epci", "unite_urbaine", "commune"],
                                  "name": ["Prés Saint-Jean", "Alès (ancien)", "Saint-Christol", "Alès Agglo",
                                           "UU d'Alès", "Alès"]}),
        qpv_links=pd.DataFrame({"qpv_code": ["QP030002", "QP030002", "QN03001I"],
                                "commune_code": ["30007", "30189", "30007"], "epci_code": ["200066918"] * 3,
                                "geography": [2015, 2015, 2024], "unite_urbaine_code": ["30701", "30701", None]}))
    tables = {}
    for millesime, shift in ((2020, 0.0), (2021, 1.5)):
        observations = conform(pd.DataFrame([
            ("chomage", "QP030002", "qpv", 30.0 + shift, "ok"), ("chomage", "30007", "commune", 12.0, "ok"),
            ("chomage", "30189", "commune", 0.0, "ok"), ("chomage", "200066918", "epci", None, "secret"),
            ("chomage", "30701", "unite_urbaine", 11.0, "ok"), ("chomage", "FR", "france", 7.3, "ok"),
            ("chomage", "QPV-FR", "qpv_france", 18.1, "ok"),
            ("emploi", "QP030002", "qpv", 1400.0, "ok"), ("emploi", "30007", "commune", 1700.0 - shift, "ok"),
            ("jeunes", "QP030002", "qpv", None, "not_available"), ("jeunes", "30007", "commune", 15.0, "ok"),
            ("jeunes", "QN03001I", "qpv", 21.0, "ok"),
        ], columns=["indicator_id", "territory_code", "territory_level", "value", "status"]).assign(
            year=2019, marker=None, source="s", source_label=f"S {millesime}", vintage=millesime,
            source_file="f.csv", source_row=lambda f: range(2, 2 + len(f))))
        derived = pd.DataFrame([
            ("chomage", 2019, "s", "commune_hors_qpv", "30007-HORS-QPV", "Alès hors QPV", "30007", 9.5, "ok", None),
            ("chomage", 2019, "s", "epci_hors_qpv", "200066918-HORS-QPV", "Alès Agglo hors QPV", "200066918",
             None, "secret", "l'EPCI est soumis au secret statistique"),
            ("emploi", 2019, "s", "qpv_contrat", "200066918-QPV", "QPV du contrat", "200066918", None,
             "not_computable", "médiane"),
        ], columns=list(DERIVED_INPUT_COLUMNS)).astype({"value": "Float64"})
        tables[millesime] = (observations, derived, compute_gaps(observations, referential, indicators, derived))
    curated = tmp_path / "curated"
    for millesime, (observations, derived, _) in tables.items():
        write_parquet(curated / "observations" / f"millesime={millesime}", "part-0", observations)
        write_parquet(curated / "comparison_territories" / f"millesime={millesime}", "part-0", derived)
    write_parquet(curated, "qpv_links", referential.qpv_links)
    write_parquet(curated, "territories", referential.territories)
    write_parquet(curated, "indicators", indicators)
    con, _ = run_floor({table: table_files(curated, table) for table in FLOOR_TABLES})
    floor = con.execute("SELECT * FROM floor_gaps").df()
    for millesime, (_, _, expected) in tables.items():
        assert set(expected["comparison_level"]) == {"commune", "epci", "unite_urbaine", "france", "qpv_france",
                                                     "commune_hors_qpv", "epci_hors_qpv"}
        got = floor[floor[MILLESIME_COLUMN] == millesime].drop(columns=MILLESIME_COLUMN).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


def test_floor_reads_the_current_release_and_tables_split_per_millesime(tmp_path):
    curated = tmp_path / "curated"
    frame = pd.DataFrame({"indicator_id": ["chomage"], "territory_code": ["QP079001"], "value": [1.0]})
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
    from benchmarks.run_national import Measure, ScaleResult, linearity, median_index, report_lines, targets

    def measured(seconds: float, mib: float) -> Measure:
        return Measure(seconds=seconds, peak_mib=mib, maxrss_mib=mib, tree_mib=0.0, returncode=0, log="")

    results = [ScaleResult(scale=scale, communes=0, epci=0, qpv_2015=0, qpv_2024=0, vintages=[], generation_seconds=0,
                           values_written=0, observations=int(observations), full=measured(seconds, 900),
                           one=measured(8, 700), join_seconds=1.2, floor_sql_seconds=0.3,
                           floor_unordered_seconds=0.2)
               for scale, observations, seconds in ((0.5, 4e6, 20.0), (1.0, 8e6, 40.0))]
    curve = linearity(results)
    assert curve["seconds_per_million_observations"] == {"1/2": 5.0, "1": 5.0}
    assert abs(curve["log_log_slope"] - 1.0) < 1e-9
    # Full refresh time and memory, one-millésime refresh, join against the floor (4 times: missed), slope.
    assert [reached for _, _, reached in targets(results, curve["log_log_slope"])] == [True, True, True, False, True]
    machine = {"cores": 2, "cores_used": None, "memory_gib": 4.0, "python": "3.11", "packages": {}, "date": "d"}
    lines = report_lines(results, "python -m benchmarks.run_national", machine, markdown=True)
    assert lines[0].startswith("| échelle | QPV (2015 / 2024) |") and lines[2].startswith("| 1/2 |")
    assert any("NON atteint" in line and "plancher" in line and "× 6,0 face au plancher sans tri" in line
               for line in lines)
    assert not any(line.startswith("Refresh d'un millésime, chaque mesure") for line in lines)
    # Repeated one-millésime refreshes: the median is the one reported, every measure is listed.
    repeats = [measured(seconds, 700) for seconds in (31.0, 12.5, 14.0)]
    assert median_index(repeats) == 2 and median_index(repeats[:2]) == 1 and median_index(repeats[:1]) == 0
    results[1].one, results[1].one_measures = repeats[2], repeats
    lines = report_lines(results, "python -m benchmarks.run_national", machine, markdown=True)
    assert "Refresh d'un millésime, chaque mesure (le tableau donne la médiane et son pic de mémoire) : " \
           "31,0 ; 12,5 ; 14,0 s (1)." in lines
    assert lines[3].split(" | ")[6] == "14,0"



def test_national_epci_codes_are_sirens():
    """At full size too: nine digits (the 200… serial numbers once overflowed to ten)."""
    epci = build_territories(1.0, 1).epci
    assert len(epci) == 1250 and epci["code"].map(lambda c: bool(EPCI_RE.match(c))).all()
