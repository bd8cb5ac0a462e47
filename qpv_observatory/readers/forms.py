"""Forms filled by hand (contract targets, partner reporting): CSV with ';' or an XLSX workbook.

Every cell is kept as stripped text and each row carries its line number (as Excel shows it for a
workbook), so that a refusal can name the line to fix.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.values import OK, ValueParseError, parse_value

FORM_SUFFIXES = (".csv", ".xlsx")


def _read_xlsx(path: Path, display_name: str, required_columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        # First sheet; dtype=str keeps objective codes ("1.3.10") and territory codes as text.
        frame = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False, engine="openpyxl")
    except (ValueError, OSError, KeyError) as exc:
        raise SourceFileError(display_name, f"classeur XLSX illisible ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise SourceFileError(display_name, f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)} "
                                            f"(colonnes trouvées : {', '.join(frame.columns)})", line=1)
    frame = frame.fillna("").astype(str)
    frame[LINE_COLUMN] = range(2, len(frame) + 2)  # row 1 is the header
    filled = frame.drop(columns=LINE_COLUMN).apply(lambda column: column.str.strip() != "").any(axis=1)
    frame = frame[filled]
    if frame.empty:
        raise SourceFileError(display_name, "aucune ligne de données après l'en-tête")
    return frame.reset_index(drop=True)


def read_form(path: Path, display_name: str, required_columns: tuple[str, ...]) -> pd.DataFrame:
    """A hand-filled table as text cells plus ``source_row``; the format follows the file suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = read_delimited(path, display_name, required_columns)
    elif suffix == ".xlsx":
        frame = _read_xlsx(path, display_name, required_columns)
    else:
        raise SourceFileError(display_name, f"format {suffix or '(sans extension)'} non pris en charge : "
                                            "CSV (séparateur ;) ou XLSX attendu")
    text_columns = [c for c in frame.columns if c != LINE_COLUMN]
    return frame.assign(**{c: frame[c].astype(str).str.strip() for c in text_columns})


def form_year(cell: str, display_name: str, line: int, column: str, required: bool = True) -> int | None:
    """A year written on four digits; blank only where the form allows it."""
    text = cell.strip()
    if not text:
        if required:
            raise SourceFileError(display_name, "année obligatoire", line=line, column=column)
        return None
    if text.endswith(".0"):  # a year typed as a number in a workbook
        text = text[:-2]
    if not (len(text) == 4 and text.isdigit()):
        raise SourceFileError(display_name, f"{cell!r} n'est pas une année sur quatre chiffres", line=line, column=column)
    return int(text)


def form_number(cell: str, display_name: str, line: int, column: str) -> float | None:
    """A number with a decimal comma or point; blank is None. Secrecy markers are not accepted here:
    a baseline or a target is set by someone, it is not a published cell."""
    if not cell.strip():
        return None
    try:
        parsed = parse_value(cell)
    except ValueParseError:
        parsed = None
    if parsed is None or parsed.status != OK:
        raise SourceFileError(display_name, f"{cell!r} n'est pas un nombre", line=line, column=column)
    return parsed.value


def normalise_choice(cell: str) -> str:
    """Lower case without accents, so that 'À préciser', 'a preciser' and 'à préciser' match."""
    decomposed = unicodedata.normalize("NFKD", cell.strip().lower())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())
