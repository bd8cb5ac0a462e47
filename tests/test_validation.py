"""Validation suites on the Niort demo and on small frames: blocking rules, warnings, report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.validation_report import RECORDS_DIR, REPORT_DIR, REPORT_PAGE

CATALOGUE = PROJECT_ROOT / "data" / "catalogue"


def _records(demo_curated, name: str) -> list[dict]:
    """A check's records: one per millésime for the checks of a millésime's tables."""
    paths = sorted((demo_curated / REPORT_DIR / RECORDS_DIR).glob(f"{name}*.json"))
    records = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    return [r for r in records if r["name"] == name]


DEMO_MILLESIMES = {2013, 2015, 2016, 2017, 2018, 2019, 2020}
# Millésimes read from national files (INSEE's Démographie tables): rows outside the territory counted.
NATIONAL_FILE_MILLESIMES = {2019, 2020}


def test_niort_demo_passes_every_blocking_rule(demo_curated):
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (demo_curated / REPORT_DIR / RECORDS_DIR).glob("*.json")]
    # One per source present in the millésime, observations, gaps and gap_portrait in each millésime; then the
    # referential's and gap_series.
    observations = pd.read_parquet(demo_curated / "parquet" / "observations", columns=["millesime", "source"])
    sources = observations.groupby("millesime")["source"].agg(set).to_dict()
    assert sources[2015] == {"insee_rp", "insee_filosofi"} and sources[2016] == {"cnaf"}
    assert sources[2020] == {"insee_rp", "cnaf"}  # one file, two sources
    per_millesime = {"observations_suite", "gaps_suite", "gap_portrait_suite"}
    assert {(r["name"], r["millesime"]) for r in records} == (
        {(name, year) for year in DEMO_MILLESIMES for name in per_millesime | {f"{s}_suite" for s in sources[year]}}
        | {("territories_suite", None), ("qpv_links_suite", None), ("gap_series_suite", None)}
        | {("perimetre", year) for year in NATIONAL_FILE_MILLESIMES})
    assert len({r["run_id"] for r in records}) == 1  # one report for the whole refresh
    for record in records:
        assert record["status"] != "failed", record["findings"][:3]


def test_tableau_6_raises_the_plausibility_warning(demo_curated):
    findings = [f for r in _records(demo_curated, "observations_suite") for f in r["findings"]]
    implausible = {(f["file"].split("/")[-1], f["row"]) for f in findings if "plage plausible" in f["rule"]}
    # AAH at 55, 49, 52 % in the three QPV; CMU-C at 23 % for Niort and 22 % for the agglomeration.
    assert implausible == {("cnaf2017_allocataires_qpv_niort.csv", 2), ("cnaf2017_allocataires_qpv_niort.csv", 3),
                           ("cnaf2017_allocataires_qpv_niort.csv", 4), ("cnam2018_qpv_niort.csv", 5),
                           ("cnam2018_qpv_niort.csv", 6)}
    assert all(f["severity"] == "warning" for f in findings)


def test_secret_markers_are_counted_and_report_is_written(demo_curated, warehouse):
    records = _records(demo_curated, "observations_suite")
    assert {r["millesime"] for r in records} == DEMO_MILLESIMES
    published = dict(warehouse.execute("SELECT status, count(*) FROM observations GROUP BY status").fetchall())
    # One "nd" in the Niort tables; the other "not available" are cells INSEE left empty in its 2019-2020 tables.
    unpublished = warehouse.execute("SELECT count(*) FROM observations WHERE status = 'not_available' "
                                    "AND millesime IN (2019, 2020) AND marker IS NULL").fetchone()[0]
    assert sum(r["status_counts"].get("not_available", 0) for r in records) == published["not_available"] == 1 + unpublished
    assert unpublished > 0
    assert sum(sum(r["status_counts"].values()) for r in records) == sum(published.values())
    page = (demo_curated / REPORT_DIR / REPORT_PAGE).read_text(encoding="utf-8")
    assert "Rapport de validation" in page and "part_aah" in page and "<th>millésime</th>" in page


def test_implausible_jump_between_vintages_is_a_warning(demo_curated, tmp_path):
    from qpv_observatory.catalogue import load_catalogue
    from qpv_observatory.validation import load_plausible_ranges, prepare_observations, validate_frame, known_territory_codes
    from qpv_observatory.readers.referential import Referential

    observations = pd.read_parquet(demo_curated / "parquet" / "observations").drop(columns="millesime")
    referential = Referential(pd.read_parquet(demo_curated / "parquet" / "territories.parquet"),
                              pd.read_parquet(demo_curated / "parquet" / "qpv_links.parquet"))
    later = observations[observations["indicator_id"] == "taux_chomage_rp"].assign(year=2017, vintage=2017)
    later["value"] = later["value"] + 1.0
    later.loc[later["territory_code"] == "QP079001", "value"] = 15.0  # 45.3 % two years before
    frame = prepare_observations(pd.concat([observations, later], ignore_index=True), referential,
                                 load_catalogue(CATALOGUE).indicators, load_plausible_ranges(CATALOGUE))
    outcome = validate_frame(frame, PROJECT_ROOT / "expectations" / "curated" / "observations.json",
                             {"known_territory_codes": known_territory_codes(referential),
                              "indicator_ids": sorted(frame["indicator_id"].unique())})
    jumps = [f for f in outcome.findings if "évolution invraisemblable" in f.rule]
    assert outcome.passed
    assert [(f.severity, "QP079001" in f.value) for f in jumps] == [("warning", True)]


def test_jump_is_measured_from_the_earlier_published_millesime(demo_curated):
    """A millésime's check sees only its own rows: the earlier millésime comes in as ``earlier``."""
    from qpv_observatory.catalogue import load_catalogue
    from qpv_observatory.readers.referential import Referential
    from qpv_observatory.validation import CHANGE_COLUMNS, load_plausible_ranges, prepare_observations

    observations = pd.read_parquet(demo_curated / "parquet" / "observations").drop(columns="millesime")
    referential = Referential(pd.read_parquet(demo_curated / "parquet" / "territories.parquet"),
                              pd.read_parquet(demo_curated / "parquet" / "qpv_links.parquet"))
    later = observations[observations["indicator_id"] == "taux_chomage_rp"].assign(year=2017, vintage=2017)
    later.loc[later["territory_code"] == "QP079001", "value"] = 15.0  # 45.3 % two years before
    frame = prepare_observations(later, referential, load_catalogue(CATALOGUE).indicators,
                                 load_plausible_ranges(CATALOGUE), earlier=observations[CHANGE_COLUMNS])
    assert len(frame) == len(later)
    change = dict(zip(frame["territory_code"], frame["change_per_year"]))
    assert change["QP079001"] == pytest.approx((45.3 - 15.0) / 2) and change["79191"] == 0


