"""French number formatting for what a person reads: decimal comma, thin space for thousands."""

from __future__ import annotations

NARROW_NBSP = "\u202f"  # espace fine insécable, the French thousands separator


def format_fr(value: float, decimals: int = 1) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", NARROW_NBSP).replace(".", ",")


def format_with_unit(value: float, unit: str) -> str:
    if unit == "%":
        return f"{format_fr(value, 1)}{NARROW_NBSP}%"
    if unit == "€":
        return f"{format_fr(value, 0)}{NARROW_NBSP}€"
    return format_fr(value, 0) if float(value).is_integer() else format_fr(value, 1)
