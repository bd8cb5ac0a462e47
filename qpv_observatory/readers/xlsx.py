"""XLSX workbooks as INSEE and ANCT publish them: a title block of varying height above the table,
sheet names that change from one vintage to the next.

The header row is the first row holding the expected column names, on the first sheet that has
one (a preferred sheet name is tried first): never a fixed row number or sheet name.
"""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from pathlib import Path
from typing import Callable
from xml.etree.ElementTree import ParseError

import openpyxl
import pandas as pd
import python_calamine
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from qpv_observatory.errors import SourceFileError
from qpv_observatory.formatting import format_fr
from qpv_observatory.readers.delimited import LINE_COLUMN, refuse_control_characters

# Title blocks are a few lines; a header further down means the wrong file.
HEADER_SEARCH_ROWS = 60
# Checked in the archive's directory before anything is unpacked: published workbooks compress about
# ten to one; a member that unpacks to more than this and compresses a hundred times better is a zip
# bomb (a 576 KB file unpacking to 196 MB took 2.5 GB of memory to read).
MAX_UNPACKED_BYTES = 1 << 30
SUSPICIOUS_MEMBER_BYTES = 16 << 20
SUSPICIOUS_RATIO = 100
# What openpyxl raises on a damaged archive or sheet XML (a member that does not inflate or parse).
WORKBOOK_ERRORS = (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ParseError, zlib.error, ValueError,
                   EOFError)


