"""French number formatting for what a person reads: decimal comma, thin space for thousands."""

from __future__ import annotations

import pandas as pd

NARROW_NBSP = "\u202f"  # espace fine insécable, the French thousands separator


def format_fr(value: float, decimals: int = 1) -> str:
    # + 0.0: a value that rounds to zero (-0.04, or a published "-0") reads 0, never -0,0.
    text = f"{round(float(value), decimals) + 0.0:,.{decimals}f}"
    return text.replace(",", NARROW_NBSP).replace(".", ",")


def format_with_unit(value: float, unit: str) -> str:
    if unit == "points":  # a gap (target "écart à la commune"): signed, in points
        return format_gap(value, unit)
    if unit == "%":
        return f"{format_fr(value, 1)}{NARROW_NBSP}%"
    if unit == "€":
        return f"{format_fr(value, 0)}{NARROW_NBSP}€"
    return format_fr(value, 0) if float(value).is_integer() else format_fr(value, 1)


# What is printed in place of a value that is not a published number: the marker, never a zero.
# Keys are the statuses of qpv_observatory.values.
STATUS_MARKERS = {"secret": "s", "not_available": "nd", "not_significant": "ns", "not_applicable": "so",
                  "missing": "nd", "absent": "nd"}
MARKERS_LEGEND = "« s » : secret statistique ; « nd » : non disponible ; « ns » : non significatif ; « so » : sans objet."
LEVEL_LABELS = {"qpv": "quartier prioritaire", "commune": "commune", "epci": "EPCI"}


def status_marker(status: object) -> str:
    return STATUS_MARKERS.get(str(status), "nd")


def format_cell(value: object, status: object, unit: str) -> str:
    """A published value with its unit, or its secrecy marker when it is not a number.

    ``status`` None means the value carries no status of its own (a target, a baseline).
    """
    status = "ok" if status is None else status
    if status != "ok" or pd.isna(value):  # None, NaN and pd.NA are not numbers either
        return status_marker(status)
    return format_with_unit(float(value), unit)


def format_gap(gap: float, gap_unit: str) -> str:
    """A signed gap: '+12,3 pts', '−1 250 €'. The minus is the typographic sign."""
    magnitude = abs(float(gap))
    if gap_unit == "points":
        number = format_fr(magnitude, 1)
        shown = f"{number}{NARROW_NBSP}pt{'s' if magnitude >= 2 else ''}"
    else:
        shown = format_with_unit(magnitude, gap_unit)
        number = shown.removesuffix(f"{NARROW_NBSP}{gap_unit}")
    # A gap that rounds to zero has no sign: "0,0 pt", never "−0,0 pt".
    sign = "" if not any(digit in number for digit in "123456789") else "+" if gap > 0 else "\u2212"
    return f"{sign}{shown}"


def source_caption(source_label: str, year: object) -> str:
    """Every figure says where it comes from: source and vintage."""
    return f"Source : {source_label} ; données {year}."
