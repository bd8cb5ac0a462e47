"""Validation suites on the Niort demo and on small frames: blocking rules, warnings, report."""

from __future__ import annotations

import json

import pandas as pd

from assets.ingestion import SOURCES
from pipelines.resources import PROJECT_ROOT
from qpv_observatory.validation_report import RECORDS_DIR, REPORT_DIR, REPORT_PAGE

CATALOGUE = PROJECT_ROOT / "data" / "catalogue"


def _record(demo_curated, name: str) -> dict:
    return json.loads((demo_curated / REPORT_DIR / RECORDS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def test_niort_demo_passes_every_blocking_rule(demo_curated):
    records = list((demo_curated / REPORT_DIR / RECORDS_DIR).glob("*.json"))
    # one per source, then territories, qpv_links, observations, gaps, gap_portrait
    assert {p.stem for p in records} == {f"{s}_suite" for s in SOURCES} | {
        "territories_suite", "qpv_links_suite", "observations_suite", "gaps_suite", "gap_portrait_suite"}
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["status"] != "failed", record["findings"][:3]


def test_tableau_6_raises_the_plausibility_warning(demo_curated):
    findings = _record(demo_curated, "observations_suite")["findings"]
    implausible = {(f["file"].split("/")[-1], f["row"]) for f in findings if "plage plausible" in f["rule"]}
    # AAH at 55, 49, 52 % in the three QPV; CMU-C at 23 % for Niort and 22 % for the agglomeration.
    assert implausible == {("cnaf2017_allocataires_qpv_niort.csv", 2), ("cnaf2017_allocataires_qpv_niort.csv", 3),
                           ("cnaf2017_allocataires_qpv_niort.csv", 4), ("cnam2018_qpv_niort.csv", 5),
                           ("cnam2018_qpv_niort.csv", 6)}
    assert all(f["severity"] == "warning" for f in findings)


def test_secret_markers_are_counted_and_report_is_written(demo_curated):
    counts = _record(demo_curated, "observations_suite")["status_counts"]
    assert counts["not_available"] == 1 and sum(counts.values()) == 79
    page = (demo_curated / REPORT_DIR / REPORT_PAGE).read_text(encoding="utf-8")
    assert "Rapport de validation" in page and "part_aah" in page


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
