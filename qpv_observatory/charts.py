"""Charts in French for evaluation reports: grouped bars QPV / commune / EPCI per indicator."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from qpv_observatory.formatting import format_fr, format_with_unit  # noqa: E402
from qpv_observatory.values import MISSING, NOT_APPLICABLE, NOT_AVAILABLE, NOT_SIGNIFICANT, OK, SECRET  # noqa: E402

# What is printed in place of a bar whose value is not a published number: never a zero bar.
STATUS_SHORT = {SECRET: "s", NOT_AVAILABLE: "nd", NOT_SIGNIFICANT: "ns", NOT_APPLICABLE: "so", MISSING: "nd"}
SERIES = (("qpv", "Quartier prioritaire", "#b2182b"), ("commune", "Commune", "#4d4d4d"), ("epci", "EPCI", "#9e9e9e"))
# PNG metadata without the matplotlib version, so that a rerun writes the same bytes.
PNG_METADATA = {"Software": None}


def _bar_values(portrait: pd.DataFrame, level: str) -> tuple[list[float | None], list[str]]:
    value = portrait["qpv_value"] if level == "qpv" else portrait[f"{level}_value"]
    status = portrait["qpv_status"] if level == "qpv" else portrait[f"{level}_status"].fillna(MISSING)
    values = [float(v) if s == OK else None for v, s in zip(value, status)]
    return values, list(status)


def grouped_bar_chart(portrait: pd.DataFrame, indicator: pd.Series, output: Path) -> Path:
    """One chart for one indicator, year and source: a group of bars per QPV."""
    portrait = portrait.sort_values("qpv_code")
    (year,), (source_label,) = portrait["year"].unique(), portrait["source_label"].unique()
    unit = indicator["unit"]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    x = np.arange(len(portrait))
    width = 0.26
    peak = 0.0
    for offset, (level, label, colour) in zip((-width, 0.0, width), SERIES):
        values, statuses = _bar_values(portrait, level)
        heights = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(x + offset, heights, width, label=label, color=colour)
        for bar, value, status in zip(bars, values, statuses):
            if value is None:
                bar.set_visible(False)
                ax.annotate(STATUS_SHORT.get(status, "nd"), (bar.get_x() + width / 2, 0), xytext=(0, 3),
                            textcoords="offset points", ha="center", va="bottom", fontsize=9, style="italic")
            else:
                peak = max(peak, value)
                ax.annotate(format_with_unit(value, unit), (bar.get_x() + width / 2, value), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [str(n) for n in portrait["qpv_name"]], fontsize=9)
    ax.set_ylim(0, peak * 1.15 if peak > 0 else 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_fr(v, 0)))
    ax.set_ylabel(unit)
    ax.set_title(f"{indicator['label_fr']} ({year})", fontsize=11)
    ax.legend(frameon=False, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.text(0.01, 0.01, f"Source : {source_label}. « s » : secret statistique ; « nd » : non disponible.",
             fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, metadata=PNG_METADATA)
    plt.close(fig)
    return output


def indicator_charts(portrait: pd.DataFrame, indicators: pd.DataFrame, chart_dir: Path) -> list[Path]:
    """A grouped-bar PNG for every indicator, year and source of the gap portrait."""
    meta = indicators.set_index("indicator_id")
    paths = []
    for (indicator_id, year, source), rows in portrait.groupby(["indicator_id", "year", "source"], sort=True):
        output = chart_dir / f"{indicator_id}_{year}_{source}.png"
        paths.append(grouped_bar_chart(rows, meta.loc[indicator_id], output))
    return paths
