"""Maps of an indicator across QPV, with the communes as background (geopandas).

Contours come from any file geopandas reads (GeoJSON, GeoPackage, Shapefile) or from a
GeoDataFrame; the caller names the column holding the QPV code. A QPV without a published value
is drawn hatched in grey and listed as "non disponible": it is never coloured as a zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from qpv_observatory.charts import CAPTION_COLOUR, save_formats
from qpv_observatory.errors import SourceFileError
from qpv_observatory.formatting import MARKERS_LEGEND, format_with_unit, status_marker
from qpv_observatory.values import OK

# Lambert-93, the projection of French official maps: shapes are not stretched at these latitudes.
MAP_CRS = "EPSG:2154"
NOT_AVAILABLE_FILL = "#d9d9d9"
NOT_AVAILABLE_HATCH = "////"


def load_contours(contours: gpd.GeoDataFrame | str | Path, code_column: str) -> gpd.GeoDataFrame:
    """Contours with a string ``code`` column, from a file or a GeoDataFrame the user supplies."""
    name = str(contours) if isinstance(contours, (str, Path)) else "contours fournis"
    frame = gpd.read_file(contours) if isinstance(contours, (str, Path)) else contours
    if code_column not in frame.columns:
        raise SourceFileError(name, f"colonne de code « {code_column} » absente (colonnes : "
                                    f"{', '.join(c for c in frame.columns if c != 'geometry')})", column=code_column)
    if frame.crs is None:
        raise SourceFileError(name, "système de coordonnées non déclaré : impossible de placer les contours")
    return frame.assign(code=frame[code_column].astype("str")).to_crs(MAP_CRS)


@dataclass(frozen=True)
class MapResult:
    files: list[Path]
    coloured: list[str]  # QPV codes drawn with a colour for their value
    not_available: list[str]  # QPV codes drawn hatched: no published value
    without_contour: list[str]  # QPV codes with a value but no contour in the file


def indicator_map_figure(contours: gpd.GeoDataFrame, values: pd.DataFrame, title: str, unit: str, caption: str,
                         background: gpd.GeoDataFrame | None = None) -> tuple[plt.Figure, MapResult]:
    """``contours`` from :func:`load_contours`; ``values`` has ``territory_code``, ``value`` and
    ``status`` for the QPV to map (only those QPV are drawn)."""
    values = values.assign(territory_code=values["territory_code"].astype("str"))
    shapes = contours.merge(values[["territory_code", "value", "status"]], left_on="code",
                            right_on="territory_code", how="inner")
    is_number = (shapes["status"] == OK) & shapes["value"].notna()
    coloured, missing = shapes[is_number], shapes[~is_number]
    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    xmin, ymin, xmax, ymax = shapes.total_bounds
    pad = 0.08 * max(xmax - xmin, ymax - ymin, 1.0)
    if background is not None and len(background):
        background.to_crs(MAP_CRS).plot(ax=ax, color="#f4f4f4", edgecolor="#9e9e9e", linewidth=0.6)
    if len(coloured):
        coloured.assign(value=coloured["value"].astype("float64")).plot(
            ax=ax, column="value", cmap="Reds", edgecolor="#333333", linewidth=0.5, legend=True,
            legend_kwds={"label": unit, "shrink": 0.6, "format": _colourbar_formatter(unit)})
    if len(missing):
        missing.plot(ax=ax, color=NOT_AVAILABLE_FILL, edgecolor="#333333", hatch=NOT_AVAILABLE_HATCH, linewidth=0.5)
        markers = sorted({status_marker(s) for s in missing["status"]})
        ax.legend(handles=[Patch(facecolor=NOT_AVAILABLE_FILL, edgecolor="#333333", hatch=NOT_AVAILABLE_HATCH,
                                 label=f"non disponible ({', '.join(markers)})")],
                  loc="lower left", fontsize=8, frameon=True)
    for row in shapes.itertuples():
        point = row.geometry.representative_point()
        text = format_with_unit(float(row.value), unit) if row.status == OK and pd.notna(row.value) \
            else status_marker(row.status)
        ax.annotate(text, (point.x, point.y), ha="center", va="center", fontsize=7,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0})
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    fig.text(0.01, 0.01, f"{caption} {MARKERS_LEGEND} Fond : contours des QPV et des communes.",
             fontsize=8, color=CAPTION_COLOUR, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    drawn = set(shapes["code"])
    result = MapResult([], sorted(coloured["code"]), sorted(missing["code"]),
                       sorted(set(values["territory_code"]) - drawn))
    return fig, result


def _colourbar_formatter(unit: str) -> FuncFormatter:
    return FuncFormatter(lambda v, _: format_with_unit(v, unit))


def indicator_map(contours: gpd.GeoDataFrame | str | Path, code_column: str, values: pd.DataFrame, title: str,
                  unit: str, caption: str, output_stem: Path, background: gpd.GeoDataFrame | str | Path | None = None,
                  formats: tuple[str, ...] = ("png", "svg")) -> MapResult:
    """Load the contours (file or GeoDataFrame), draw the map, write ``output_stem``.png/.svg."""
    shapes = load_contours(contours, code_column)
    if isinstance(background, (str, Path)):
        background = gpd.read_file(background)
    fig, result = indicator_map_figure(shapes, values, title, unit, caption, background)
    files = save_formats(fig, output_stem, formats)
    return MapResult(files, result.coloured, result.not_available, result.without_contour)
