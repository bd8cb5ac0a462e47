"""Charts in French for evaluation reports, as PNG and SVG.

Grouped bars QPV / commune / EPCI, gap "dumbbells" across the QPV of a contract, the evolution of
a gap over vintages with series breaks, progress toward targets, and values across QPV. A value
that is not a published number is written as its marker ("s", "nd"), never drawn as a zero.
Files are deterministic: no software version or date in the metadata, fixed SVG ids.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from qpv_observatory.targets import PROGRESS_LABELS_FR  # noqa: E402
from qpv_observatory.formatting import (  # noqa: E402
    LEVEL_LABELS, MARKERS_LEGEND, NARROW_NBSP, format_cell, format_fr, format_gap, format_with_unit, source_caption, status_marker)
from qpv_observatory.values import MISSING, OK  # noqa: E402

SERIES = (("qpv", "Quartier prioritaire", "#b2182b"), ("commune", "Commune", "#4d4d4d"), ("epci", "EPCI", "#9e9e9e"))
QPV_COLOUR, COMPARISON_COLOUR, CAPTION_COLOUR = "#b2182b", "#4d4d4d", "#555555"
# Metadata without the matplotlib version or a date, and fixed SVG element ids, so that a rerun
# writes the same bytes.
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}
SVG_RC = {"svg.hashsalt": "qpv-observatory", "svg.fonttype": "path"}
FORMATS = ("png", "svg")


def save_figure(fig: plt.Figure, output: Path) -> Path:
    """Write one figure to ``output``; the suffix (.png or .svg) chooses the format."""
    output.parent.mkdir(parents=True, exist_ok=True)
    metadata = SVG_METADATA if output.suffix == ".svg" else PNG_METADATA
    with plt.rc_context(SVG_RC):
        fig.savefig(output, metadata=metadata)
    return output


def save_formats(fig: plt.Figure, stem: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write the figure once per format (``stem.png``, ``stem.svg``) and close it."""
    try:
        return [save_figure(fig, stem.with_name(f"{stem.name}.{fmt}")) for fmt in formats]
    finally:
        plt.close(fig)


def _caption(fig: plt.Figure, text: str) -> None:
    fig.text(0.01, 0.01, text, fontsize=8, color=CAPTION_COLOUR, wrap=True)


def _bar_values(portrait: pd.DataFrame, level: str) -> tuple[list[float | None], list[str]]:
    value = portrait["qpv_value"] if level == "qpv" else portrait[f"{level}_value"]
    status = portrait["qpv_status"] if level == "qpv" else portrait[f"{level}_status"].fillna(MISSING)
    values = [float(v) if s == OK else None for v, s in zip(value, status)]
    return values, list(status)


