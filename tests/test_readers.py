"""Readers on small files written in each layout, and their refusals."""

from pathlib import Path

import pandas as pd
import pytest

from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import combine_observations
from qpv_observatory.readers.delimited import read_delimited
from qpv_observatory.readers.referential import read_anct_qpv_list
from qpv_observatory.readers.wide import CAF_WIDE, INSEE_WIDE, read_wide_observations

VARIABLES = {"P15_TXCHOM1564": "taux_chomage_rp", "P15_PART0014": "part_0014"}
INSEE_TEXT = ("CODGEO;LIBGEO;NIVGEO;P15_TXCHOM1564;P15_PART0014;AUTRE\r\n"
              "QP079001;Clou Bouchet;QP;45,3;s;1\r\n"
              "QP079002;Tour Chabot Gavacherie;QP;nd;24,7;2\r\n"
              "79191;Niort;COM;16,6;15,1;3\r\n"
              "200041317;CA du Niortais;EPCI;12,5;;4\r\n")


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read_insee(path: Path):
    return read_wide_observations(path, "data/raw/f.csv", INSEE_WIDE, "insee_rp", 2015, "INSEE, RP 2015", VARIABLES)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_insee_wide_file_in_each_encoding(tmp_path, encoding):
    text = INSEE_TEXT.replace("Tour Chabot Gavacherie", "Pontreau Colline Saint-André")
    obs = read_insee(write(tmp_path, text, encoding)).set_index(["indicator_id", "territory_code"])
    assert len(obs) == 8  # two mapped variables x four territories; AUTRE is not in the catalogue
    assert obs.loc[("taux_chomage_rp", "QP079001"), "value"] == 45.3
    assert obs.loc[("taux_chomage_rp", "200041317"), "territory_level"] == "epci"
    secret = obs.loc[("part_0014", "QP079001")]
    assert secret["status"] == "secret" and secret["marker"] == "s" and pd.isna(secret["value"])
    assert obs.loc[("part_0014", "200041317"), "status"] == "missing"
    assert obs.loc[("taux_chomage_rp", "79191"), "source_row"] == 4
    assert (obs["year"] == 2015).all() and (obs["source_file"] == "data/raw/f.csv").all()


def test_caf_layout(tmp_path):
    text = ("Date_Ref;Type_Territoire;Code_Territoire;Libelle_Territoire;PART_FAM_MONO\n"
            "31/12/2016;QPV;QP079001;Clou Bouchet;25,2\n31/12/2016;Commune;79191;Niort;17,3\n")
    obs = read_wide_observations(write(tmp_path, text), "data/raw/caf.csv", CAF_WIDE, "cnaf", 2016, "Cnaf 2016",
                                 {"PART_FAM_MONO": "part_familles_monoparentales_caf"})
    assert list(obs["territory_level"]) == ["qpv", "commune"] and list(obs["value"]) == [25.2, 17.3]


@pytest.mark.parametrize("text, line, column, words", [
    (INSEE_TEXT.replace(";", ","), 1, None, "séparateur"),
    (INSEE_TEXT.replace("NIVGEO;", ""), 1, None, "NIVGEO"),
    (INSEE_TEXT.replace("16,6", "seize"), 4, "P15_TXCHOM1564", "seize"),
    (INSEE_TEXT.replace("79191;Niort;COM", "79191;Niort;COMMUNE"), 4, "NIVGEO", "COMMUNE"),
    (INSEE_TEXT.replace("QP079002", "QP79002"), 3, "CODGEO", "QP79002"),
    (INSEE_TEXT + "QP079003;Pontreau;QP;35", 6, None, "tronquée"),
    ("", None, None, "vide"),
    ("CODGEO;LIBGEO;NIVGEO;P15_TXCHOM1564\r\n", None, None, "aucune ligne"),
    (INSEE_TEXT.replace("P15_TXCHOM1564;P15_PART0014", "X;Y"), 1, None, "P15_TXCHOM1564"),
])
def test_bad_files_are_refused_with_file_line_and_column(tmp_path, text, line, column, words):
    with pytest.raises(SourceFileError) as caught:
        read_insee(write(tmp_path, text))
    error = caught.value
    assert error.file == "data/raw/f.csv" and error.line == line and error.column == column
    assert words in str(error) and "data/raw/f.csv" in str(error)


def test_undecodable_bytes_are_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"\xef\xbb\xbfCODGEO;LIBGEO\r\nQP079001;\xe9\r\n")  # BOM announces UTF-8, content is Latin-1
    with pytest.raises(SourceFileError, match="UTF-8"):
        read_delimited(path, "data/raw/f.csv", ("CODGEO",))


def test_duplicate_figure_names_both_places(tmp_path):
    first = read_insee(write(tmp_path, INSEE_TEXT)).assign(source_file="data/raw/b.csv")
    second = first.iloc[[5]].assign(source_file="data/raw/a.csv", source_row=9)
    with pytest.raises(SourceFileError) as caught:
        combine_observations([first, second])
    error = caught.value
    assert (error.file, error.line) == ("data/raw/a.csv", 9)
    row = first.iloc[5]
    assert f"déjà lue dans data/raw/b.csv, ligne {row.source_row}" in str(error)
    assert row.indicator_id in str(error) and row.territory_code in str(error)


def test_anct_list_strips_spaces_and_links_multi_commune_qpv(tmp_path):
    text = ("code_qp;lib_qp;insee_com;lib_com;siren_epci;lib_epci\n"
            " QP034004 ;Mosson;34172 ;Montpellier;243400017;Montpellier Méditerranée Métropole\n"
            "QP030002;Prés Saint-Jean;30007;Alès;200066918;Alès Agglomération\n"
            "QP030002;Prés Saint-Jean;30189;Saint-Christol-lez-Alès;200066918;Alès Agglomération\n")
    ref = read_anct_qpv_list(write(tmp_path, text), "data/raw/ref.csv", 2015)
    assert set(ref.qpv_links["qpv_code"]) == {"QP034004", "QP030002"}
    assert sorted(ref.qpv_links[ref.qpv_links["qpv_code"] == "QP030002"]["commune_code"]) == ["30007", "30189"]
    assert set(ref.territories["territory_level"]) == {"qpv", "commune", "epci"}
    with pytest.raises(SourceFileError, match="géographie 2024") as caught:
        read_anct_qpv_list(write(tmp_path, text), "data/raw/ref.csv", 2024)
    assert caught.value.line == 2 and caught.value.column == "code_qp"