def test_an_observations_suite_gets_the_prepared_columns_its_rules_read(demo_curated, tmp_path, monkeypatch):
    """A source suite reads neither the plausible ranges nor the yearly changes: they are not computed for it.
    A rule an analyst adds on one of them gets it."""
    from assets.checks import observation_parameters
    from qpv_observatory import validation
    from qpv_observatory.catalogue import load_catalogue
    from qpv_observatory.readers.referential import Referential

    observations = pd.read_parquet(demo_curated / "parquet" / "observations").drop(columns="millesime")
    cnaf = observations[observations["source"] == "cnaf"].reset_index(drop=True)
    referential = Referential(pd.read_parquet(demo_curated / "parquet" / "territories.parquet"),
                              pd.read_parquet(demo_curated / "parquet" / "qpv_links.parquet"))
    catalogue = load_catalogue(CATALOGUE)
    parameters = observation_parameters(catalogue, "cnaf")
    assert validation.columns_named(SOURCE_SUITE, validation.PREPARED_COLUMNS) == ("unit", "territory_known")
    assert validation.columns_named(PROJECT_ROOT / "expectations" / "curated" / "observations.json",
                                    validation.PREPARED_COLUMNS) == validation.PREPARED_COLUMNS[2:]

    def not_needed(*args, **kwargs):
        raise AssertionError("computed for a suite that does not read it")

    for name in ("_change_per_year", "_comparison_complete", "_ranges_per_row"):
        monkeypatch.setattr(validation, name, not_needed)
    arguments = (referential, catalogue.indicators, validation.load_plausible_ranges(CATALOGUE))
    assert validation.validate_observations(cnaf, SOURCE_SUITE, parameters, *arguments).passed
    suite = json.loads(SOURCE_SUITE.read_text(encoding="utf-8"))
    suite["expectations"].append({"type": "expect_column_pair_values_a_to_be_greater_than_b", "severity": "warning",
                                  "kwargs": {"column_A": "plausible_max", "column_B": "value", "or_equal": True,
                                             "ignore_row_if": "either_value_is_missing"}})
    edited = tmp_path / "cnaf.json"
    edited.write_text(json.dumps(suite), encoding="utf-8")
    assert validation.columns_named(edited, validation.PREPARED_COLUMNS) == ("unit", "territory_known", "plausible_max")
    with pytest.raises(AssertionError, match="computed for a suite"):
        validation.validate_observations(cnaf, edited, parameters, *arguments)
    monkeypatch.undo()
    outcome = validation.validate_observations(cnaf, edited, parameters, *arguments)
    assert outcome.evaluated == len(suite["expectations"]) and outcome.passed


