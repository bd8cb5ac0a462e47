"""The new readers chosen by name in sources.toml, through the whole pipeline up to the warehouse."""

from __future__ import annotations

import duckdb

from qpv_observatory.warehouse import DATABASE_NAME
from tests.conftest import run_pipeline
from tests.test_source_readers import DEFM, epci_workbook, title_block, write_text, write_xlsx

MANIFEST = """
[[referential]]
path = "referentiels/qpv2024.csv"
reader = "anct_qpv_list"
geography = 2024

[[referential]]
path = "referentiels/correspondance.csv"
reader = "anct_qpv_correspondence"
geography = 2024

[[referential]]
path = "referentiels/epci.xlsx"
reader = "insee_epci_composition"
geography = 0

"""
FILOSOFI_2021 = """
[[file]]
path = "filosofi2021_qpv.xlsx"
reader = "insee_wide_xlsx"
source = "insee_filosofi"
vintage = 2021
label = "INSEE, Filosofi 2021"
"""
FRANCE_TRAVAIL_2024 = """
[[file]]
path = "defm.csv"
reader = "france_travail_defm_csv"
source = "france_travail"
period = "2024-T4"
label = "France Travail - Dares, 4e trimestre 2024"
"""


def test_manifest_readers_feed_the_warehouse_and_the_gaps(tmp_path):
    raw = tmp_path / "raw"
    (raw / "referentiels").mkdir(parents=True)
    (raw / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    for year, manifest in (("2021", FILOSOFI_2021), ("2024", FRANCE_TRAVAIL_2024)):
        (raw / year).mkdir()
        (raw / year / "sources.toml").write_text(manifest, encoding="utf-8")
    write_text(raw / "referentiels", "qpv2024.csv", "code_qp;lib_qp;insee_com;lib_com;siren_epci;lib_epci\n"
               "QN03402M;Mosson;34172;Montpellier;243400017;Montpellier Méditerranée Métropole\n", "cp1252")
    write_text(raw / "referentiels", "correspondance.csv", "QP2024;Label_QP2024;Statut;QP2015_1;QP2015_2\n"
               "QN03402M;Mosson;Modifié;QP034005;QP034004\n")
    epci_workbook(raw / "referentiels")
    write_xlsx(raw / "2021", "filosofi2021_qpv.xlsx", {"Filosofi 2021": title_block(6) + [
        ["CODGEO", "LIBGEO", "NIVGEO", "DISP_MED_A21"],
        ["QN03402M", "Mosson", "QP", 11900],
        ["34172", "Montpellier", "COM", 19850],
        ["243400017", "Montpellier Méditerranée Métropole", "EPCI", 21040]]})
    write_text(raw / "2024", "defm.csv", DEFM)
    curated = tmp_path / "curated"
    # Everything up to the warehouse: charts and report are not what this test is about.
    result = run_pipeline(curated, raw, without_pictures=True, raise_on_error=True)
    assert result.success
    with duckdb.connect(str(curated / DATABASE_NAME), read_only=True) as con:
        assert con.sql("SELECT qpv_2015 FROM qpv_correspondence WHERE qpv_2024 = 'QN03402M' "
                       "ORDER BY qpv_2015").fetchall() == [("QP034004",), ("QP034005",)]
        assert con.sql("SELECT epci_code FROM commune_epci WHERE commune_code = '34172'").fetchall() == [("243400017",)]
        assert con.sql("SELECT comparison_level, gap FROM gaps WHERE qpv_code = 'QN03402M' "
                       "ORDER BY comparison_level").fetchall() == [("commune", 11900 - 19850), ("epci", 11900 - 21040)]
        assert con.sql("SELECT value, period FROM observations WHERE indicator_id = 'demandeurs_emploi_abc' "
                       "AND territory_code = '79191'").fetchall() == [(5185.0, "2024-T4")]
