"""Published cell values: numbers with a decimal comma, or statistical-secrecy markers.

A marker is never a number: it becomes a status kept beside an empty value, so that nothing
downstream can add, average or subtract it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

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
    "nan": MISSING,
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


def parse_value(raw: object) -> ParsedValue:
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
    if compact.count(",") == 1 and "." not in compact:
        compact = compact.replace(",", ".")
    try:
        number = float(compact)
    except ValueError:
        raise ValueParseError(f"{text!r} n'est ni un nombre ni un marqueur de secret statistique "
                              "(s, nd, ns, so ou cellule vide)") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueParseError(f"{text!r} n'est pas un nombre fini")
    return ParsedValue(number, OK, None)


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
    Python object per cell: the markers are looked up, the numbers converted in one go.

    Raises CellParseError at the first cell ``parse_value`` refuses.
    """
    count = len(cells)
    statuses = np.full(count, OK, dtype=object)
    markers = np.full(count, None, dtype=object)
    values = np.full(count, np.nan)
    positions, compact = [], []
    for position, cell in enumerate(cells):
        if not isinstance(cell, str):  # a workbook's typed cell: rare, parsed one by one
            parsed = _parse_at(cell, position)
            statuses[position], markers[position] = parsed.status, parsed.marker
            values[position] = np.nan if parsed.value is None else parsed.value
            continue
        text = cell.strip()
        marker_status = MARKER_STATUS.get(text.lower())
        if marker_status is not None:
            statuses[position], markers[position] = marker_status, text or None
            continue
        text = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        positions.append(position)
        compact.append(text)
    try:
        # numpy converts each text with Python's float(): the same numbers as parse_value.
        numbers = np.array(compact, dtype=object).astype(np.float64)
    except ValueError:
        numbers = None
    if numbers is None or not np.isfinite(numbers).all():
        for position in positions:  # find the first bad cell, for its message
            _parse_at(cells[position], position)
    values[positions] = numbers
    return ParsedCells(values, statuses, markers)


def _parse_at(cell: object, position: int) -> ParsedValue:
    try:
        return parse_value(cell)
    except ValueParseError as exc:
        raise CellParseError(str(exc), position) from None