# --- The lean frame great-expectations gets (engine_frame) and the two passes --------------------

SOURCE_SUITE = PROJECT_ROOT / "expectations" / "sources" / "source.json"


def _faulty_observations() -> pd.DataFrame:
    """Observations of the cnaf suite's shape, with one broken rule or more on most rows."""
    rows = [  # indicator, code, level, status, value, unit, known
        ("part_aah", "QP079001", "qpv", "ok", 10.0, "%", True),
        ("part_aah", "QP79001", "qpv", "ok", 11.0, "%", True),  # malformed QPV code
        ("part_aah", "79191", "commune", "secret", 3.0, "%", True),  # secret with a value
        ("part_aah", "200041317", "epci", "ok", None, "%", True),  # ok without a value
        ("nb_allocataires", "79191", "commune", "ok", -4.0, "nb", True),  # negative count
        ("part_aah", "QP079001", "qpv", "ok", 10.0, "%", True),  # duplicate of the first row
        ("part_aah", "79999", "commune", "ok", 120.0, "%", False),  # unknown commune, rate > 100
        ("part_aah", "79048", "commune", None, 2.0, "%", True),  # no status, but a value
        ("part_aah", "790480101", "iris", "confidentiel", None, "%", True),  # unknown status and level
        (None, "79191", "commune", "ok", 5.0, "nb", True),  # no indicator
    ]
    frame = pd.DataFrame(rows, columns=["indicator_id", "territory_code", "territory_level", "status", "value",
                                        "unit", "territory_known"])
    for column in ("indicator_id", "territory_code", "territory_level", "status", "unit"):
        frame[column] = frame[column].astype("str")
    return frame.assign(value=frame["value"].astype("Float64"), year=2017, marker=pd.Series([None] * len(frame), dtype="str"),
                        source="cnaf", source_label="CNAF", vintage=2017, source_file="data/raw/2017/cnaf.csv",
                        source_row=range(2, len(frame) + 2), comparison_complete=True,
                        plausible_min=pd.Series([0.0] * len(frame), dtype="Float64"))


SOURCE_PARAMETERS = {"indicator_ids": ["nb_allocataires", "part_aah"], "source_indicator_ids": ["nb_allocataires", "part_aah"],
                     "source_ids": ["cnaf"]}


def _answers(results) -> dict:
    return {str(r.expectation_config.id): (r.success, sorted(r.result.get("unexpected_index_list") or []),
                                           r.result.get("observed_value")) for r in results}


def test_engine_frame_gets_the_same_answers_as_the_frame():
    from qpv_observatory.validation import _run_suite, _suite_content, engine_frame, load_suite

    frame = _faulty_observations()
    suite = load_suite(SOURCE_SUITE)
    lean = engine_frame(frame, _suite_content(SOURCE_SUITE)["expectations"])
    assert list(lean.columns) == list(frame.columns) and len(lean) == len(frame)
    assert lean["status"].dtype == "category" and lean["value"].dtype == "float64"
    assert lean["source_file"].dtype == "bool" and not lean["source_file"].any()  # read by no rule
    expected = _answers(_run_suite(frame, suite, "COMPLETE", SOURCE_PARAMETERS))
    assert sum(not success for success, _, _ in expected.values()) >= 8
    assert _answers(_run_suite(lean, suite, "COMPLETE", SOURCE_PARAMETERS)) == expected


