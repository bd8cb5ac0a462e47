"""Charts and maps: French formatting, markers instead of zeros, deterministic files, every
indicator of the Niort demo, and the Montpellier QPV of the Occitanie extract (map included)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.collections import PatchCollection
from matplotlib.lines import Line2D

from qpv_observatory.charts import (gap_dumbbell_figure, gap_evolution_figure, grouped_bar_figure, progress_figure,
                                    qpv_values_figure, save_formats)
from qpv_observatory.errors import SourceFileError
from qpv_observatory.formatting import NARROW_NBSP, format_cell, format_gap, format_with_unit
from qpv_observatory.maps import NOT_AVAILABLE_HATCH, indicator_map, indicator_map_figure, load_contours
from tests.conftest import SHARED

OCCITANIE = SHARED / "data" / "occitanie-qpv-2015"
MONTPELLIER_QPV = [f"QP0340{n:02d}" for n in range(4, 16)]
MONTPELLIER_COMMUNE = "34172"


def texts(fig: plt.Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(plt.Text)]


def test_french_formatting():
    assert format_with_unit(1234.5, "%") == f"1{NARROW_NBSP}234,5{NARROW_NBSP}%"
    assert format_with_unit(20499, "€") == f"20{NARROW_NBSP}499{NARROW_NBSP}€"
    assert format_gap(-27.8, "points") == f"\u221227,8{NARROW_NBSP}pts"
    assert format_gap(1.0, "points") == f"+1,0{NARROW_NBSP}pt"
    assert format_cell(None, "secret", "%") == "s"
    assert format_cell(12.0, "secret", "%") == "s"  # a status other than ok wins over any stray number
    assert format_cell(float("nan"), None, "%") == "nd"


@pytest.fixture(scope="module")
def demo_tables(warehouse) -> dict[str, pd.DataFrame]:
    return {n: warehouse.sql(f"SELECT * FROM {n}").df() for n in ("gaps", "gap_portrait", "indicators")}


def test_secret_value_is_a_marker_never_a_zero_bar(demo_tables):
    portrait = demo_tables["gap_portrait"]
    rows = portrait[portrait["indicator_id"] == "taux_chomage_rp"].copy()
    rows.loc[rows.index[0], ["qpv_value", "qpv_status"]] = [None, "secret"]
    meta = demo_tables["indicators"].set_index("indicator_id").loc["taux_chomage_rp"]
    fig = grouped_bar_figure(rows, meta)
    ax = fig.axes[0]
    visible = [p for p in ax.patches if p.get_visible()]
    assert len(visible) == 3 * len(rows) - 1  # the secret bar is not drawn at all
    assert all(p.get_height() > 0 for p in visible)
    assert "s" in texts(fig) and not any(t.startswith("0,0") for t in texts(fig))
    assert any(t.startswith("Source : INSEE, RP 2015 ; données 2015") for t in texts(fig))
    plt.close(fig)


def test_dumbbell_marks_a_secret_qpv_and_shows_signed_gaps(demo_tables):
    gaps = demo_tables["gaps"]
    rows = gaps[gaps["indicator_id"] == "taux_pauvrete"].copy()
    meta = demo_tables["indicators"].set_index("indicator_id").loc["taux_pauvrete"]
    first = rows[rows["comparison_level"] == "commune"].index[0]
    rows.loc[first, ["qpv_value", "qpv_status", "gap"]] = [None, "secret", None]
    fig = gap_dumbbell_figure(rows, meta, "commune")
    shown = texts(fig)
    assert "quartier prioritaire : s" in shown
    expected = [format_gap(g, "points") for g in rows[(rows["comparison_level"] == "commune")]["gap"].dropna()]
    assert expected and all(e in shown for e in expected)
    plt.close(fig)


def test_chart_files_are_identical_on_rerun(demo_tables, tmp_path):
    gaps = demo_tables["gaps"]
    meta = demo_tables["indicators"].set_index("indicator_id").loc["part_aah"]
    rows = gaps[gaps["indicator_id"] == "part_aah"]
    first = save_formats(gap_dumbbell_figure(rows, meta), tmp_path / "a")
    second = save_formats(gap_dumbbell_figure(rows, meta), tmp_path / "b")
    assert [p.suffix for p in first] == [".png", ".svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
    svg = first[1].read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in first[0].read_bytes()


def test_gap_evolution_breaks_the_line_at_a_series_break():
    series = pd.DataFrame({"year": [2013, 2015, 2017, 2020, 2022], "gap": [10.2, 11.0, None, 9.1, 8.0],
                           "status": ["ok", "ok", "secret", "ok", "ok"],
                           "series_break": [None, None, None, "géographie 2024", None]})
    fig = gap_evolution_figure(series, "Écart de chômage", "points", "Source : INSEE, RP.")
    lines = [l for l in fig.axes[0].get_lines() if l.get_marker() == "o"]
    assert len(lines) == 2  # one segment before the break, one after: never joined across it
    assert [len(l.get_xdata()) for l in lines] == [3, 2]
    shown = texts(fig)
    assert "Rupture de série : géographie 2024" in shown and "s" in shown
    assert f"+11,0{NARROW_NBSP}pts" in shown
    plt.close(fig)


def progress_frame() -> pd.DataFrame:
    """The shape of the progress table (issue 5), as a small hand-made frame."""
    return pd.DataFrame({
        "contract": ["niort"] * 3, "objective_code": ["O1", "O2", "O3"],
        "indicator_id": ["taux_chomage_rp", "taux_emploi_1564", "part_cmuc"],
        "territory_code": ["QP079001", "QP079002", "QP079003"],
        "baseline_year": [2015] * 3, "baseline_value": [45.3, 40.0, 24.0],
        "latest_year": [2021] * 3, "latest_value": [40.0, 50.0, None],
        "target_year": [2026] * 3, "target_value": [35.3, 45.0, 15.0],
        "share_done": [0.53, 2.0, None], "status": ["on_track", "reached", "no_data"],
    })


def test_progress_chart(demo_tables):
    fig = progress_figure(progress_frame(), demo_tables["indicators"], "Source : tableau d'avancement.")
    bars = [p for p in fig.axes[0].patches if p.get_visible()]
    assert len(bars) == 2  # the objective without a latest value has no bar
    shown = " | ".join(texts(fig))
    assert "cible atteinte" in shown and "en bonne voie" in shown
    # the unmeasured objective: its status in the title, 'nd' where its bar would be, never a zero bar
    assert "O3 · " in shown and ": pas de donnée" in shown and "nd, pas de donnée" not in shown
    assert "nd" in texts(fig)
    assert f"53{NARROW_NBSP}%" in shown
    plt.close(fig)


def test_progress_chart_shows_a_gap_target_in_points(demo_tables):
    gap_target = progress_frame().iloc[:1].assign(unit="points", baseline_value=12.4, latest_value=9.0,
                                                  target_value=7.4, share_done=0.68)
    shown = " | ".join(texts(progress_figure(gap_target, demo_tables["indicators"])))
    assert f"+12,4{NARROW_NBSP}pts" in shown and f"cible 2026 : +7,4{NARROW_NBSP}pts" in shown
    assert f"12,4{NARROW_NBSP}%" not in shown
    plt.close("all")


def test_every_niort_indicator_has_png_and_svg_charts(demo_curated, demo_tables, warehouse):
    chart_dir = demo_curated / "charts"
    for row in demo_tables["gap_portrait"][["indicator_id", "year", "source"]].drop_duplicates().itertuples():
        for suffix in ("png", "svg"):
            assert (chart_dir / f"{row.indicator_id}_{row.year}_{row.source}.{suffix}").stat().st_size > 1000
    published = {i for (i,) in warehouse.execute(
        "SELECT DISTINCT indicator_id FROM observations WHERE territory_level = 'qpv'").fetchall()}
    # The 16 indicators of the Niort tables and 12 more from INSEE's Démographie tables 2019 and 2020.
    assert len(published) == 28 and published == set(demo_tables["gap_portrait"]["indicator_id"])


# --- Occitanie extract (SIG Ville, 2015 geography) -------------------------------------------------

@pytest.fixture(scope="module")
def montpellier() -> pd.DataFrame:
    """Test-side loading of qp.csv (`,` separator, `.` decimals, UTF-8 BOM, blank = missing), until
    the extract's reader lands: values long, one row per QPV and column."""
    if not OCCITANIE.is_dir():
        pytest.skip(f"extrait Occitanie absent : {OCCITANIE}")
    raw = pd.read_csv(OCCITANIE / "qp.csv", sep=",", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    raw = raw[raw["code_qp"].isin(MONTPELLIER_QPV)]
    numeric = [c for c in raw.columns if c not in ("code_qp", "nom_qp", "nom_commune")]
    long = raw.melt(id_vars=["code_qp", "nom_qp"], value_vars=numeric, var_name="variable", value_name="raw")
    long["value"] = pd.to_numeric(long["raw"].where(long["raw"] != ""), errors="raise").round(6)
    long["status"] = long["value"].notna().map({True: "ok", False: "missing"})
    return long.rename(columns={"code_qp": "territory_code", "nom_qp": "name"})


@pytest.fixture(scope="module")
def variable_labels() -> pd.DataFrame:
    meta = pd.read_csv(OCCITANIE / "meta_qp.csv", encoding="utf-8-sig", dtype=str).set_index("colonne")
    unit = ["%" if d.startswith(("Part", "Taux")) else ("€" if "euros" in d else "") for d in meta["description"]]
    return meta.assign(unit=unit)


def test_montpellier_chart_for_every_indicator(montpellier, variable_labels, tmp_path):
    assert sorted(montpellier["territory_code"].unique()) == MONTPELLIER_QPV
    written = []
    for variable, rows in montpellier.groupby("variable", sort=True):
        label = variable_labels.loc[variable]
        fig = qpv_values_figure(rows, label["description"], label["unit"], "Source : SIG Ville, ANCT (géographie 2015).")
        if rows["status"].ne("ok").any():
            assert "nd" in texts(fig)
        written += save_formats(fig, tmp_path / f"montpellier_{variable}", ("png",))
    assert len(written) == montpellier["variable"].nunique() == 41
    assert all(p.stat().st_size > 1000 for p in written)


def test_montpellier_map_hatches_missing_values(montpellier, tmp_path):
    values = montpellier[montpellier["variable"] == "tx_tot_et"]
    communes = gpd.read_file(OCCITANIE / "communes.geojson")
    background = communes[communes["code_commune"] == MONTPELLIER_COMMUNE]
    result = indicator_map(OCCITANIE / "qp.geojson", "code_qp", values, "Part des étrangers (2015)", "%",
                           "Source : SIG Ville.", tmp_path / "carte", background=background)
    missing = sorted(values.loc[values["status"] != "ok", "territory_code"])
    assert missing and result.not_available == missing
    assert result.coloured == sorted(set(MONTPELLIER_QPV) - set(missing))
    assert result.without_contour == []
    assert [p.name for p in result.files] == ["carte.png", "carte.svg"]

    contours = load_contours(OCCITANIE / "qp.geojson", "code_qp")
    fig, _ = indicator_map_figure(contours, values, "t", "%", "c", background)
    hatched = [c for c in fig.axes[0].findobj(PatchCollection) if c.get_hatch() == NOT_AVAILABLE_HATCH]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == len(missing)
    assert sum(t == "nd" for t in texts(fig)) == len(missing)
    plt.close(fig)


def test_map_from_a_contour_file_the_user_supplies(montpellier, tmp_path):
    """Another format, projection and code column name: a GeoPackage in Lambert-93."""
    source = gpd.read_file(OCCITANIE / "qp.geojson")
    own = source.rename(columns={"code_qp": "CODE_QUARTIER"})[["CODE_QUARTIER", "geometry"]].to_crs("EPSG:2154")
    path = tmp_path / "mes_quartiers.gpkg"
    own.to_file(path, driver="GPKG")
    values = montpellier[montpellier["variable"] == "tp60"]
    result = indicator_map(path, "CODE_QUARTIER", values, "Taux de pauvreté", "%", "Source : SIG Ville.",
                           tmp_path / "carte_utilisateur", formats=("png",))
    assert result.coloured == MONTPELLIER_QPV and result.files[0].stat().st_size > 1000
    with pytest.raises(SourceFileError, match="colonne de code « code_qp » absente"):
        load_contours(path, "code_qp")
