"""Published cell values: numbers with a decimal comma, or statistical-secrecy markers.

A marker is never a number: it becomes a status kept beside an empty value, so that nothing
downstream can add, average or subtract it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

OK = "ok"
SECRET = "secret"  # "s": statistical secrecy
NOT_AVAILABLE = "not_available"  # "nd", or a zero the source uses for "not available"
NOT_SIGNIFICANT = "not_significant"  # "ns": too few observations to be meaningful
NOT_APPLICABLE = "not_applicable"  # "so": sans objet
MISSING = "missing"  # blank cell

STATUSES = (OK, SECRET, NOT_AVAILABLE, NOT_SIGNIFICANT, NOT_APPLICABLE, MISSING)

MARKER_STATUS = {
    "s": SECRET,
    "secret": SECRET,
    "nd": NOT_AVAILABLE,
    "n.d.": NOT_AVAILABLE,
    "ns": NOT_SIGNIFICANT,
    "so": NOT_APPLICABLE,
    "": MISSING,
    "-": MISSING,
}

# French labels for what a person reads (charts, reports).
STATUS_LABELS_FR = {
    OK: "disponible",
    SECRET: "secret statistique",
    NOT_AVAILABLE: "non disponible",
    NOT_SIGNIFICANT: "non significatif",
    NOT_APPLICABLE: "sans objet",
    MISSING: "non renseigné",
}


class ValueParseError(ValueError):
    """A cell that is neither a number nor a known secrecy marker."""


@dataclass(frozen=True)
class ParsedValue:
    value: float | None
    status: str
    marker: str | None  # the text as published when it was not a plain number


def parse_value(raw: object, decimal_comma: bool = False) -> ParsedValue:
    """Parse one published cell: '45,3', '1 320', '12.5', 's', 'nd', '' ...

    Raises ValueParseError for anything else, so that a shifted column or a wrong separator
    is stopped instead of being read as missing.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ParsedValue(None, MISSING, None)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return ParsedValue(float(raw), OK, None)
    text = str(raw).strip()
    marker_status = MARKER_STATUS.get(text.lower())
    if marker_status is not None:
        return ParsedValue(None, marker_status, text or None)
    # Thousands separators as INSEE writes them: space, no-break space, narrow no-break space.
    compact = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    if decimal_comma and "." in compact:
        raise ValueParseError(f"{text!r} : un point dans un fichier à virgule décimale (séparateur de milliers ou "
                              "décimale ?) ; écrire 1320 ou 1,32")
    if compact.count(",") == 1 and "." not in compact:
        compact = compact.replace(",", ".")
    try:
        number = float(compact)
    except ValueError:
        raise ValueParseError(f"{text!r} n'est ni un nombre ni un marqueur de secret statistique "
                              "(s, nd, ns, so ou cellule vide)") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueParseError(f"{text!r} n'est pas un nombre fini")
    return ParsedValue(number + 0.0, OK, None)  # + 0.0: "-0" is published as 0