def test_validate_frame_lists_the_rows_of_each_broken_rule():
    from qpv_observatory.validation import validate_frame

    outcome = validate_frame(_faulty_observations(), SOURCE_SUITE, SOURCE_PARAMETERS)
    lines = {rule.split(" (")[0].split(" :")[0]: sorted(f.row for f in outcome.findings if f.rule == rule)
             for rule in outcome.failed_rules}
    assert lines == {
        "code QPV bien formé": [3],
        "QPV, commune ou EPCI connu du référentiel": [8],
        "indicateur renseigné": [11],
        "statut connu": [10],
        "une valeur de statut « ok » est un nombre": [5],
        "une valeur sous secret ou non disponible reste vide": [4, 9],
        "un taux": [8],
        "un effectif ou un montant n'est pas négatif": [6],
        "une seule valeur par indicateur, niveau et code de territoire, année et source": [2, 7],
        "niveau géographique lu dans une source": [10],
    }
    assert not outcome.passed and outcome.rows == 10 and outcome.evaluated == 18
    secret = next(f for f in outcome.findings if f.row == 4)
    assert secret.file == "data/raw/2017/cnaf.csv" and secret.column == "value" and secret.value.startswith("3.0 ;")


def test_validation_does_not_hash_the_frame(monkeypatch):
    # great-expectations would hash every frame only to label its batch: seconds at national scale.
    from qpv_observatory.validation import validate_frame

    def refuse(*args, **kwargs):
        raise AssertionError("frame hashed")

    monkeypatch.setattr(pd.util, "hash_pandas_object", refuse)
    outcome = validate_frame(_faulty_observations(), SOURCE_SUITE, SOURCE_PARAMETERS)
    assert outcome.evaluated == 18 and not outcome.passed


def test_each_domain_is_filtered_once_per_validation(monkeypatch):
    """great-expectations filters the frame for every metric of every rule; within a validation each distinct
    domain (row condition, pair or list of columns and the rows it ignores) is filtered once. Same findings as
    filtering every time, and the engine is as it was afterwards."""
    import contextlib

    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    from qpv_observatory import validation

    filters = []
    apply_condition = PandasExecutionEngine._apply_row_condition_filter

    def counted(engine, *args, **kwargs):
        filters.append(1)
        return apply_condition(engine, *args, **kwargs)

    monkeypatch.setattr(PandasExecutionEngine, "_apply_row_condition_filter", counted)
    engine_method = PandasExecutionEngine.get_domain_records

    def outcome() -> tuple:
        filters.clear()
        result = validation.validate_frame(_faulty_observations(), SOURCE_SUITE, SOURCE_PARAMETERS)
        return result.failed_rules, [f.message for f in result.findings], len(filters)

    rules, findings, once = outcome()
    assert PandasExecutionEngine.get_domain_records is engine_method
    conditions = {json.dumps(e["kwargs"]["row_condition"], sort_keys=True)
                  for e in json.loads(SOURCE_SUITE.read_text(encoding="utf-8"))["expectations"]
                  if e["kwargs"].get("row_condition")}
    assert len(rules) == 10 and 0 < once <= 2 * len(conditions)  # two passes: which rules fail, then their rows
    monkeypatch.setattr(validation, "domains_filtered_once", lambda: contextlib.nullcontext({}))
    every_time_rules, every_time_findings, every_time = outcome()
    assert (every_time_rules, every_time_findings) == (rules, findings) and every_time > 3 * once


def test_gaps_suite_answers_the_same_on_the_columns_it_names(demo_curated):
    """The gaps check reads only the columns its suite names (not the names, labels and reasons): same outcome
    as on the whole table, a broken row included."""
    from qpv_observatory.validation import columns_named, validate_frame
    from qpv_observatory.warehouse import MILLESIME_COLUMN, PARQUET_DIR

    suite = PROJECT_ROOT / "expectations" / "curated" / "gaps.json"
    whole = pd.read_parquet(demo_curated / PARQUET_DIR / "gaps").drop(columns=MILLESIME_COLUMN)
    whole.loc[3, "comparison_level"] = "region"  # not a comparison level
    named = list(columns_named(suite, whole.columns))
    assert {"qpv_name", "comparison_name", "source_label"}.isdisjoint(named) and "qpv_situation" in named
    codes = {"known_territory_codes": sorted(whole["qpv_code"].unique())}

    def answers(frame: pd.DataFrame) -> tuple:
        outcome = validate_frame(frame, suite, codes)
        return outcome.failed_rules, [f.message for f in outcome.findings], outcome.rows

    assert answers(whole[named]) == answers(whole) and answers(whole)[0]