def cell_text(value: object) -> str:
    """A cell as the text a CSV would hold: integral numbers without '.0' (codes stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):  # a date cell as openpyxl gives it: a datetime at midnight
        return dt.datetime.combine(value, dt.time()).isoformat()
    return str(value).strip()


def _find_header(rows: list[tuple], required: tuple[str, ...]) -> int | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {cell_text(v) for v in row}
        if all(c in names for c in required):
            return index
    return None


def read_xlsx_table(path: Path, display_name: str, required_columns: tuple[str, ...],
                    preferred_sheet: str | None = None, engine: str = "openpyxl") -> tuple[pd.DataFrame, str]:
    """The table of the first sheet whose header holds ``required_columns``, as text cells.

    Returns the frame (with each row's spreadsheet line in ``source_row``) and the sheet name,
    so that error messages can point at "file, sheet, line, column".

    ``engine="calamine"`` reads many times faster, the same texts, but a formula error (#N/A,
    #DIV/0!...) comes out as an empty cell where openpyxl gives its text: only for tables whose
    columns refuse an empty cell anyway (codes), never for published values.
    """
    check_archive(path, display_name)
    names, sheet_rows, close = (_open_calamine if engine == "calamine" else _open_openpyxl)(path, display_name)
    try:
        for sheet_name in sorted(names, key=lambda n: n != preferred_sheet):
            rows = sheet_rows(sheet_name)
            header_index = _find_header(rows, required_columns)
            if header_index is None:
                continue
            where = f"{display_name}, feuille {sheet_name}"
            if engine != "calamine":
                _refuse_uncached_formulas(path, sheet_name, rows, header_index, where)
            return _table(rows, header_index, where), sheet_name
    finally:
        close()
    raise SourceFileError(display_name, f"aucune feuille ne contient une ligne d'en-tête avec les colonnes "
                                        f"{', '.join(required_columns)} (dans les {HEADER_SEARCH_ROWS} premières "
                                        f"lignes) ; feuilles lues : {', '.join(names)}")


# An opened workbook: its sheet names, the rows of a sheet by name (from its first line and column), close.
OpenedWorkbook = tuple[list[str], Callable[[str], list], Callable[[], None]]


def check_archive(path: Path, display_name: str) -> None:
    """Refuse a workbook whose archive would unpack to too much, before unpacking any of it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceFileError(display_name, f"classeur XLSX illisible ({exc.__class__.__name__})") from None
    total = sum(member.file_size for member in members)
    bomb = next((m for m in members if m.file_size > SUSPICIOUS_MEMBER_BYTES
                 and m.file_size > SUSPICIOUS_RATIO * max(m.compress_size, 1)), None)
    if total > MAX_UNPACKED_BYTES or bomb is not None:
        member = bomb or max(members, key=lambda m: m.file_size)
        raise SourceFileError(display_name, f"classeur refusé sans être ouvert : {member.filename} se décompresse en "
                                            f"{format_fr(member.file_size / 2 ** 20, 0)} Mio depuis "
                                            f"{format_fr(member.compress_size / 2 ** 20, 1)} Mio (archive piégée ou trop "
                                            "volumineuse ; exporter la feuille utile en CSV)")


def _open_openpyxl(path: Path, display_name: str) -> OpenedWorkbook:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except WORKBOOK_ERRORS as exc:
        raise SourceFileError(display_name, f"classeur XLSX illisible ({exc.__class__.__name__})") from None

    def sheet_rows(name: str) -> list[tuple]:
        sheet = workbook[name]
        # The <dimension> a sheet declares may be short: rows below it would be dropped without a word.
        sheet.reset_dimensions()
        try:
            return list(sheet.iter_rows(values_only=True))
        except WORKBOOK_ERRORS as exc:
            raise SourceFileError(display_name, f"feuille {name} illisible ({exc.__class__.__name__}) : classeur "
                                                "endommagé") from None

    return workbook.sheetnames, sheet_rows, workbook.close


def _refuse_uncached_formulas(path: Path, sheet_name: str, rows: list[tuple], header_index: int, where: str) -> None:
    """A formula cell saved without its computed value reads as empty: refused, never taken for a blank
    (the workbook must be opened and saved in a spreadsheet, which stores the values)."""
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = workbook[sheet_name]
        sheet.reset_dimensions()
        header = [cell_text(v) for v in rows[header_index]]
        for line, (formulas, values) in enumerate(zip(sheet.iter_rows(values_only=True), rows), start=1):
            if line <= header_index + 1:
                continue
            for index, (formula, value) in enumerate(zip(formulas, values)):
                if value is None and isinstance(formula, str) and formula.startswith("="):
                    column = header[index] if index < len(header) and header[index] else get_column_letter(index + 1)
                    raise SourceFileError(where, f"formule {formula!r} sans valeur calculée enregistrée : ouvrir le "
                                                 "classeur dans un tableur et l'enregistrer", line=line, column=column)
    finally:
        workbook.close()


def _open_calamine(path: Path, display_name: str) -> OpenedWorkbook:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(path)
    except (python_calamine.CalamineError, OSError) as exc:
        raise SourceFileError(display_name, f"classeur XLSX illisible ({exc.__class__.__name__})") from None
    names = [sheet.name for sheet in workbook.sheets_metadata if sheet.typ == python_calamine.SheetTypeEnum.WorkSheet]
    # Empty lines and columns kept before the data: row i is the sheet's line i + 1, as with openpyxl.
    return (names, lambda name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False), workbook.close)


def _table(rows: list[tuple], header_index: int, where: str) -> pd.DataFrame:
    header = [cell_text(v) for v in rows[header_index]]
    kept = [i for i, name in enumerate(header) if name]  # unnamed columns are margins, not data
    names = [header[i] for i in kept]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SourceFileError(where, f"colonne(s) en double : {', '.join(duplicated)}", line=header_index + 1)
    records, lines = [], []
    for offset, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        cells = [cell_text(row[i]) if i < len(row) else "" for i in kept]
        if not any(cells):
            continue
        records.append(cells)
        lines.append(offset)
    if not records:
        raise SourceFileError(where, "aucune ligne de données après l'en-tête", line=header_index + 1)
    frame = pd.DataFrame(records, columns=names, dtype=str)
    frame[LINE_COLUMN] = lines
    refuse_control_characters(frame, where)
    return frame
