"""Delimited text as published by INSEE, CAF or ANCT: ';' separator, UTF-8 (with or without BOM)
or Windows-1252. Every cell is kept as text; each row carries its line number in the file."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from qpv_observatory.errors import SourceFileError
from qpv_observatory.formatting import format_fr

LINE_COLUMN = "source_row"
# A file is read whole, about eight times its size in memory at the peak (benchmarks/refusal_memory.py):
# above this size (in MiB) it is refused before reading, so that a read stays under about 1.5 GiB.
# Published files are far smaller (a national QPV table: 0.2 MB, Filosofi for every commune: 3 MB);
# QPV_OBSERVATORY_MAX_CSV_MIB raises or lowers the limit.
MAX_CSV_MIB_ENV = "QPV_OBSERVATORY_MAX_CSV_MIB"
DEFAULT_MAX_CSV_MIB = 128
UNNAMED_PREFIX = "__sans_nom_"  # a column whose header cell is empty, until it is dropped


def decode_text(data: bytes, display_name: str) -> str:
    """UTF-8 with BOM, UTF-8, then Windows-1252: the encodings French public files come in."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, len(codecs.BOM_UTF8) + exc.start) + 1
            raise SourceFileError(display_name, f"encodage incohérent : marque UTF-8 (BOM) présente mais contenu "
                                                f"non UTF-8 (octet {data[len(codecs.BOM_UTF8) + exc.start]:#04x}), "
                                                "Windows-1252 probable", line=line) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise SourceFileError(display_name, "encodage non reconnu : UTF-8 ou Windows-1252 attendu "
                                            f"(octet {data[exc.start]:#04x} en position {exc.start})") from None


def refuse_oversized(path: Path, display_name: str) -> None:
    """Refuse a file larger than the configured limit, from its size alone (memory stays bounded)."""
    limit = float(os.environ.get(MAX_CSV_MIB_ENV) or DEFAULT_MAX_CSV_MIB)
    size = path.stat().st_size
    if size > limit * 2 ** 20:
        raise SourceFileError(display_name, f"fichier de {format_fr(size / 2 ** 20, 0)} Mio, au-delà de la limite "
                                            f"de {format_fr(limit, 0)} Mio ({MAX_CSV_MIB_ENV}) : le fichier est-il le bon ? "
                                            "sinon, n'en garder que les lignes utiles ou relever la limite")


def read_delimited(path: Path, display_name: str, required_columns: tuple[str, ...], sep: str = ";",
                   short_rows: bool = False) -> pd.DataFrame:
    """Read a delimited file into a frame of strings, refusing anything ragged or incomplete.

    Columns without a name (Excel's "CSV UTF-8" exports add ~150 of them) are dropped when all their
    cells are blank, refused otherwise. ``short_rows``: a row may leave out its last fields (empty),
    as the catalogue's optional columns allow.
    """
    refuse_oversized(path, display_name)
    text = decode_text(path.read_bytes(), display_name)
    if not text.strip():
        raise SourceFileError(display_name, "fichier vide")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = [name.strip() for name in next(reader)]
    unnamed = [index for index, name in enumerate(header) if not name]
    header = [name or f"{UNNAMED_PREFIX}{index + 1}" for index, name in enumerate(header)]
    if len(header) == 1:
        other = next((s for s in (",", "\t", "|") if s in header[0]), None)
        found = f", le séparateur semble être « {other} »" if other else ""
        raise SourceFileError(display_name, f"séparateur « {sep} » attendu{found}", line=1)
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise SourceFileError(display_name, f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)} "
                                            f"(colonnes trouvées : {', '.join(h for h in header if not h.startswith(UNNAMED_PREFIX))})",
                              line=1)
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise SourceFileError(display_name, f"colonne(s) en double : {', '.join(duplicated)}", line=1)
    frame, lines = (None, None) if short_rows else _arrow_rows(text, sep, header)
    if frame is None:
        frame, lines = _csv_rows(reader, header, display_name, short_rows)
    if not len(lines):
        raise SourceFileError(display_name, "aucune ligne de données après l'en-tête")
    for index in unnamed:
        name = header[index]
        filled = frame[name].str.strip() != ""
        if filled.any():
            raise SourceFileError(display_name, f"colonne n°{index + 1} sans nom d'en-tête mais avec des valeurs",
                                  line=int(np.asarray(lines)[np.argmax(filled.to_numpy())]))
    frame = frame.drop(columns=[header[index] for index in unnamed])
    frame[LINE_COLUMN] = lines
    refuse_control_characters(frame, display_name)
    return frame


