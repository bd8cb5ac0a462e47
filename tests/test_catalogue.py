"""The catalogue's variable map: rows for every millésime, rows for one, optional columns left out."""

from __future__ import annotations

import shutil

import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.errors import SourceFileError


@pytest.fixture
def catalogue_dir(tmp_path):
    folder = tmp_path / "catalogue"
    shutil.copytree(PROJECT_ROOT / "data" / "catalogue", folder)
    return folder


def append(folder, text: str) -> None:
    with (folder / "source_variables.csv").open("a", encoding="utf-8") as out:
        out.write(text)


def test_a_row_without_millesime_holds_for_every_millesime_unless_one_renames_the_variable(catalogue_dir):
    # Short rows: the optional role and table columns are left out.
    append(catalogue_dir, "cnam;;PART_CSS;part_cmuc\ncnam;2023;CSS_23;part_cmuc\n")
    catalogue = load_catalogue(catalogue_dir)
    assert catalogue.variables_for("cnam", 2019)["PART_CSS"] == "part_cmuc"
    assert catalogue.variables_for("cnam", 2018) == {"PART_CMUC": "part_cmuc", "PART_CSS": "part_cmuc"}
    assert catalogue.variables_for("cnam", 2023) == {"CSS_23": "part_cmuc", "PART_CSS": "part_cmuc"}
    # A table's variables stay with their table: the Cnaf's A is not France Travail's A.
    assert catalogue.variables_for("cnaf", 2019) == {}
    demographie = catalogue.table_rows("insee_qpv_demographie", 2019)
    assert dict(zip(demographie["variable"], demographie["source"]))["A"] == "cnaf"


def test_a_variable_defined_twice_in_a_table_or_a_bad_millesime_is_refused(catalogue_dir):
    append(catalogue_dir, "cnaf;;POP_MUN;population;;insee_qpv_demographie\n")
    with pytest.raises(SourceFileError, match="variable POP_MUN définie deux fois pour la table insee_qpv_demographie"):
        load_catalogue(catalogue_dir)
    shutil.copy(PROJECT_ROOT / "data" / "catalogue" / "source_variables.csv", catalogue_dir)
    append(catalogue_dir, "cnam;19;PART_CSS;part_cmuc\n")
    with pytest.raises(SourceFileError, match="colonne vintage : '19' n'est pas une année"):
        load_catalogue(catalogue_dir)
