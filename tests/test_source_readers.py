"""Readers of the real source layouts, on small files written here in each layout."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.errors import SourceFileError
from qpv_observatory.ingest import read_observation_file, read_referentials
from qpv_observatory.manifest import Manifest, RawFile
from qpv_observatory.readers.france_travail import read_defm_communes
from qpv_observatory.readers.insee_referentials import read_cog_communes, read_epci_composition, read_qpv_correspondence
from qpv_observatory.readers.insee_xlsx import read_insee_wide_xlsx
from qpv_observatory.readers.referential import combine_referentials, read_anct_qpv_list
from qpv_observatory.readers.sig_ville import read_sig_ville_contours, read_sig_ville_wide
from qpv_observatory.readers.wide import INSEE_COMMUNAL, read_wide_observations
from pipelines.resources import PROJECT_ROOT

CATALOGUE = load_catalogue(PROJECT_ROOT / "data" / "catalogue")
FILOSOFI_2021 = CATALOGUE.variables_for("insee_filosofi", 2021)


def write_text(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, name: str, sheets: dict[str, list[list]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet_name, rows in sheets.items():
        sheet = workbook.create_sheet(sheet_name)
        for row in rows:
            sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def title_block(height: int) -> list[list]:
    lines = [["Revenus, pauvreté et niveau de vie en 2021 - Quartiers de la politique de la ville"],
             ["Source : Insee, Fichier localisé social et fiscal (Filosofi) 2021"], [], ["Champ : ménages fiscaux"]]
    return [lines[i % len(lines)] for i in range(height)]


INSEE_TABLE = [
    ["CODGEO", "LIBGEO", "NIVGEO", "DISP_MED_A21", "DISP_TP60_A21_NON_CATALOGUE"],
    ["QN07902I", "Clou Bouchet", "QP", 12340, 44.1],
    ["QN07903M", "Pontreau", "QP", "s", "s"],
    ["79191", "Niort", "COM", "21 870", 14.2],
    ["200041317", "CA du Niortais", "EPCI", 22950.5, None],
    ["FRQP", "Ensemble des QPV", "FRQP", "14 400", 43.3],
]


@pytest.mark.parametrize("height, sheet_name", [(0, "QPV"), (4, "Données"), (7, "DISP_2021")])
def test_insee_xlsx_finds_its_header_below_any_title_block(tmp_path, height, sheet_name):
    path = write_xlsx(tmp_path, "f.xlsx", {"Documentation": title_block(3),
                                           sheet_name: title_block(height) + INSEE_TABLE})
    obs = read_insee_wide_xlsx(path, "data/raw/f.xlsx", "insee_filosofi", 2021, "INSEE, Filosofi 2021",
                               FILOSOFI_2021).set_index("territory_code")
    assert list(obs.index) == ["QN07902I", "QN07903M", "79191", "200041317", "FRQP"]
    assert obs.loc["QN07902I", "value"] == 12340 and obs.loc["79191", "value"] == 21870
    assert obs.loc["200041317", "value"] == 22950.5
    assert (obs.loc["QN07903M", "status"], obs.loc["QN07903M", "marker"]) == ("secret", "s")
    assert pd.isna(obs.loc["QN07903M", "value"])
    assert list(obs["territory_level"]) == ["qpv", "qpv", "commune", "epci", "qpv_france"]
    assert set(obs["indicator_id"]) == {"revenu_median_uc"}  # the uncatalogued column is not read
    assert obs.loc["79191", "source_row"] == height + 4  # the spreadsheet line, after the title block
    assert (obs["source_file"] == f"data/raw/f.xlsx, feuille {sheet_name}").all()


def test_insee_xlsx_without_level_column_takes_the_level_from_the_code(tmp_path):
    rows = [[r[0], r[1], r[3]] for r in INSEE_TABLE[:5]]
    rows[0] = ["CODGEO", "LIBGEO", "DISP_MED_A21"]
    path = write_xlsx(tmp_path, "f.xlsx", {"Feuil1": title_block(2) + rows})
    obs = read_insee_wide_xlsx(path, "data/raw/f.xlsx", "insee_filosofi", 2021, "l", FILOSOFI_2021)
    assert list(obs["territory_level"]) == ["qpv", "qpv", "commune", "epci"]


def test_xlsx_without_the_expected_header_is_refused(tmp_path):
    path = write_xlsx(tmp_path, "f.xlsx", {"A": title_block(4) + [["code", "valeur"], ["QP079001", 3]]})
    with pytest.raises(SourceFileError) as caught:
        read_insee_wide_xlsx(path, "data/raw/f.xlsx", "insee_filosofi", 2021, "l", FILOSOFI_2021)
    assert caught.value.file == "data/raw/f.xlsx" and "CODGEO" in str(caught.value) and "A" in str(caught.value)
    not_a_workbook = write_text(tmp_path, "g.xlsx", "CODGEO;LIBGEO\n")
    with pytest.raises(SourceFileError, match="data/raw/g.xlsx.*XLSX"):
        read_insee_wide_xlsx(not_a_workbook, "data/raw/g.xlsx", "insee_filosofi", 2021, "l", FILOSOFI_2021)


FILOSOFI_COMMUNAL = "\ufeffCODGEO;LIBGEO;MED21;TP6021;PMIMP21\r\n79191;Niort;22 540;12,6;58\r\n2A004;Ajaccio;21 780;s\r\n"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
@pytest.mark.parametrize("bom", [True, False])
def test_filosofi_communal_file(tmp_path, encoding, bom):
    text = FILOSOFI_COMMUNAL.replace(";s\r\n", ";s;nd\r\n").replace("Niort", "Niort-Sèvre")
    text = text if bom and encoding == "utf-8" else text.lstrip("\ufeff")
    path = write_text(tmp_path, "f.csv", text, encoding)
    obs = read_wide_observations(path, "data/raw/f.csv", INSEE_COMMUNAL, "insee_filosofi", 2021, "INSEE, Filosofi 2021",
                                 FILOSOFI_2021).set_index(["indicator_id", "territory_code"])
    assert obs.loc[("revenu_median_uc", "79191"), "value"] == 22540
    assert obs.loc[("taux_pauvrete", "79191"), "value"] == 12.6
    assert obs.loc[("taux_pauvrete", "2A004"), "status"] == "secret"
    assert set(obs["territory_level"]) == {"commune"} and len(obs) == 4


def test_cog_keeps_communes_and_municipal_arrondissements(tmp_path):
    text = ("TYPECOM,COM,REG,DEP,CTCD,ARR,TNCC,NCC,NCCENR,LIBELLE,CAN,COMPARENT\n"
            "COM,79191,75,79,79D,792,0,NIORT,Niort,Niort,7999,\n"
            "COMD,79083,75,79,79D,792,0,CHAURAY,Chauray,Chauray,,79191\n"
            "COM,2A004,94,2A,20D,2A1,0,AJACCIO,Ajaccio,Ajaccio,2A98,\n"
            "ARM,13201,93,13,13D,,0,MARSEILLE 1ER,Marseille 1er,Marseille 1er Arrondissement,,13055\n")
    ref = read_cog_communes(write_text(tmp_path, "cog.csv", text), "data/raw/cog.csv")
    assert dict(zip(ref.territories["territory_code"], ref.territories["name"])) == {
        "79191": "Niort", "2A004": "Ajaccio", "13201": "Marseille 1er Arrondissement"}  # not the delegated commune
    with pytest.raises(SourceFileError, match="TYPECOM"):
        read_cog_communes(write_text(tmp_path, "cog.csv", text.replace("TYPECOM", "TYPE")), "data/raw/cog.csv")


def epci_workbook(tmp_path: Path) -> Path:
    table = [["EPCI", "LIBEPCI", "CODGEO", "LIBGEO", "DEP", "REG"],
             ["243400017", "Montpellier Méditerranée Métropole", "34172", "Montpellier", "34", "76"],
             ["200066918", "Alès Agglomération", "30007", "Alès", "30", "76"],
             ["200066918", "Alès Agglomération", "30189", "Saint-Christol-lez-Alès", "30", "76"],
             ["200041317", "CA du Niortais", "79191", "Niort", "79", "75"],
             ["200041317", "CA du Niortais", "79003", "Aiffres", "79", "75"],
             ["ZZZZZZZZZ", "Sans objet", "29155", "Ouessant", "29", "53"]]
    return write_xlsx(tmp_path, "epci.xlsx", {"EPCI": title_block(5) + [["EPCI", "LIBEPCI", "NATURE_EPCI"]],
                                              "Composition_communale": title_block(5) + table})


def test_epci_composition_fills_the_epci_of_qpv_links(tmp_path):
    contours = ('{"type": "FeatureCollection", "features": ['
                '{"type": "Feature", "properties": {"code_qp": "QP034005", "nom_qp": "Mosson", "commune_qp": "Montpellier",'
                ' "code_commune": "34172", "nom_commune": "Montpellier"}, "geometry": null},'
                '{"type": "Feature", "properties": {"code_qp": "QP029001", "nom_qp": "Île", "commune_qp": "Ouessant",'
                ' "code_commune": "29155", "nom_commune": "Ouessant"}, "geometry": null}]}')
    composition = read_epci_composition(epci_workbook(tmp_path), "data/raw/epci.xlsx")
    assert "29155" not in set(composition.commune_epci["commune_code"])  # ZZZZZZZZZ: no EPCI
    assert "ZZZZZZZZZ" not in set(composition.territories["territory_code"])
    qpv = read_sig_ville_contours(write_text(tmp_path, "qp.geojson", contours), "data/raw/qp.geojson", 2015)
    links = combine_referentials([qpv, composition]).qpv_links.set_index("qpv_code")
    assert links.loc["QP034005", "epci_code"] == "243400017"
    assert pd.isna(links.loc["QP029001", "epci_code"])


def test_anct_2024_list_multi_commune_qpv(tmp_path):
    text = ("code_qp;lib_qp;insee_com;lib_com;siren_epci;lib_epci\n"
            "QN03002M ; Prés Saint-Jean ; 30007;Alès;200066918 ;Alès Agglomération\n"
            "QN03002M;Prés Saint-Jean;30189;Saint-Christol-lez-Alès;200066918;Alès Agglomération\n")
    ref = read_anct_qpv_list(write_text(tmp_path, "qpv2024.csv", text, "cp1252"), "data/raw/qpv2024.csv", 2024)
    assert sorted(ref.qpv_links["commune_code"]) == ["30007", "30189"]
    assert set(ref.qpv_links["qpv_code"]) == {"QN03002M"} and set(ref.qpv_links["epci_code"]) == {"200066918"}
    assert "Prés Saint-Jean" in set(ref.territories["name"])


def test_correspondence_2015_to_2024(tmp_path):
    text = ("\ufeffQP2024;Label_QP2024;Statut;QP2015_1;QP2015_2;QP2015_3\n"
            "QN07902I;Clou Bouchet;Inchangé;QP079001;;\n"
            "QN03402M;Mosson - Celleneuve;Modifié;QP034005; QP034004 ;\n"
            "QN03499N;Nouveau quartier;Nouveau;;;\n")
    ref = read_qpv_correspondence(write_text(tmp_path, "c.csv", text), "data/raw/c.csv")
    pairs = ref.qpv_correspondence
    assert sorted(pairs[pairs["qpv_2024"] == "QN03402M"]["qpv_2015"]) == ["QP034004", "QP034005"]
    assert pairs[pairs["qpv_2024"] == "QN03499N"]["qpv_2015"].isna().all()
    with pytest.raises(SourceFileError) as caught:
        read_qpv_correspondence(write_text(tmp_path, "c.csv", text.replace("QP034004", "QN03404M")), "data/raw/c.csv")
    assert (caught.value.line, caught.value.column) == (3, "QP2015_2")


DEFM = ("Date;Code_commune;Libelle_commune;Categorie;Nombre\n"
        "2024-T3;79191;Niort;ABC;5 230\n"
        "2024-T4;79191;Niort;ABC;5 185\n"
        "2024-T4;79191;Niort;A;2 905\n"
        "2024-T4;79003;Aiffres;ABC;s\n"
        "2024-T4;79003;Aiffres;D;15\n"
        "2024-T4;Total;Total;ABC;5 185\n")


def test_france_travail_quarter_and_total_rows(tmp_path):
    variables = CATALOGUE.variables_for("france_travail", 2024)
    obs = read_defm_communes(write_text(tmp_path, "defm.csv", DEFM), "data/raw/defm.csv", "france_travail", 2024,
                             "France Travail - Dares, 2024-T4", variables, period="2024-T4")
    obs = obs.set_index(["indicator_id", "territory_code"])
    assert len(obs) == 3  # Total row skipped, category D not catalogued, 2024-T3 not selected
    assert obs.loc[("demandeurs_emploi_abc", "79191"), "value"] == 5185
    assert obs.loc[("demandeurs_emploi_abc", "79191"), "period"] == "2024-T4"
    assert obs.loc[("demandeurs_emploi_abc", "79003"), "status"] == "secret"
    assert (obs["year"] == 2024).all() and set(obs["territory_level"]) == {"commune"}
    with pytest.raises(SourceFileError, match="2024-T3, 2024-T4.*period"):
        read_defm_communes(write_text(tmp_path, "defm.csv", DEFM), "data/raw/defm.csv", "france_travail", 2024,
                           "l", variables)
    with pytest.raises(SourceFileError) as caught:
        read_defm_communes(write_text(tmp_path, "defm.csv", DEFM.replace("2024-T3", "T3 2024")), "data/raw/defm.csv",
                           "france_travail", 2024, "l", variables, period="2024-T4")
    assert (caught.value.line, caught.value.column) == (2, "Date")


def test_france_travail_names_the_first_bad_date_and_normalises_codes(tmp_path):
    variables = CATALOGUE.variables_for("france_travail", 2024)
    lines = DEFM.splitlines(keepends=True)
    # Dates are checked once per distinct text: the first bad row is still the one named.
    text = "".join([*lines[:3], lines[3].replace("2024-T4", "2024T4"), lines[4].replace("2024-T4", "T4"),
                    lines[5].replace("2024-T4", "2024T4")])
    with pytest.raises(SourceFileError, match="trimestre '2024T4'") as caught:
        read_defm_communes(write_text(tmp_path, "defm.csv", text), "data/raw/defm.csv", "france_travail", 2024,
                           "l", variables, period="2024-T4")
    assert (caught.value.line, caught.value.column) == (4, "Date")
    text = DEFM.replace("2024-T4;79003;", "2024-T4; 79003 ;")
    obs = read_defm_communes(write_text(tmp_path, "defm.csv", text), "data/raw/defm.csv", "france_travail", 2024,
                             "l", variables, period="2024-T4")
    assert list(obs["territory_code"]) == ["79191", "79191", "79003"] and list(obs["source_row"]) == [3, 4, 5]


def test_sig_ville_zero_means_not_available_only_where_the_catalogue_says_so(tmp_path):
    text = ("\ufeffcode_qp,nom_qp,nom_commune,tp60,percou,decuc_d1,ec_mat,abcde\n"
            "QP034005,Mosson,Montpellier,59.5,0,0,0,3920\n"
            "QP065003,Tarbes Est,\"Séméac, Tarbes\",,1200,10,2,0\n")
    obs = read_sig_ville_wide(write_text(tmp_path, "qp.csv", text), "data/raw/qp.csv", "sig_ville", 2015, "SIG Ville",
                              CATALOGUE.variables_for("sig_ville", 2015),
                              CATALOGUE.zero_not_available_for("sig_ville", 2015))
    status = obs.set_index(["territory_code", "indicator_id"])["status"]
    assert status[("QP034005", "personnes_couvertes_caf")] == "not_available"
    assert status[("QP065003", "demandeurs_emploi_abcde")] == "not_available"
    assert status[("QP034005", "revenu_declare_d1_uc")] == "ok"  # a real zero
    assert status[("QP034005", "ecoles_maternelles_100m")] == "ok"
    assert status[("QP065003", "taux_pauvrete")] == "missing"
    # The zero is kept as published, as the marker; the value stays empty.
    indexed = obs.set_index(["territory_code", "indicator_id"])
    assert indexed.loc[("QP065003", "demandeurs_emploi_abcde"), "marker"] == "0"
    assert pd.isna(indexed.loc[("QP065003", "demandeurs_emploi_abcde"), "value"])
    assert pd.isna(indexed.loc[("QP034005", "revenu_declare_d1_uc"), "marker"])
    assert indexed.loc[("QP034005", "revenu_declare_d1_uc"), "value"] == 0


def test_unknown_reader_and_unknown_layout_are_refused(tmp_path):
    path = write_text(tmp_path, "qp.csv", "code_qp,nom_qp,nom_commune,tp60\nQP034005,Mosson,Montpellier,59.5\n")
    entry = RawFile(path="qp.csv", reader="insee_wide_csv", source="sig_ville", vintage=2015, label="l")
    with pytest.raises(SourceFileError) as caught:
        read_observation_file(tmp_path, entry, CATALOGUE)
    assert caught.value.file == "data/raw/qp.csv" and "séparateur « ; » attendu" in str(caught.value)
    with pytest.raises(SourceFileError, match="data/raw/qp.csv.*'sigville'.*sig_ville_wide_csv"):
        read_observation_file(tmp_path, RawFile("qp.csv", "sigville", "sig_ville", 2015, "l"), CATALOGUE)
    geojson = write_text(tmp_path, "qp.geojson", '{"type": "FeatureCollection", "features": '
                                                 '[{"properties": {"code_qp": "QP034005"}}]}')
    manifest = Manifest(referentials=(RawFile("qp.geojson", "sig_ville_qpv_contours", geography=2015),), files=())
    with pytest.raises(SourceFileError, match="data/raw/qp.geojson.*code_commune"):
        read_referentials(tmp_path, manifest)
