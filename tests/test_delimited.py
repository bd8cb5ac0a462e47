"""read_delimited reads most files with Arrow's CSV parser and the others with the csv module:
both paths give the same frame (cells, line numbers), and the same refusal for a bad file."""

from __future__ import annotations

import csv
import io
import sys

import pandas as pd
import pytest

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers import delimited
from qpv_observatory.readers.delimited import LINE_COLUMN, WHITESPACE, read_delimited

HEADER = "CODGEO;LIBGEO;A;B"
TEXTS = {
    "crlf": HEADER + "\r\nQP1;Nom;1,5;s\r\nQP2;Autre;;nd\r\n",
    "lf, no final newline": HEADER + "\nQP1;Nom;1,5;s\nQP2;Autre; 2 ;nd",
    "blank lines": HEADER + "\r\n\r\nQP1;Nom;1,5;s\r\n\r\n\r\nQP2;Autre;2;nd\r\n\r\n",
    "separator-only and space-only rows": HEADER + "\nQP1;Nom;1;2\n;;;\n  ; \t;  ;\u00a0\nQP2;N;3;4\n",
    "first cell blank, others not": HEADER + "\n;Nom;1;2\n \u2003;;;x\nQP2;N;3;4\n",
    "whitespace-only line": HEADER + "\nQP1;Nom;1;2\n   \nQP2;N;3;4\n",
    "quoted cells": HEADER + '\nQP1;"Nom; avec séparateur";"1,5";2\nQP2;"sur\ndeux lignes";3;4\n',
    "lone carriage returns": HEADER + "\rQP1;Nom;1;2\rQP2;N;3;4\r",
    "accents and spaces kept": HEADER + "\nQP1 ; Île-de-France ;1 320;  s \n",
    "control separator in a cell": HEADER + "\nQP1;a\x1cb;1;2\n",
}


def csv_module_frame(path, sep=";") -> pd.DataFrame:
    """What the csv module alone reads (the reference path)."""
    text = delimited.decode_text(path.read_bytes(), "f.csv")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = [name.strip() for name in next(reader)]
    frame, lines = delimited._csv_rows(reader, header, "f.csv")
    frame[LINE_COLUMN] = lines
    return frame


@pytest.mark.parametrize("name", [name for name in TEXTS if name != "control separator in a cell"])
def test_same_frame_as_the_csv_module(tmp_path, name):
    path = tmp_path / "f.csv"
    path.write_bytes(TEXTS[name].encode("utf-8"))
    expected = csv_module_frame(path)
    assert len(expected)  # the reference reads something: the comparison is not vacuous
    pd.testing.assert_frame_equal(read_delimited(path, "f.csv", ("CODGEO",)), expected, check_exact=True)