def test_engine_frame_keeps_columns_a_rule_could_read_differently():
    from qpv_observatory.validation import engine_frame

    frame = _faulty_observations()
    values = np.zeros(len(frame))
    values[0] = np.nan  # a NaN that is not a missing value (pandas turns most NaN into NA)
    frame["plausible_min"] = pd.arrays.FloatingArray(values, np.zeros(len(frame), dtype=bool))
    rules = [{"type": "expect_column_values_to_be_null", "kwargs": {
                 "column": "value", "row_condition": {"type": "pass_through", "pass_through_filter": 'territory_code < "5"'}}},
             {"type": "expect_column_values_to_be_between", "kwargs": {"column": "plausible_min", "min_value": 0}},
             {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "unit", "value": 1}},
             {"type": "expect_column_values_to_not_be_null", "kwargs": {
                 "column": "year", "row_condition": {"type": "pass_through", "pass_through_filter": "value > 0"}}}]
    lean = engine_frame(frame, rules)
    assert lean["territory_code"].dtype == "str"  # ordered comparison in a row condition
    assert lean["plausible_min"].dtype == "Float64"  # NaN besides NA
    assert lean["unit"].dtype == "str"  # a rule not known to answer the same on a category
    assert lean["value"].dtype == "Float64"  # compared in a row condition: NA and NaN differ there
    assert lean["status"].dtype == "bool"  # read by no rule
    unknown = engine_frame(frame, [{"type": "expect_some_plugin_rule", "kwargs": {}}])
    assert all((unknown[c].dtype == frame[c].dtype) for c in frame.columns)  # may read any column


def test_row_condition_columns_and_how_they_are_compared():
    from qpv_observatory.validation import _condition_columns

    columns = ["territory_level", "territory_known", "status", "value", "method_break"]
    assert _condition_columns({"pass_through_filter": 'territory_level in ["qpv", "commune"] and territory_known == False'},
                              columns) == {"territory_level": True, "territory_known": True}
    assert _condition_columns('status != "ok" or method_break.notna()', columns) == {"status": True, "method_break": True}
    assert _condition_columns("value >= 0 and status == 'ok'", columns) == {"value": False, "status": True}
    assert _condition_columns("status == territory_level", columns) == {"status": False, "territory_level": False}
    assert _condition_columns("`status` == 'ok'", columns) == {c: False for c in columns}  # pandas-only syntax


def test_prepared_columns_on_a_small_frame():
    from qpv_observatory.readers.referential import Referential
    from qpv_observatory.validation import CHANGE_COLUMNS, PLAUSIBLE_RANGE_COLUMNS, prepare_observations

    referential = Referential(
        pd.DataFrame({"territory_code": ["QP079001", "79191", "200041317"], "territory_level": ["qpv", "commune", "epci"],
                      "name": ["Clou Bouchet", "Niort", "CA du Niortais"]}),
        pd.DataFrame({"qpv_code": ["QP079001"], "commune_code": ["79191"], "epci_code": ["200041317"], "geography": [2015]}))
    indicators = pd.DataFrame({"indicator_id": ["part_aah", "nb_allocataires"], "unit": ["%", "nb"]})
    rows = [("part_aah", "QP079001", "qpv", 2015, "ok", 40.0), ("part_aah", "QP079001", "qpv", 2017, "ok", 44.0),
            ("part_aah", "79191", "commune", 2017, "secret", None), ("part_aah", "200041317", "epci", 2017, "ok", 20.0),
            (None, "79191", "commune", 2017, "ok", 1.0), ("nb_allocataires", "79999", "commune", 2017, "ok", 5.0),
            ("nb_allocataires", "79999", "commune", 2016, "ok", 9.0)]
    observations = pd.DataFrame(rows, columns=["indicator_id", "territory_code", "territory_level", "year", "status", "value"])
    observations = observations.astype({"indicator_id": "str", "territory_code": "str", "territory_level": "str",
                                        "status": "str", "value": "Float64"}).assign(source="cnaf")
    earlier = observations.iloc[[0]].assign(year=2013, value=pd.array([30.0], dtype="Float64"))[CHANGE_COLUMNS]
    frame = prepare_observations(observations, referential, indicators, pd.DataFrame(columns=list(PLAUSIBLE_RANGE_COLUMNS)),
                                 earlier=earlier)
    assert frame["unit"].tolist()[:2] == ["%", "%"] and pd.isna(frame["unit"][4]) and frame["unit"][5] == "nb"
    assert frame["unit"].dtype == "str"
    assert frame["territory_known"].tolist() == [True, True, True, True, True, False, False]
    # QPV rows of 2017: the commune has a figure (secret counts), the EPCI too; not in 2015.
    assert frame["comparison_complete"].tolist() == [False, True, True, True, True, True, True]
    change = frame["change_per_year"]
    assert change.dtype == "Float64"
    assert change[0] == 5.0 and change[1] == 2.0 and change[5] == 4.0  # 2016 -> 2017 even if listed after
    assert pd.isna(change[2]) and pd.isna(change[3]) and pd.isna(change[4]) and pd.isna(change[6])


