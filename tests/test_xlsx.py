"""read_xlsx_table gives the same table with either engine (openpyxl, calamine): texts, line numbers,
sheet chosen and refusals; only a formula error differs (calamine reads it as an empty cell)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.xlsx import read_xlsx_table

ENGINES = ("openpyxl", "calamine")


def workbook(tmp_path: Path, sheets: dict[str, list[list]], start_column: int = 1) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for line, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=start_column):
                if value is not None:
                    sheet.cell(line, column, value)
    path = tmp_path / "f.xlsx"
    book.save(path)
    return path


TYPED_ROWS = [["Titre du tableau"], [], ["Source : Insee"], [], [],
              ["CODGEO", "LIBGEO", "N", "X", "DATE", "HEURE", "OK"],
              ["01001", " L'Abergement ", 3, 3.5, dt.datetime(2024, 1, 2), dt.time(12, 30), True],
              [79191, "Niort", 240100255.0, 1e20, dt.datetime(2024, 1, 2, 3, 4), None, False],
              [],
              ["2A004", "Ajaccio", -0.0, 0.1, dt.date(2024, 5, 6), None, None],
              [None, None, None, None, None, None, None]]


@pytest.mark.parametrize("start_column", [1, 3])
def test_both_engines_read_the_same_table(tmp_path, start_column):
    path = workbook(tmp_path, {"Notes": [["Documentation"]], "Données": TYPED_ROWS}, start_column)
    frames = {engine: read_xlsx_table(path, "data/raw/f.xlsx", ("CODGEO", "N"), engine=engine) for engine in ENGINES}
    frame, sheet = frames["openpyxl"]
    assert sheet == "Données" and list(frame["source_row"]) == [7, 8, 10]
    assert list(frame["CODGEO"]) == ["01001", "79191", "2A004"] and list(frame["N"]) == ["3", "240100255", "0"]
    assert frame["DATE"].iloc[0] == "2024-01-02T00:00:00" and frame["LIBGEO"].iloc[0] == "L'Abergement"
    pd.testing.assert_frame_equal(frames["calamine"][0], frame, check_exact=True)
    assert frames["calamine"][1] == sheet


def test_preferred_sheet_first_with_either_engine(tmp_path):
    table = [["EPCI", "CODGEO"], ["200000172", "01001"]]
    path = workbook(tmp_path, {"Autre": [["EPCI", "CODGEO"], ["999999999", "99999"]], "Composition": [[], *table]})
    for engine in ENGINES:
        frame, sheet = read_xlsx_table(path, "f.xlsx", ("EPCI",), preferred_sheet="Composition", engine=engine)
        assert (sheet, list(frame["EPCI"]), list(frame["source_row"])) == ("Composition", ["200000172"], [3])


@pytest.mark.parametrize("engine", ENGINES)
def test_refusals_are_the_same(tmp_path, engine):
    path = workbook(tmp_path, {"B": [["titre"], ["code", "valeur"]], "A": [["CODGEO", "CODGEO"], ["1", "2"]]})
    with pytest.raises(SourceFileError, match="aucune feuille.*EPCI.*feuilles lues : B, A"):
        read_xlsx_table(path, "f.xlsx", ("EPCI",), engine=engine)
    with pytest.raises(SourceFileError, match="colonne\\(s\\) en double : CODGEO") as caught:
        read_xlsx_table(path, "f.xlsx", ("CODGEO",), engine=engine)
    assert caught.value.file == "f.xlsx, feuille A" and caught.value.line == 1
    not_a_workbook = tmp_path / "g.xlsx"
    not_a_workbook.write_text("CODGEO;LIBGEO\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="classeur XLSX illisible"):
        read_xlsx_table(not_a_workbook, "g.xlsx", ("CODGEO",), engine=engine)


def _workbook(path: Path, rows: list[list]) -> Path:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def _rewrite_member(path: Path, member: str, edit) -> None:
    """The same archive with one member's bytes changed (what a broken or hostile file holds)."""
    import zipfile
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    contents[member] = edit(contents[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


TABLE = [["CODGEO", "LIBGEO", "PART"], ["QP079001", "Clou Bouchet", 24], ["QP079002", "Tour Chabot", 20],
         ["79191", "Niort", 23], ["200041317", "CA du Niortais", 22]]


def test_rows_beyond_a_short_declared_dimension_are_read(tmp_path):
    path = _workbook(tmp_path / "f.xlsx", TABLE)
    _rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'ref="A1:C5"', b'ref="A1:C3"'))
    for engine in ("openpyxl", "calamine"):
        frame, _ = read_xlsx_table(path, "f.xlsx", ("CODGEO",), engine=engine)
        assert frame["CODGEO"].tolist() == ["QP079001", "QP079002", "79191", "200041317"], engine


def test_a_formula_without_its_computed_value_is_refused(tmp_path):
    path = _workbook(tmp_path / "f.xlsx", [*TABLE[:3], ["79191", "Niort", "=C2+C3"]])  # openpyxl stores no value
    with pytest.raises(SourceFileError, match="f.xlsx, feuille Sheet, ligne 4, colonne PART : formule '=C2\\+C3' "
                                              "sans valeur calculée"):
        read_xlsx_table(path, "f.xlsx", ("CODGEO",))


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = _workbook(tmp_path / "f.xlsx", TABLE)
    filler = b"<!--" + b" " * (40 << 20) + b"-->"  # 40 MiB of blanks: compresses about a thousand times
    _rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<sheetData>", filler + b"<sheetData>"))
    assert path.stat().st_size < 1 << 20
    for engine in ("openpyxl", "calamine"):
        with pytest.raises(SourceFileError, match="classeur refusé sans être ouvert : xl/worksheets/sheet1.xml se "
                                                  "décompresse en 40 Mio"):
            read_xlsx_table(path, "f.xlsx", ("CODGEO",), engine=engine)


def test_a_damaged_sheet_names_the_file(tmp_path):
    path = _workbook(tmp_path / "f.xlsx", TABLE)
    _rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2])
    with pytest.raises(SourceFileError, match="fichier f.xlsx : feuille Sheet illisible \\(ParseError\\)"):
        read_xlsx_table(path, "f.xlsx", ("CODGEO",))
