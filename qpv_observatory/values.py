"""Published cell values: numbers with a decimal comma, or statistical-secrecy markers.

A marker is never a number: it becomes a status kept beside an empty value, so that nothing
downstream can add, average or subtract it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
        raise ValueParseError(f"{text!r} n'est ni un nombre ni un marqueur de secret "
                              f"({', '.join(repr(m) for m in sorted(MARKER_STATUS) if m)})") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueParseError(f"{text!r} n'est pas un nombre fini")
    return ParsedValue(number, OK, None)