def grouped_bar_figure(portrait: pd.DataFrame, indicator: pd.Series) -> plt.Figure:
    """One indicator, year and source (rows of ``gap_portrait``): a group of bars per QPV."""
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
                ax.annotate(status_marker(status), (bar.get_x() + width / 2, 0), xytext=(0, 3),
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
    # Explicit handles: a series whose first bar is hidden (not published) keeps its colour key.
    ax.legend(handles=[Patch(color=colour, label=label) for _, label, colour in SERIES], frameon=False, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    _caption(fig, f"{source_caption(source_label, year)} {MARKERS_LEGEND}")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def grouped_bar_chart(portrait: pd.DataFrame, indicator: pd.Series, output: Path) -> Path:
    """The grouped bars written to ``output`` (.png or .svg)."""
    fig = grouped_bar_figure(portrait, indicator)
    try:
        return save_figure(fig, output)
    finally:
        plt.close(fig)


def indicator_charts(portrait: pd.DataFrame, indicators: pd.DataFrame, chart_dir: Path,
                     formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Grouped bars for every indicator, year and source of the gap portrait, in each format."""
    meta = indicators.set_index("indicator_id")
    paths = []
    for (indicator_id, year, source), rows in portrait.groupby(["indicator_id", "year", "source"], sort=True):
        fig = grouped_bar_figure(rows, meta.loc[indicator_id])
        paths += save_formats(fig, chart_dir / f"{indicator_id}_{year}_{source}", formats)
    return paths


def _is_number(value: object, status: object = OK) -> bool:
    return status == OK and value is not None and not pd.isna(value)


def gap_dumbbell_figure(gaps: pd.DataFrame, indicator: pd.Series, comparison_level: str = "commune") -> plt.Figure:
    """One indicator, year and source (rows of ``gaps``): per QPV, its value and the comparison
    territory's value joined by a segment whose length is the gap."""
    rows = (gaps[gaps["comparison_level"] == comparison_level]
            .sort_values(["qpv_name", "qpv_code", "comparison_code"], kind="mergesort", ascending=False))
    (year,), (source_label,) = rows["year"].unique(), rows["source_label"].unique()
    unit = indicator["unit"]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.55 * len(rows)), dpi=110)
    numbers = [float(v) for v, s in zip(rows["qpv_value"], rows["qpv_status"]) if _is_number(v, s)]
    numbers += [float(v) for v, s in zip(rows["comparison_value"], rows["comparison_status"]) if _is_number(v, s)]
    low, high = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
    span = (high - low) or abs(high) or 1.0
    for y, row in enumerate(rows.itertuples()):
        qpv_ok = _is_number(row.qpv_value, row.qpv_status)
        cmp_ok = _is_number(row.comparison_value, row.comparison_status)
        if qpv_ok and cmp_ok:
            ax.plot([row.comparison_value, row.qpv_value], [y, y], color="#bdbdbd", linewidth=3, zorder=1)
        if cmp_ok:
            ax.scatter([row.comparison_value], [y], s=60, color=COMPARISON_COLOUR, zorder=2)
        if qpv_ok:
            ax.scatter([row.qpv_value], [y], s=60, color=QPV_COLOUR, zorder=3)
        # Right margin: the gap, or the marker of whichever value is not published.
        if qpv_ok and cmp_ok and not pd.isna(row.gap):
            note = format_gap(row.gap, row.gap_unit)
        else:
            missing = [f"{LEVEL_LABELS[lvl]} : {status_marker(st)}" for lvl, ok, st in
                       (("qpv", qpv_ok, row.qpv_status), (comparison_level, cmp_ok, row.comparison_status)) if not ok]
            note = " ; ".join(missing)
        ax.annotate(note, (1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=9,
                    style="normal" if qpv_ok and cmp_ok else "italic")
    ax.set_yticks(range(len(rows)), [str(n) for n in rows["qpv_name"]], fontsize=9)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(low - 0.12 * span, high + 0.12 * span)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_fr(v, 0)))
    ax.set_xlabel(unit)
    ax.scatter([], [], s=60, color=QPV_COLOUR, label="Quartier prioritaire")
    ax.scatter([], [], s=60, color=COMPARISON_COLOUR, label=LEVEL_LABELS[comparison_level][:1].upper() + LEVEL_LABELS[comparison_level][1:])
    ax.legend(frameon=False, fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.set_title(f"{indicator['label_fr']} ({year}) : écart au territoire ({LEVEL_LABELS[comparison_level]})",
                 fontsize=11, pad=24)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.grid(axis="x", color="#eeeeee")
    _caption(fig, f"{source_caption(source_label, year)} {MARKERS_LEGEND}")
    fig.tight_layout(rect=(0, 0.05, 0.82, 1))
    return fig


def gap_evolution_figure(series: pd.DataFrame, title: str, gap_unit: str, caption: str) -> plt.Figure:
    """The gap of one QPV over vintages.

    ``series`` has columns ``year``, ``gap`` (empty when not computable), optionally ``status``
    (why it is empty) and ``series_break`` (empty, or the reason a new series starts that year).
    Points on both sides of a break are not joined: they are not comparable.
    """
    series = series.sort_values("year").reset_index(drop=True)
    breaks = series["series_break"] if "series_break" in series else pd.Series([None] * len(series))
    statuses = series["status"] if "status" in series else pd.Series([OK] * len(series))
    new_segment = [bool(b) and not pd.isna(b) for b in breaks]
    segment = np.cumsum(new_segment)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    ax.axhline(0, color="#999999", linewidth=0.8)
    for seg in np.unique(segment):
        part = series[segment == seg]
        values = [float(g) if _is_number(g) else np.nan for g in part["gap"]]
        ax.plot(part["year"], values, marker="o", color=QPV_COLOUR, linewidth=2)
        for year, value in zip(part["year"], values):
            if not np.isnan(value):
                ax.annotate(format_gap(value, gap_unit), (year, value), xytext=(0, 7), textcoords="offset points",
                            ha="center", fontsize=8)
    for year, gap, status in zip(series["year"], series["gap"], statuses):
        if not _is_number(gap):
            marker = status_marker(status if status != OK else MISSING)
            ax.annotate(marker, (year, 0), xytext=(0, 4), textcoords="offset points", ha="center",
                        fontsize=10, style="italic")
    for year, reason, is_break in zip(series["year"], breaks, new_segment):
        if is_break:
            ax.axvline(year - 0.5, color="#555555", linestyle="--", linewidth=1)
            label = "Rupture de série" + (f" : {reason}" if isinstance(reason, str) else "")
            ax.annotate(label, (year - 0.5, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", va="top", fontsize=8, color="#555555", rotation=90)
    ax.set_xticks(list(series["year"]), [str(y) for y in series["year"]])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_fr(v, 0)))
    ax.set_ylabel(f"écart ({gap_unit})")
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    _caption(fig, f"{caption} {MARKERS_LEGEND}")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


# Status words of a progress table, in French; unknown words are shown as given.
PROGRESS_STATUS_FR = PROGRESS_LABELS_FR  # statuses of the progress table (targets.py)


def _year(year: object) -> str:
    """A year for a caption; an unknown year reads 'nd', never '<NA>'."""
    return "nd" if pd.isna(year) else str(int(year))


def progress_figure(progress: pd.DataFrame, indicators: pd.DataFrame, caption: str = "") -> plt.Figure:
    """Progress toward targets: one bar per objective, the share of the way from baseline to target.

    ``progress`` has the progress table's columns (objective_code, indicator_id, territory_code,
    baseline_year, baseline_value, latest_year, latest_value, target_year, target_value,
    share_done, status). An objective whose latest value is not published has no bar, only "nd".
    """
    meta = indicators.set_index("indicator_id")
    rows = progress.sort_values(["objective_code", "territory_code"], ascending=False, kind="mergesort")
    fig, ax = plt.subplots(figsize=(10, 1.6 + 1.0 * len(rows)), dpi=110)
    for y, row in enumerate(rows.itertuples()):
        # The progress table says the unit of its figures: "points" for a gap-to-the-commune target.
        unit = getattr(row, "unit", None) or meta["unit"].get(row.indicator_id, "")
        label = meta["label_fr"].get(row.indicator_id, row.indicator_id)
        latest_status = getattr(row, "latest_status", None)
        measurable = _is_number(row.share_done) and _is_number(row.latest_value) and latest_status in (None, OK)
        if measurable:
            share = float(row.share_done)
            ax.barh(y, max(min(share, 1.25), -0.25) * 100, color=QPV_COLOUR if share < 1 else "#1a9850", height=0.32)
            done = f"{format_fr(share * 100, 0)}{NARROW_NBSP}%"
        else:
            done = status_marker(latest_status if latest_status not in (None, OK) else MISSING)
            ax.annotate(done, (0, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9,
                        style="italic")
        status = PROGRESS_STATUS_FR.get(str(row.status), str(row.status))
        # Without a measured share, the status alone says why ("cible à préciser", "pas de donnée").
        outcome = f"{done}, {status}" if measurable else status
        ax.annotate(f"{row.objective_code} · {label} ({row.territory_code}) : {outcome}",
                    (-25, y + 0.2), va="bottom", fontsize=9, weight="bold")
        ax.annotate(f"{_year(row.baseline_year)} : {format_cell(row.baseline_value, None, unit)} → "
                    f"{_year(row.latest_year)} : {format_cell(row.latest_value, latest_status, unit)} ; "
                    f"cible {_year(row.target_year)} : {format_cell(row.target_value, None, unit)}",
                    (-25, y - 0.2), va="top", fontsize=8, color=CAPTION_COLOUR)
    ax.axvline(100, color="#1a9850", linestyle="--", linewidth=1)
    ax.annotate("cible", (100, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=8)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks([])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(-25, 125)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{format_fr(v, 0)}{NARROW_NBSP}%"))
    ax.set_xlabel("part du chemin parcouru entre la situation de départ et la cible")
    ax.set_title("Avancement vers les cibles du contrat", fontsize=11, pad=14)
    ax.spines[["top", "right", "left"]].set_visible(False)
    _caption(fig, f"{caption} {MARKERS_LEGEND}".strip())
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def qpv_values_figure(values: pd.DataFrame, title: str, unit: str, caption: str) -> plt.Figure:
    """One indicator across QPV (columns ``name``, ``value``, ``status``): horizontal bars, highest
    first; a QPV without a published value gets its marker in place of a bar."""
    values = values.assign(_sort=[float(v) if _is_number(v, s) else -np.inf
                                  for v, s in zip(values["value"], values["status"])])
    rows = values.sort_values(["_sort", "name"], ascending=[True, False], kind="mergesort")
    fig, ax = plt.subplots(figsize=(9, 1.3 + 0.42 * len(rows)), dpi=110)
    peak = max([float(v) for v, s in zip(rows["value"], rows["status"]) if _is_number(v, s)], default=1.0)
    for y, row in enumerate(rows.itertuples()):
        if _is_number(row.value, row.status):
            ax.barh(y, float(row.value), color=QPV_COLOUR, height=0.6)
            ax.annotate(format_with_unit(float(row.value), unit), (float(row.value), y), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
        else:
            ax.annotate(status_marker(row.status), (0, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=9, style="italic")
    ax.set_yticks(range(len(rows)), [str(n) for n in rows["name"]], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(0, peak * 1.18 if peak > 0 else 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_fr(v, 0)))
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    _caption(fig, f"{caption} {MARKERS_LEGEND}")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