class CellParseError(ValueParseError):
    """A bad cell among many: ``position`` says which one (0 = first)."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class ParsedCells:
    values: np.ndarray  # float64, NaN where the status is not ok
    statuses: np.ndarray  # object: one of STATUSES
    markers: np.ndarray  # object: the text as published when it was not a plain number, else None


def parse_cells(cells: Sequence[object]) -> ParsedCells:
    """``parse_value`` over a column of cells, with the same result for each cell, without one
    Python call per cell (see parse_distinct).

    Raises CellParseError at the first cell ``parse_value`` refuses.
    """
    parsed = parse_distinct(cells)
    return ParsedCells(parsed.values.take(parsed.codes), parsed.statuses.take(parsed.codes),
                       parsed.markers.take(parsed.codes))


@dataclass(frozen=True)
class ParsedDistinct:
    """``parse_value``'s result for each distinct cell, and where each cell's result is."""
    codes: np.ndarray  # int: for each cell, the index of its distinct cell
    cells: np.ndarray  # object: the distinct cells, in order of first appearance
    values: np.ndarray  # float64, NaN where the status is not ok
    statuses: np.ndarray  # object: one of STATUSES
    markers: np.ndarray  # object: the text as published when it was not a plain number, else None


def parse_distinct(cells: Sequence[object] | pd.Series, decimal_comma: bool = False) -> ParsedDistinct:
    """Published columns repeat a few thousand distinct texts over millions of cells: each distinct
    text is parsed once, plain numbers all together by Arrow, any other text by ``parse_value``.
    A Series of text is factorized where it is (Arrow), without a Python string per cell.

    Raises CellParseError at the first cell ``parse_value`` refuses. ``decimal_comma``: the file writes
    decimals with a comma, so a dot in a number (``1.320``) is refused, not read as 1.32.
    """
    codes = None
    if isinstance(cells, pd.Series) and isinstance(cells.dtype, pd.StringDtype):
        codes, distinct = pd.factorize(cells)
        if (codes < 0).any():  # missing cells: parsed as typed cells below
            codes, cells = None, cells.to_numpy(dtype=object)
        else:
            distinct = np.asarray(distinct, dtype=object)
    if codes is None:
        cells = _object_array(cells)
        if pd.api.types.infer_dtype(cells, skipna=False) == "string":
            # Distinct texts in order of first appearance: the first refused one is the first bad cell.
            codes, distinct = pd.factorize(cells)
        else:  # typed cells (a workbook's numbers, None, NaN): rare, parsed one by one
            codes, distinct = np.arange(len(cells)), cells
    values = np.full(len(distinct), np.nan)
    statuses = np.empty(len(distinct), dtype=object)
    markers = np.empty(len(distinct), dtype=object)
    plain = _plain_numbers(distinct, decimal_comma)
    values[plain], statuses[plain] = _plain_values(distinct[plain]), OK
    for index in np.flatnonzero(~plain):
        try:
            parsed = parse_value(distinct[index], decimal_comma)
        except ValueParseError as exc:
            raise CellParseError(str(exc), int(np.argmax(codes == index))) from None
        if parsed.value is not None:
            values[index] = parsed.value
        statuses[index], markers[index] = parsed.status, parsed.marker
    return ParsedDistinct(codes, distinct, values + 0.0, statuses, markers)  # + 0.0: "-0" is published as 0


# Most distinct texts are plain numbers ("1320", "45,3", "-0", "12.5"): converted all at once by Arrow,
# whose conversion of such a text is the same float as Python's float() (both correctly rounded).
_PLAIN_NUMBER = r"^-?[0-9]{1,20}(?:[.,][0-9]{1,20})?$"


def _plain_numbers(distinct: np.ndarray, decimal_comma: bool = False) -> np.ndarray:
    """Which distinct cells are plain numbers (strings only; anything else goes to parse_value, which
    refuses a dot in a decimal-comma file)."""
    if not len(distinct) or pd.api.types.infer_dtype(distinct, skipna=False) != "string":
        return np.zeros(len(distinct), dtype=bool)
    texts = pa.array(distinct, type=pa.large_string())
    plain = np.asarray(pc.match_substring_regex(texts, _PLAIN_NUMBER), dtype=bool)
    if decimal_comma:
        plain &= ~np.asarray(pc.match_substring(texts, "."), dtype=bool)
    return plain


def _plain_values(texts: np.ndarray) -> np.ndarray:
    decimal_points = pc.replace_substring(pa.array(texts, type=pa.large_string()), ",", ".")
    return np.asarray(pc.cast(decimal_points, pa.float64()), dtype=np.float64)


def _object_array(cells: Sequence[object]) -> np.ndarray:
    """The cells as a 1-D object array, without letting numpy nest or convert them."""
    if isinstance(cells, np.ndarray) and cells.dtype == object and cells.ndim == 1:
        return cells
    array = np.empty(len(cells), dtype=object)
    array[:] = list(cells)
    return array