def test_report_records_replace_their_own_scope_and_the_page_can_wait(tmp_path):
    from qpv_observatory.validation import ValidationOutcome
    from qpv_observatory.validation_report import record_outcome, render_report

    report = tmp_path / REPORT_DIR
    outcome = ValidationOutcome(suite="gaps", rows=10, evaluated=7)
    record_outcome(report, "refresh-1", "gaps_suite", "gaps", outcome, 2016)
    record_outcome(report, "refresh-1", "gaps_suite", "gaps", outcome, 2017)
    record_outcome(report, "refresh-1", "gap_series_suite", "gap_series", outcome)
    (report / REPORT_PAGE).unlink()
    # A later refresh of 2017 only, its page rebuilt at its end: 2016 keeps the record it was published with.
    page = record_outcome(report, "refresh-2", "observations_suite", "observations", outcome, 2017, render=False)
    record_outcome(report, "refresh-2", "gap_series_suite", "gap_series", outcome, render=False)
    assert page == report / REPORT_PAGE and not page.exists()
    kept = {(r["name"], r["millesime"], r["run_id"]) for r in
            (json.loads(p.read_text(encoding="utf-8")) for p in (report / RECORDS_DIR).glob("*.json"))}
    assert kept == {("gaps_suite", 2016, "refresh-1"), ("observations_suite", 2017, "refresh-2"),
                    ("gap_series_suite", None, "refresh-2")}
    text = render_report(report).read_text(encoding="utf-8")
    assert text.count("<tr><td><a href=") == 3 and "refresh-2" in text


def test_great_expectations_is_imported_without_loading_scipy_stats_until_used():
    """scipy.stats, which great-expectations imports for distribution rules no suite uses, loads on first use."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from qpv_observatory.validation import import_great_expectations, load_suite\n"
        "gx = import_great_expectations()\n"
        "from pipelines.resources import PROJECT_ROOT\n"
        "suite = load_suite(PROJECT_ROOT / 'expectations' / 'curated' / 'observations.json')\n"
        "print(gx.__name__, len(suite.expectations) > 0, 'scipy.stats._stats_py' in sys.modules)\n"
        "from scipy import stats\n"
        "print(stats.norm.cdf(0.0), 'scipy.stats._stats_py' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["great_expectations True False", "0.5 True"]


def test_an_absurd_number_is_refused_by_the_source_suite():
    from qpv_observatory.validation import validate_frame

    # 1e308 is a finite number: read, then refused before any sum could turn two of them into inf.
    frame = _faulty_observations().iloc[[0, 4]].reset_index(drop=True)
    frame["value"] = pd.array([10.0, 1e308], dtype="Float64")
    outcome = validate_frame(frame, SOURCE_SUITE, SOURCE_PARAMETERS)
    refused = {f.rule.split(" (")[0]: f.row for f in outcome.blocking}
    assert refused == {"une valeur reste entre -1 et 1 milliard": 6}  # the line the row was read from
    frame["value"] = pd.array([10.0, 57393.0], dtype="Float64")
    assert validate_frame(frame, SOURCE_SUITE, SOURCE_PARAMETERS).passed


def test_a_report_write_that_fails_leaves_no_temporary_file(tmp_path, monkeypatch):
    from qpv_observatory import validation_report

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(validation_report.os, "replace", disk_full)
    with pytest.raises(OSError):
        validation_report._write_atomic(tmp_path / "validation" / "index.html", "<html></html>")
    assert list((tmp_path / "validation").iterdir()) == []
