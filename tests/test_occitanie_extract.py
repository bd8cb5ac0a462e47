"""The real SIG Ville extract for Occitanie (../shared), read end to end through the pipeline."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from qpv_observatory.warehouse import DATABASE_NAME
from tests.conftest import SHARED, run_pipeline

OCCITANIE = SHARED / "data" / "occitanie-qpv-2015"
MONTPELLIER = "34172"
MANIFEST = """
[[referential]]
path = "sig_ville/qp.geojson"
reader = "sig_ville_qpv_contours"
geography = 2015
"""
MANIFEST_2015 = """
[[file]]
path = "sig_ville/qp.csv"
reader = "sig_ville_wide_csv"
source = "sig_ville"
vintage = 2015
label = "ANCT, SIG Ville (extrait Occitanie)"
"""


@pytest.fixture(scope="module")
def occitanie(tmp_path_factory):
    if not (OCCITANIE / "qp.csv").exists():
        pytest.skip("extrait Occitanie absent de ../shared")
    raw = tmp_path_factory.mktemp("raw")
    (raw / "sig_ville").mkdir()
    (raw / "2015" / "sig_ville").mkdir(parents=True)
    # Copied into the raw folder, as a user drops a download there (a link leading out of it is refused).
    shutil.copy(OCCITANIE / "qp.geojson", raw / "sig_ville" / "qp.geojson")
    shutil.copy(OCCITANIE / "qp.csv", raw / "2015" / "sig_ville" / "qp.csv")
    (raw / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    (raw / "2015" / "sources.toml").write_text(MANIFEST_2015, encoding="utf-8")
    curated = tmp_path_factory.mktemp("curated")
    # Everything up to the warehouse: charts and report are not what this test is about.
    result = run_pipeline(curated, raw, without_pictures=True, raise_on_error=True)
    assert result.success
    with duckdb.connect(str(curated / DATABASE_NAME), read_only=True) as con:
        yield con


def one(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_every_qpv_and_every_mapped_column_is_read(occitanie):
    published_qpv = {line.split(",")[0] for line in
                     (OCCITANIE / "qp.csv").read_text(encoding="utf-8-sig").splitlines()[1:] if line}
    read_qpv = {code for (code,) in one(occitanie, "SELECT DISTINCT territory_code FROM observations")}
    assert read_qpv == published_qpv and len(read_qpv) == 105
    (levels,) = one(occitanie, "SELECT list(DISTINCT territory_level) FROM observations")[0]
    assert levels == ["qpv"]


def test_montpellier_twelve_qpv_attached_to_its_commune(occitanie):
    rows = one(occitanie, "SELECT qpv_code FROM qpv_links WHERE commune_code = ? ORDER BY qpv_code", MONTPELLIER)
    assert [code for (code,) in rows] == [f"QP0340{n:02d}" for n in range(4, 16)]
    (name,) = one(occitanie, "SELECT name FROM territories WHERE territory_code = ? AND territory_level = 'commune'",
                  MONTPELLIER)[0]
    assert name == "Montpellier"


def test_values_as_published(occitanie):
    def value(code, indicator):
        return one(occitanie, "SELECT value, status FROM observations WHERE territory_code = ? AND indicator_id = ?",
                   code, indicator)[0]

    assert value("QP034005", "taux_pauvrete") == (59.5, "ok")  # Mosson
    assert value("QP034005", "revenu_median_uc") == (11322.0, "ok")
    assert value("QP034005", "population") == (21652.0, "ok")
    assert value("QP009001", "indice_jeunesse") == (0.7, "ok")


def test_blanks_and_unavailable_zeros_stay_missing(occitanie):
    # Celleneuve: ind_jeune is blank in the file.
    assert one(occitanie, "SELECT value, status FROM observations WHERE territory_code = 'QP034004' "
                          "AND indicator_id = 'indice_jeunesse'") == [(None, "missing")]
    # Les Deux Pins: job-seeker counts published as 0 mean "not available", not zero job seekers.
    assert one(occitanie, "SELECT value, status, marker FROM observations WHERE territory_code = 'QP034016' "
                          "AND indicator_id = 'demandeurs_emploi_abcde'") == [(None, "not_available", "0")]
    # A zero that is a real value stays a zero: first decile of declared income for Mosson.
    assert one(occitanie, "SELECT value, status FROM observations WHERE territory_code = 'QP034005' "
                          "AND indicator_id = 'revenu_declare_d1_uc'") == [(0.0, "ok")]
    (blanks,) = one(occitanie, "SELECT count(*) FROM observations WHERE status = 'missing'")[0]
    with (OCCITANIE / "qp.csv").open(encoding="utf-8-sig", newline="") as published:
        published_blanks = sum(cell == "" for row in list(csv.reader(published))[1:] for cell in row[3:])
    assert blanks == published_blanks > 0
    assert one(occitanie, "SELECT count(*) FROM observations WHERE status <> 'ok' AND value IS NOT NULL") == [(0,)]
