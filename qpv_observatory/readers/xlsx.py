"""XLSX workbooks as INSEE and ANCT publish them: a title block of varying height above the table,
sheet names that change from one vintage to the next.

The header row is the first row holding the expected column names, on the first sheet that has
one (a preferred sheet name is tried first): never a fixed row number or sheet name.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Callable

import openpyxl
import pandas as pd
import python_calamine
from openpyxl.utils.exceptions import InvalidFileException

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN, refuse_control_characters

# Title blocks are a few lines; a header further down means the wrong file.
HEADER_SEARCH_ROWS = 60


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
    names, sheet_rows, close = (_open_calamine if engine == "calamine" else _open_openpyxl)(path, display_name)
    try:
        for sheet_name in sorted(names, key=lambda n: n != preferred_sheet):
            rows = sheet_rows(sheet_name)
            header_index = _find_header(rows, required_columns)
            if header_index is None:
                continue
            return _table(rows, header_index, f"{display_name}, feuille {sheet_name}"), sheet_name
    finally:
        close()
    raise SourceFileError(display_name, f"aucune feuille ne contient une ligne d'en-tête avec les colonnes "
                                        f"{', '.join(required_columns)} (dans les {HEADER_SEARCH_ROWS} premières "
                                        f"lignes) ; feuilles lues : {', '.join(names)}")


# An opened workbook: its sheet names, the rows of a sheet by name (from its first line and column), close.
OpenedWorkbook = tuple[list[str], Callable[[str], list], Callable[[], None]]


def _open_openpyxl(path: Path, display_name: str) -> OpenedWorkbook:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SourceFileError(display_name, f"classeur XLSX illisible ({exc.__class__.__name__})") from None
    return (workbook.sheetnames, lambda name: list(workbook[name].iter_rows(values_only=True)), workbook.close)


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
