"""Validation suites on the Niort demo and on small frames: blocking rules, warnings, report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from assets.ingestion import SOURCES
from pipelines.resources import PROJECT_ROOT
from qpv_observatory.validation_report import RECORDS_DIR, REPORT_DIR, REPORT_PAGE

CATALOGUE = PROJECT_ROOT / "data" / "catalogue"


def _records(demo_curated, name: str) -> list[dict]:
    """A check's records: one per millésime for the checks of a millésime's tables."""
    paths = sorted((demo_curated / REPORT_DIR / RECORDS_DIR).glob(f"{name}*.json"))
    records = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    return [r for r in records if r["name"] == name]


DEMO_MILLESIMES = {2013, 2015, 2016, 2017, 2018}


def test_niort_demo_passes_every_blocking_rule(demo_curated):
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (demo_curated / REPORT_DIR / RECORDS_DIR).glob("*.json")]
    # One per source, observations, gaps and gap_portrait in each millésime; then the referential's and gap_series.
    per_millesime = {f"{s}_suite" for s in SOURCES} | {"observations_suite", "gaps_suite", "gap_portrait_suite"}
    assert {(r["name"], r["millesime"]) for r in records} == (
        {(name, year) for name in per_millesime for year in DEMO_MILLESIMES}
        | {("territories_suite", None), ("qpv_links_suite", None), ("gap_series_suite", None)})
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


def test_secret_markers_are_counted_and_report_is_written(demo_curated):
    records = _records(demo_curated, "observations_suite")
    assert {r["millesime"] for r in records} == DEMO_MILLESIMES
    assert sum(r["status_counts"].get("not_available", 0) for r in records) == 1
    assert sum(sum(r["status_counts"].values()) for r in records) == 79
    page = (demo_curated / REPORT_DIR / REPORT_PAGE).read_text(encoding="utf-8")
    assert "Rapport de validation" in page and "part_aah" in page and "<th>millésime</th>" in page


def test_implausible_jump_between_vintages_is_a_warning(demo_curated, tmp_path):
    from qpv_observatory.catalogue import load_catalogue
    from qpv_observatory.validation import load_plausible_ranges, prepare_observations, validate_frame, known_territory_codes
    from qpv_observatory.readers.referential import Referential

    observations = pd.read_parquet(demo_curated / "parquet" / "observations.parquet")
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

    observations = pd.read_parquet(demo_curated / "parquet" / "observations.parquet")
    referential = Referential(pd.read_parquet(demo_curated / "parquet" / "territories.parquet"),
                              pd.read_parquet(demo_curated / "parquet" / "qpv_links.parquet"))
    later = observations[observations["indicator_id"] == "taux_chomage_rp"].assign(year=2017, vintage=2017)
    later.loc[later["territory_code"] == "QP079001", "value"] = 15.0  # 45.3 % two years before
    frame = prepare_observations(later, referential, load_catalogue(CATALOGUE).indicators,
                                 load_plausible_ranges(CATALOGUE), earlier=observations[CHANGE_COLUMNS])
    assert len(frame) == len(later)
    change = dict(zip(frame["territory_code"], frame["change_per_year"]))
    assert change["QP079001"] == pytest.approx((45.3 - 15.0) / 2) and change["79191"] == 0
