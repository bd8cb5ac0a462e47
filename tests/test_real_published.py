"""Files exactly as INSEE and ANCT publish them, read through the readers a manifest names.

The Démographie tables 2019 and 2020 are carried in data/raw/ (the demo reads them); the other real
files are read from ../shared/data/real-published/ when it is there (CI has it beside the clone).
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.errors import SourceFileError
from qpv_observatory.ingest import read_observation_file
from qpv_observatory.manifest import RawFile
from qpv_observatory.readers.insee_referentials import read_cog_communes, read_epci_composition
from qpv_observatory.readers.referential import read_anct_qpv_list
from qpv_observatory.readers.sig_ville import read_anct_qpv_contours
from tests.conftest import DEMO_RAW, SHARED

CATALOGUE = load_catalogue(PROJECT_ROOT / "data" / "catalogue")
REAL = SHARED / "data" / "real-published"
needs_shared = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real-published absent")


def read(folder, path: str, reader: str, vintage: int, source: str = "", level: str = "") -> pd.DataFrame:
    entry = RawFile(path=path, reader=reader, source=source, vintage=vintage, label="INSEE", level=level)
    return read_observation_file(folder, entry, CATALOGUE)


def figure(observations: pd.DataFrame, indicator: str, code: str) -> pd.Series:
    rows = observations[(observations["indicator_id"] == indicator) & (observations["territory_code"] == code)]
    assert len(rows) == 1, (indicator, code, len(rows))
    return rows.iloc[0]


def test_demographie_2019_as_distributed():
    observations = read(DEMO_RAW, "2019/insee_qpv/data_DEMO_2019_V1_QP.csv", "insee_qpv", 2019)
    qpv = observations.loc[observations["territory_level"] == "qpv", "territory_code"].unique()
    assert len(qpv) == 1345
    # The first row, Ensemble, is all the QPV of France.
    national = figure(observations, "population", "FRQP")
    assert (national["territory_level"], national["value"], national["source_row"]) == ("qpv_france", 5019573, 2)
    clou_bouchet = figure(observations, "population", "QP079001")
    assert (clou_bouchet["value"], clou_bouchet["source"]) == (2791, "insee_rp")
    assert figure(observations, "foyers_allocataires_caf", "QP079001")["source"] == "cnaf"  # one file, two sources
    # QP079003;1731;5842;57393;Niort;49,1;42,1;38;;;2;… : TX_TOT_60ETPLUS left empty by INSEE.
    unpublished = figure(observations, "part_60_plus", "QP079003")
    assert unpublished["status"] == "not_available" and pd.isna(unpublished["value"])
    assert figure(observations, "indice_jeunesse", "QP079003")["value"] == 2.0


def test_demographie_2020_as_distributed():
    observations = read(DEMO_RAW, "2020/insee_qpv/data_DEMO_2020_V1_QP.csv", "insee_qpv", 2020)
    assert observations["territory_code"].nunique() == 1400  # no Ensemble row this year
    assert set(observations["territory_level"]) == {"qpv"}
    assert figure(observations, "population", "QP079001")["value"] == 2791
    assert figure(observations, "population_communes_qpv", "QP079001")["value"] == 5842
    assert figure(observations, "population_communes_englobantes", "QP079001")["value"] == 57393
    # NOTE_CNAF, INSEE's quality flag of the Cnaf figures of the row, kept as published beside them.
    assert figure(observations, "foyers_allocataires_caf", "QP003002")["quality_note"] == "NOTE_CNAF=5"
    assert figure(observations, "foyers_allocataires_caf", "QP079001")["quality_note"] == "NOTE_CNAF=0"
    assert pd.isna(figure(observations, "population", "QP003002")["quality_note"])  # a census figure: no Cnaf note


def test_every_field_quoted_reads_the_same(tmp_path):
    lines = (DEMO_RAW / "2020/insee_qpv/data_DEMO_2020_V1_QP.csv").read_text(encoding="utf-8").splitlines()[:20]
    quoted = "\n".join(";".join(f'"{cell}"' for cell in line.split(";")) for line in lines) + "\n"
    (tmp_path / "2020").mkdir()
    (tmp_path / "2020" / "demo.csv").write_text(quoted, encoding="utf-8")
    plain = read(DEMO_RAW, "2020/insee_qpv/data_DEMO_2020_V1_QP.csv", "insee_qpv", 2020)
    again = read(tmp_path, "2020/demo.csv", "insee_qpv", 2020)
    columns = ["indicator_id", "territory_code", "value", "status", "source"]
    merged = again[columns].merge(plain[columns], on=["indicator_id", "territory_code", "source"])
    assert len(merged) == len(again) == 19 * 13  # 19 QPV, 11 census and 2 Cnaf variables
    assert merged["status_x"].equals(merged["status_y"])
    assert merged["value_x"].fillna(-1).equals(merged["value_y"].fillna(-1))


def test_insee_xlsx_with_a_documentation_sheet_and_a_title_block(tmp_path):
    lines = (DEMO_RAW / "2019/insee_qpv/data_DEMO_2019_V1_QP.csv").read_text(encoding="utf-8").splitlines()[:6]
    workbook = openpyxl.Workbook()
    workbook.active.title = "Documentation"
    workbook.active.append(["Données des quartiers de la politique de la ville"])
    sheet = workbook.create_sheet("DEMO_2019")
    for row in (["Démographie - 2019"], ["Source : Insee, RP ; Cnaf"], []):
        sheet.append(row)
    header = lines[0].split(";")
    for line in lines:
        cells = line.split(";")
        sheet.append([float(c.replace(",", ".")) if c and c[0].isdigit() and name != "CODGEO" else c or None
                      for name, c in zip(header, cells)])
    (tmp_path / "2019").mkdir()
    workbook.save(tmp_path / "2019" / "DEMO_2019.xlsx")
    observations = read(tmp_path, "2019/DEMO_2019.xlsx", "insee_qpv", 2019)
    assert figure(observations, "population", "FRQP")["value"] == 5019573
    assert figure(observations, "part_femmes", "QP001001")["value"] == 54.5
    assert figure(observations, "part_menages_6_personnes_plus", "QP001001")["status"] == "not_available"


def test_a_header_that_fits_no_table_or_two_is_refused(tmp_path):
    (tmp_path / "2019").mkdir()
    (tmp_path / "2019" / "a.csv").write_text("CODGEO;A\nQP079001;12\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="en-tête commun aux tables .* préciser table ="):
        read(tmp_path, "2019/a.csv", "insee_qpv", 2019)
    entry = RawFile(path="2019/a.csv", reader="insee_qpv", vintage=2019, label="x", table="insee_qpv_insertion_pro")
    assert read_observation_file(tmp_path, entry, CATALOGUE)["source"].tolist() == ["france_travail"]
    (tmp_path / "2019" / "b.csv").write_text("CODGEO;ZZZ\nQP079001;12\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="ligne 1 : aucune colonne ne correspond à une table QPV"):
        read(tmp_path, "2019/b.csv", "insee_qpv", 2019)


@needs_shared
@pytest.mark.parametrize("name, sources", [("REVN_2017.csv", {"insee_filosofi", "cnaf"}),
                                           ("IPRO_2017.csv", {"insee_rp", "france_travail"}),
                                           ("data_DEMO_2017_V1_QP.csv", {"insee_rp", "cnaf"})])
def test_excel_exports_of_insee_tables(name, sources):
    observations = read(REAL, f"insee_qpv_excel_exports/{name}", "insee_qpv", 2017)
    assert set(observations["source"]) == sources
    assert observations["territory_code"].nunique() == 1346  # 1,345 QPV and Ensemble
    if name == "REVN_2017.csv":  # « 1 428 500 » with narrow no-break spaces
        assert figure(observations, "foyers_allocataires_caf", "FRQP")["value"] == 1428500
        assert figure(observations, "revenu_declare_median_uc", "QP001001")["value"] == 10692
    if name == "IPRO_2017.csv":  # A here is France Travail's category A, not the Cnaf's allocataires
        assert figure(observations, "demandeurs_emploi_a", "FRQP")["value"] == 552700


@needs_shared
def test_filosofi_communal_2021_with_its_markers_and_arrondissements():
    observations = read(REAL, "insee_commune/cc_filosofi_2021_COM.csv", "insee_commune_csv", 2021,
                        source="insee_filosofi", level="commune")
    assert observations["territory_code"].nunique() == 34909
    assert figure(observations, "revenu_median_uc", "79191")["value"] == 23120
    assert figure(observations, "taux_pauvrete", "79191")["value"] == 16.0
    assert figure(observations, "taux_pauvrete", "01001")["status"] == "secret"
    arrondissements = observations.loc[observations["territory_code"].str.match(r"^(751\d\d|6938\d|132\d\d)$"),
                                       "territory_code"].unique()
    assert len(arrondissements) == 45


@needs_shared
@pytest.mark.parametrize("level_file, level, code, median", [
    ("COM", "commune", "79191", 22080), ("EPCI", "epci", "200041317", 23040), ("DEP", "departement", "01", 23490),
    ("REG", "region", "02", 18570), ("METROPOLE", "france_metro", "1", 21930)])
def test_filosofi_2019_one_file_per_level(level_file, level, code, median):
    observations = read(REAL, f"insee_commune/FILO2019_DISP_{level_file}.csv", "insee_commune_csv", 2019,
                        source="insee_filosofi", level=level)
    row = figure(observations, "revenu_median_uc", code)
    assert (row["territory_level"], row["value"]) == (level, median)


@needs_shared
def test_a_file_of_one_level_says_its_level(tmp_path):
    # IRIS codes have nine digits, like a SIREN: the level is never guessed from a code's shape.
    with pytest.raises(SourceFileError, match="préciser level ="):
        read(REAL, "insee_commune/data_CAF_2016_IRIS_head300.csv", "insee_commune_csv", 2016, source="cnaf")
    (tmp_path / "iris.csv").write_text("CODGEO;PART_FAM_MONO\n010040101;12,5\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="ligne 2, colonne CODGEO : code '010040101' invalide pour le niveau commune"):
        read(tmp_path, "iris.csv", "insee_commune_csv", 2016, source="cnaf", level="commune")
    with pytest.raises(SourceFileError, match="level = 'iris' inconnu"):
        read(tmp_path, "iris.csv", "insee_commune_csv", 2016, source="cnaf", level="iris")


@needs_shared
def test_populations_legales_as_published():
    observations = read(REAL, "insee_commune/donnees_communes_populations_legales.csv", "insee_populations_legales_csv",
                        2021, source="insee_populations_legales", level="commune")
    assert figure(observations, "population", "79191")["value"] == 59854
    assert observations["territory_code"].nunique() == 34900


@needs_shared
def test_cog_keeps_the_municipal_arrondissements():
    territories = read_cog_communes(REAL / "referentiels/v_commune_2025.csv", "cog").territories
    names = dict(zip(territories["territory_code"], territories["name"]))
    assert names["13201"] == "Marseille 1er Arrondissement" and names["79191"] == "Niort"
    arrondissements = ([f"751{n:02d}" for n in range(1, 21)] + [f"6938{n}" for n in range(1, 10)]
                       + [f"132{n:02d}" for n in range(1, 17)])
    assert all(code in names for code in arrondissements) and len(arrondissements) == 45


@needs_shared
def test_epci_composition_as_resaved_and_with_the_title_block(tmp_path):
    referential = read_epci_composition(REAL / "referentiels/EPCI_au_01-01-2024.xlsx", "epci")
    composition = dict(zip(referential.commune_epci["commune_code"], referential.commune_epci["epci_code"]))
    assert composition["79191"] == "200041317"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Composition_communale"
    for row in (["Composition communale des EPCI au 1er janvier 2024"], ["Source : Insee"], [],
                ["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"],
                ["79191", "Niort", "200041317", "CA du Niortais", "79", "75"]):
        sheet.append(row)
    workbook.save(tmp_path / "epci.xlsx")
    titled = read_epci_composition(tmp_path / "epci.xlsx", "epci.xlsx")
    assert titled.commune_epci.values.tolist() == [["79191", "200041317"]]


FIXTURES = REAL / "not_real_anct_fixtures"


@needs_shared
def test_anct_2024_list_with_lost_zeros_several_communes_and_empty_columns():
    referential = read_anct_qpv_list(FIXTURES / "listeqp2024_sample_bpineau-gazetteer.csv", "liste", 2024)
    links = referential.qpv_links
    assert links.loc[links["qpv_code"] == "QN00102M", "commune_code"].tolist() == ["01053"]  # was 1053
    assert sorted(links.loc[links["qpv_code"] == "QN00201M", "commune_code"]) == ["02571", "02691"]
    names = dict(zip(referential.territories["territory_code"], referential.territories["name"]))
    assert (names["02571"], names["02691"]) == ("Omissy", "Saint-Quentin")
    assert len(links) == 5  # the blank last row is no QPV


@needs_shared
def test_anct_list_with_excel_text_formulas():
    links = read_anct_qpv_list(FIXTURES / "liste_qpv_fixture_grist-widget-test.csv", "liste", 2024).qpv_links
    assert sorted(links[["qpv_code", "commune_code"]].values.tolist()) == [
        ["QN01341I", "13055"], ["QN01341I", "13070"], ["QN06099M", "60057"]]


@needs_shared
def test_anct_contours_properties(tmp_path):
    with pytest.raises(SourceFileError, match="entité n°4 : code_qp vide"):
        read_anct_qpv_contours(FIXTURES / "qpv_sample_bpineau-gazetteer.geojson", "contours", 2024)
    content = json.loads((FIXTURES / "qpv_sample_bpineau-gazetteer.geojson").read_text(encoding="utf-8"))
    content["features"] = [f for f in content["features"] if f["properties"]["code_qp"]]
    (tmp_path / "contours.geojson").write_text(json.dumps(content), encoding="utf-8")
    links = read_anct_qpv_contours(tmp_path / "contours.geojson", "contours", 2024).qpv_links
    assert sorted(links[["qpv_code", "commune_code"]].values.tolist()) == [
        ["QN00201M", "02691"], ["QN07511M", "75056"], ["QN09301M", "93066"]]