# C0 control characters (but tab, line feed and carriage return) and DEL: never in a published label or
# value, they break workbooks and pages downstream; refused where they are read, not at publication.
CONTROL_CHARACTERS = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def refuse_control_characters(frame: pd.DataFrame, display_name: str) -> None:
    """Refuse the first cell (in file order) holding a control character, naming its line and column."""
    first = None
    for column in frame.columns.drop(LINE_COLUMN, errors="ignore"):
        found = frame[column].astype("str").str.contains(CONTROL_CHARACTERS, regex=True, na=False).to_numpy()
        if found.any():
            row = int(np.argmax(found))
            if first is None or row < first[0]:
                first = (row, column)
    if first is not None:
        row, column = first
        character = re.search(CONTROL_CHARACTERS, str(frame[column].iloc[row])).group()
        raise SourceFileError(display_name, f"caractère de contrôle U+{ord(character):04X} dans la cellule : "
                                            "corriger le fichier (retirer le caractère)",
                              line=int(frame[LINE_COLUMN].iloc[row]), column=column)


def _csv_rows(reader, header: list[str], display_name: str,
              short_rows: bool = False) -> tuple[pd.DataFrame, list[int]]:
    """Rows one by one with the csv module: any file, and the line of whatever is wrong in it."""
    records, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank line, e.g. at the end of the file
        if short_rows and len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        if len(row) != len(header):
            raise SourceFileError(display_name, f"{len(row)} champ(s) au lieu de {len(header)} : "
                                                "ligne tronquée ou séparateur dans une valeur", line=reader.line_num)
        records.append(row)
        lines.append(reader.line_num)
    return pd.DataFrame(records, columns=header, dtype=str), lines


# What str.strip() removes (str.isspace), in RE2 syntax: a cell with any other character is not blank.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_NOT_BLANK = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"


def _arrow_rows(text: str, sep: str, header: list[str]) -> tuple[pd.DataFrame | None, np.ndarray]:
    """The data rows parsed by Arrow's CSV reader, with the line of each: the same cells as the csv
    module gives, many times faster, for the files where the two cannot differ (one row per line:
    no quote, no NUL, no lone carriage return, the header on the first line, every row complete).
    None otherwise, and for any file Arrow refuses: the csv module reads it and names what is wrong.
    """
    first_line_end = text.find("\n")
    if ('"' in text or "\0" in text or text.count("\r") != text.count("\r\n")
            or not text[:first_line_end if first_line_end >= 0 else len(text)].strip("\r")):
        return None, np.array([], dtype="int64")
    data = text.encode("utf-8")
    names = [f"c{index}" for index in range(len(header))]
    try:
        table = pa_csv.read_csv(pa.py_buffer(data),
                                pa_csv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
                                pa_csv.ParseOptions(delimiter=sep, quote_char=False, ignore_empty_lines=True),
                                pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.large_string())))
    except pa.ArrowInvalid:
        return None, np.array([], dtype="int64")
    # The line of each row: the non-empty physical lines (Arrow skips the empty ones), header first.
    bytes_ = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(bytes_ == ord("\n"))
    starts = np.concatenate([[0], ends + 1])
    ends = np.concatenate([ends, [len(bytes_)]])
    ends -= (ends > starts) & (bytes_[np.maximum(ends - 1, 0)] == ord("\r"))
    lines = np.flatnonzero(ends > starts)[1:] + 1
    if len(lines) != table.num_rows:
        return None, np.array([], dtype="int64")
    columns = [table.column(name) for name in names]
    # Rows whose cells are all blank are skipped, as the csv path does.
    maybe_blank = np.flatnonzero(~np.asarray(pc.match_substring_regex(columns[0], _NOT_BLANK)))
    blank = [row for row in maybe_blank if not any(column[int(row)].as_py().strip() for column in columns)]
    keep = np.ones(len(lines), dtype=bool)
    keep[blank] = False
    if not keep.all():
        columns, lines = [column.filter(pa.array(keep)) for column in columns], lines[keep]
    return pd.DataFrame({name: pd.array(column, dtype="str") for name, column in zip(header, columns)}), lines