def test_line_numbers_count_the_skipped_lines(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(TEXTS["separator-only and space-only rows"].encode("utf-8"))
    frame = read_delimited(path, "f.csv", ("CODGEO",))
    assert list(frame["CODGEO"]) == ["QP1", "QP2"] and list(frame[LINE_COLUMN]) == [2, 5]


def test_windows_1252_file_with_a_comma_separator(tmp_path):
    path = tmp_path / "f.csv"
    text = "TYPECOM,COM,LIBELLE\r\nCOM,01001,L'Abergement-Clémenciat\r\nCOM,01002,Œuilly\r\n"
    path.write_bytes(text.encode("cp1252"))
    frame = read_delimited(path, "f.csv", ("COM",), sep=",")
    assert list(frame["LIBELLE"]) == ["L'Abergement-Clémenciat", "Œuilly"] and list(frame[LINE_COLUMN]) == [2, 3]
    pd.testing.assert_frame_equal(frame, csv_module_frame(path, sep=","), check_exact=True)


@pytest.mark.parametrize("text, line", [(HEADER + "\nQP1;Nom;1\nQP2;N;3;4\n", 2),
                                        (HEADER + "\r\n\r\nQP1;Nom;1;2\r\nQP2;N;3;4;5\r\n", 4)])
def test_a_ragged_row_is_refused_at_its_line(tmp_path, text, line):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(SourceFileError, match="champ\\(s\\) au lieu de 4") as error:
        read_delimited(path, "f.csv", ("CODGEO",))
    assert error.value.line == line


@pytest.mark.parametrize("text", [HEADER + "\r\n", HEADER + "\r\n;;;\r\n  \r\n"])
def test_no_data_row_is_refused(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(SourceFileError, match="aucune ligne de données"):
        read_delimited(path, "f.csv", ("CODGEO",))


def test_blank_means_what_str_strip_removes():
    assert set(WHITESPACE) == {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}


@pytest.mark.parametrize("name, by_arrow", [("crlf", True), ("lf, no final newline", True), ("blank lines", True),
                                            ("separator-only and space-only rows", True),
                                            ("first cell blank, others not", True), ("accents and spaces kept", True),
                                            ("control separator in a cell", True), ("whitespace-only line", False),
                                            ("quoted cells", False), ("lone carriage returns", False)])
def test_arrow_reads_the_files_it_cannot_misread(name, by_arrow):
    # The comparisons above test both paths: most texts go through Arrow, the others through csv.
    frame, _ = delimited._arrow_rows(TEXTS[name], ";", HEADER.split(";"))
    assert (frame is not None) == by_arrow


@pytest.mark.parametrize("character", ["\x07", "\x1b", "\x00", "\x7f"])
def test_a_control_character_is_refused_where_it_is_read(tmp_path, character):
    path = tmp_path / "qpv.csv"
    path.write_text(f"code_qp;lib_qp\nQP079001;Clou Bouchet\nQP079002;Tour{character}Chabot\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=f"fichier data/raw/qpv.csv, ligne 3, colonne lib_qp : caractère de "
                                              f"contrôle U\\+{ord(character):04X}"):
        read_delimited(path, "data/raw/qpv.csv", ("code_qp",))
    path.write_text("code_qp;lib_qp\nQP079001;\"Clou\tBouchet\"\n", encoding="utf-8")  # a tab is no control here
    assert read_delimited(path, "data/raw/qpv.csv", ("code_qp",))["lib_qp"].tolist() == ["Clou\tBouchet"]


def test_a_control_separator_in_a_cell_is_refused_by_either_path(tmp_path):
    # The same rows from Arrow and from the csv module (test above), then the cell refused.
    path = tmp_path / "f.csv"
    path.write_bytes(TEXTS["control separator in a cell"].encode("utf-8"))
    arrow, _ = delimited._arrow_rows(TEXTS["control separator in a cell"], ";", HEADER.split(";"))
    expected = csv_module_frame(path)
    assert arrow["LIBGEO"].tolist() == expected["LIBGEO"].tolist() == ["a\x1cb"]
    with pytest.raises(SourceFileError, match="ligne 2, colonne LIBGEO : caractère de contrôle U\\+001C"):
        read_delimited(path, "f.csv", ("CODGEO",))


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(b"CODGEO;LIBGEO\n" + b"QP079001;Clou Bouchet\n" * 60_000)  # 1.3 MiB
    monkeypatch.setenv(delimited.MAX_CSV_MIB_ENV, "1")
    monkeypatch.setattr(delimited.Path, "read_bytes", lambda self: pytest.fail("read despite its size"))
    with pytest.raises(SourceFileError, match="fichier f.csv : fichier de 1 Mio, au-delà de la limite de 1 Mio "
                                              "\\(QPV_OBSERVATORY_MAX_CSV_MIB\\)"):
        read_delimited(path, "f.csv", ("CODGEO",))
    monkeypatch.undo()
    assert len(read_delimited(path, "f.csv", ("CODGEO",))) == 60_000  # the default limit reads it
