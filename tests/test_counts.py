"""Numerators and denominators read beside a rate, through the catalogue's role column."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.errors import SourceFileError
from qpv_observatory.ingest import read_observation_file
from qpv_observatory.manifest import RawFile

FILE_TEXT = ("CODGEO;LIBGEO;NIVGEO;DISP_TP6019;NB_PAUVRES;NB_PERS\r\n"
             "QP079001;Clou Bouchet;QP;54,7;1 420;2 596\r\n"
             "QP079002;Tour Chabot Gavacherie;QP;s;s;1 200\r\n"
             "79191;Niort;COM;15,4;8 700;56 500\r\n")


@pytest.fixture
def catalogue(tmp_path) -> Path:
    folder = tmp_path / "catalogue"
    shutil.copytree(PROJECT_ROOT / "data" / "catalogue", folder)
    # The role column is optional: the project's rows leave it out (a value), these give it.
    variables = folder / "source_variables.csv"
    with variables.open("a", encoding="utf-8") as f:
        f.write("insee_filosofi;2019;DISP_TP6019;taux_pauvrete;value\n"
                "insee_filosofi;2019;NB_PAUVRES;taux_pauvrete;numerator\n"
                "insee_filosofi;2019;NB_PERS;taux_pauvrete;denominator\n")
    return folder


def read(tmp_path: Path, catalogue_dir: Path, text: str) -> pd.DataFrame:
    (tmp_path / "f.csv").write_text(text, encoding="utf-8")
    entry = RawFile(path="f.csv", reader="insee_wide_csv", source="insee_filosofi", vintage=2019, label="Filosofi 2019")
    return read_observation_file(tmp_path, entry, load_catalogue(catalogue_dir))


def test_counts_are_kept_beside_the_rate_and_a_secret_count_stays_empty(tmp_path, catalogue):
    obs = read(tmp_path, catalogue, FILE_TEXT).set_index("territory_code")
    assert len(obs) == 3 and set(obs["indicator_id"]) == {"taux_pauvrete"}  # counts are not separate figures
    assert (obs.loc["QP079001", "value"], obs.loc["QP079001", "numerator"], obs.loc["QP079001", "denominator"]) \
        == (54.7, 1420.0, 2596.0)
    secret = obs.loc["QP079002"]
    assert secret["status"] == "secret" and pd.isna(secret["numerator"]) and secret["denominator"] == 1200.0


def test_a_file_without_the_count_columns_reads_its_values_only(tmp_path, catalogue):
    text = "CODGEO;LIBGEO;NIVGEO;DISP_TP6019\r\nQP079001;Clou Bouchet;QP;54,7\r\n"
    obs = read(tmp_path, catalogue, text)
    assert obs.iloc[0]["value"] == 54.7 and pd.isna(obs.iloc[0]["numerator"])


def test_an_unknown_role_in_the_catalogue_is_refused(tmp_path, catalogue):
    with (catalogue / "source_variables.csv").open("a", encoding="utf-8") as f:
        f.write("insee_filosofi;2019;NB_MENAGES;taux_pauvrete;poids\n")
    with pytest.raises(SourceFileError, match="poids") as error:
        load_catalogue(catalogue)
    lines = (catalogue / "source_variables.csv").read_text(encoding="utf-8").splitlines()
    assert error.value.column == "role" and error.value.line == len(lines)


def test_a_count_without_its_value_column_names_the_first_territory(tmp_path, catalogue):
    text = "CODGEO;LIBGEO;NIVGEO;NB_PAUVRES\r\nQP079001;Clou Bouchet;QP;1 420\r\n79191;Niort;COM;8 700\r\n"
    with pytest.raises(SourceFileError, match="numerator de l'indicateur taux_pauvrete sans valeur publiée "
                                              "pour le territoire QP079001") as error:
        read(tmp_path, catalogue, text)
    assert error.value.line == 2


def test_a_territory_read_twice_with_its_counts_is_refused_at_its_second_line(tmp_path, catalogue):
    text = FILE_TEXT + "QP079002;Tour Chabot Gavacherie;QP;s;s;1 200\r\n"
    with pytest.raises(SourceFileError, match="numerator de l'indicateur taux_pauvrete en double "
                                              "pour le territoire QP079002") as error:
        read(tmp_path, catalogue, text)
    assert error.value.line == 5


def test_counts_follow_their_value_whatever_the_row_order(tmp_path, catalogue):
    # The counts of each territory land on that territory's value, not on a neighbour's.
    text = ("CODGEO;LIBGEO;NIVGEO;NB_PERS;DISP_TP6019;NB_PAUVRES\r\n"
            "79191;Niort;COM;56 500;15,4;8 700\r\n"
            "QP079002;Tour Chabot Gavacherie;QP;1 200;nd;ns\r\n"
            "QP079001;Clou Bouchet;QP;2 596;54,7;1 420\r\n")
    obs = read(tmp_path, catalogue, text)
    assert list(obs["territory_code"]) == ["79191", "QP079002", "QP079001"]
    assert list(obs["numerator"].astype(object)) == [8700.0, pd.NA, 1420.0]
    assert list(obs["denominator"].astype(object)) == [56500.0, 1200.0, 2596.0]
    assert list(obs["source_row"]) == [2, 3, 4] and str(obs["numerator"].dtype) == "Float64"
