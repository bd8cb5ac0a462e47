"""XLSX workbooks as INSEE and ANCT publish them: a title block of varying height above the table,
sheet names that change from one vintage to the next.

The header row is the first row holding the expected column names, on the first sheet that has
one (a preferred sheet name is tried first): never a fixed row number or sheet name.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN

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
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


def _find_header(rows: list[tuple], required: tuple[str, ...]) -> int | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {cell_text(v) for v in row}
        if all(c in names for c in required):
            return index
    return None


def read_xlsx_table(path: Path, display_name: str, required_columns: tuple[str, ...],
                    preferred_sheet: str | None = None) -> tuple[pd.DataFrame, str]:
    """The table of the first sheet whose header holds ``required_columns``, as text cells.

    Returns the frame (with each row's spreadsheet line in ``source_row``) and the sheet name,
    so that error messages can point at "file, sheet, line, column".
    """
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SourceFileError(display_name, f"classeur XLSX illisible ({exc.__class__.__name__})") from None
    try:
        names = workbook.sheetnames
        order = sorted(names, key=lambda n: n != preferred_sheet)
        for sheet_name in order:
            rows = list(workbook[sheet_name].iter_rows(values_only=True))
            header_index = _find_header(rows, required_columns)
            if header_index is None:
                continue
            return _table(rows, header_index, f"{display_name}, feuille {sheet_name}"), sheet_name
    finally:
        workbook.close()
    raise SourceFileError(display_name, f"aucune feuille ne contient une ligne d'en-tête avec les colonnes "
                                        f"{', '.join(required_columns)} (dans les {HEADER_SEARCH_ROWS} premières "
                                        f"lignes) ; feuilles lues : {', '.join(names)}")


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
    return frame
