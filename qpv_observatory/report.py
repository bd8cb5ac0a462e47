"""Static HTML evaluation report per contract, and an XLSX workbook of its gap tables.

Per contract (the QPV of one EPCI): an index page, a page per QPV (its portrait against the
commune and the EPCI), a page per theme of the catalogue, a progress page when a progress table
is given, PNG/SVG charts and the workbook. Every link and image is relative, so the folder can
be zipped, mailed or put on an intranet as is. Secret values read "s", never 0.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from qpv_observatory.charts import gap_dumbbell_figure, grouped_bar_figure, progress_figure, save_formats
from qpv_observatory.formatting import MARKERS_LEGEND, format_cell, format_gap, source_caption, status_marker
from qpv_observatory.territories import COMMUNE, EPCI, QPV
from qpv_observatory.values import OK, STATUS_LABELS_FR
from qpv_observatory.workbooks import keep_texts_as_text

REPORT_DIR = "report"


@dataclass(frozen=True)
class Contract:
    slug: str  # folder name
    title: str
    qpv_codes: tuple[str, ...]
    epci_code: str


def contracts_from_referential(qpv_links: pd.DataFrame, territories: pd.DataFrame) -> list[Contract]:
    """One contract per EPCI: a contrat de ville covers the QPV of its intercommunality."""
    names = territories.set_index(["territory_code", "territory_level"])["name"]
    contracts = []
    for epci_code, links in qpv_links.groupby("epci_code", sort=True):
        name = names.get((epci_code, EPCI), epci_code)
        contracts.append(Contract(f"contrat_{epci_code}", f"Contrat de ville — {name}",
                                  tuple(sorted(links["qpv_code"].unique())), str(epci_code)))
    return contracts


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


# --- tables a person reads: French headers, markers in place of secret values --------------------

PORTRAIT_HEADERS = {
    "qpv_code": "Code QPV", "qpv_name": "Quartier prioritaire", "theme": "Thème", "label_fr": "Indicateur",
    "unit": "Unité", "year": "Année", "source_label": "Source",
    "qpv_value": "Valeur QPV", "qpv_status": "Statut QPV",
    "commune_code": "Code commune", "commune_value": "Valeur commune", "commune_status": "Statut commune",
    "commune_gap": "Écart à la commune", "commune_ratio": "Rapport à la commune",
    "epci_code": "Code EPCI", "epci_value": "Valeur EPCI", "epci_status": "Statut EPCI",
    "epci_gap": "Écart à l'EPCI", "epci_ratio": "Rapport à l'EPCI",
}
GAP_HEADERS = {
    "qpv_code": "Code QPV", "qpv_name": "Quartier prioritaire", "label_fr": "Indicateur", "year": "Année",
    "source_label": "Source", "comparison_level": "Territoire de comparaison", "comparison_code": "Code",
    "comparison_name": "Nom", "qpv_value": "Valeur QPV", "qpv_status": "Statut QPV",
    "comparison_value": "Valeur du territoire", "comparison_status": "Statut du territoire",
    "gap": "Écart", "gap_unit": "Unité de l'écart", "ratio": "Rapport", "qpv_situation": "Situation du QPV",
}
PROGRESS_HEADERS = {
    "objective_code": "Objectif", "label_fr": "Indicateur", "territory_code": "Territoire",
    "baseline_year": "Année de départ", "baseline_value": "Valeur de départ", "latest_year": "Dernière année",
    "latest_value": "Dernière valeur", "target_year": "Année cible", "target_value": "Cible",
    "share_done": "Part du chemin parcouru", "status": "État",
}
SITUATION_FR = {"unfavourable": "défavorable", "favourable": "favorable", "equal": "égal", "neutral": "sans polarité"}
LEVEL_FR = {QPV: "QPV", COMMUNE: "commune", EPCI: "EPCI"}
STATUS_FR = {**STATUS_LABELS_FR, "absent": "absent de la source"}


def _french_statuses(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in [c for c in out.columns if c.endswith("_status")]:
        out[column] = out[column].map(lambda s: STATUS_FR.get(s, s) if isinstance(s, str) else s)
    return out


def gap_workbook(portrait: pd.DataFrame, gaps: pd.DataFrame, indicators: pd.DataFrame, output: Path,
                 progress: pd.DataFrame | None = None) -> Path:
    """XLSX with French headers: sheets « Portrait », « Écarts » (and « Avancement »). Numbers stay
    numbers; a value that is not published is an empty cell with its status beside it."""
    meta = indicators[["indicator_id", "label_fr", "unit", "theme"]]
    sheets = {
        "Portrait": _french_statuses(portrait.merge(meta, on="indicator_id", how="left"))[list(PORTRAIT_HEADERS)]
        .rename(columns=PORTRAIT_HEADERS),
        "Écarts": _french_statuses(gaps.merge(meta, on="indicator_id", how="left"))
        .assign(comparison_level=lambda f: f["comparison_level"].map(LEVEL_FR),
                qpv_situation=lambda f: f["qpv_situation"].map(SITUATION_FR))[list(GAP_HEADERS)]
        .rename(columns=GAP_HEADERS),
    }
    if progress is not None and len(progress):
        sheets["Avancement"] = (_with_labels(progress, meta.set_index("indicator_id"))
                                [list(PROGRESS_HEADERS)].rename(columns=PROGRESS_HEADERS))
    output.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(output, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            keep_texts_as_text(sheet)
            sheet.freeze_panes = "A2"
            for column in sheet.columns:  # readable widths, header included
                width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    return output


# --- HTML ------------------------------------------------------------------------------------------

_TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.4}
nav{font-size:.9em;margin-bottom:1em} nav a{margin-right:1em}
table{border-collapse:collapse;font-size:.85em;margin:1em 0} th,td{border:1px solid #ccc;padding:.25em .5em}
th{background:#f0f0f0} td.num{text-align:right;white-space:nowrap} td.marker{text-align:right;font-style:italic}
figure{margin:1.5em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{font-size:.8em;color:#555}
.note{font-size:.85em;color:#555}
</style></head><body>
<nav>{% for label, href in nav %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</nav>
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
<p class="note">{{ legend }}</p>
</body></html>""",
    "index.html": """{% extends "base.html" %}{% block content %}
<p>Portrait statistique des quartiers prioritaires du contrat comparés à leur commune et à leur EPCI.</p>
<h2>Quartiers prioritaires</h2><ul>{% for q in qpvs %}<li><a href="{{ q.href }}">{{ q.name }} ({{ q.code }})</a></li>{% endfor %}</ul>
<h2>Thèmes</h2><ul>{% for t in themes %}<li><a href="{{ t.href }}">{{ t.name }}</a></li>{% endfor %}</ul>
{% if progress_href %}<h2>Cibles</h2><ul><li><a href="{{ progress_href }}">Avancement vers les cibles</a></li></ul>{% endif %}
<h2>Tableaux</h2><ul><li><a href="{{ workbook_href }}">Classeur des écarts (XLSX)</a></li></ul>
{% endblock %}""",
    "qpv.html": """{% extends "base.html" %}{% block content %}
<p>Commune : {{ commune }} · EPCI : {{ epci }}</p>
{% for theme in themes %}<h2>{{ theme.name }}</h2>
<table><tr><th>Indicateur</th><th>Année</th><th>QPV</th><th>Commune</th><th>Écart à la commune</th><th>EPCI</th><th>Écart à l'EPCI</th><th>Source</th></tr>
{% for r in theme.rows %}<tr><td>{{ r.label }}</td><td>{{ r.year }}</td>{% for c in r.cells %}<td class="{{ c.css }}">{{ c.text }}</td>{% endfor %}<td>{{ r.source }}</td></tr>{% endfor %}
</table>{% endfor %}
<h2>Graphiques</h2>
{% for f in figures %}<figure><img src="{{ f.png }}" alt="{{ f.alt }}"><figcaption>{{ f.alt }} — <a href="{{ f.svg }}">SVG</a> · <a href="{{ f.png }}">PNG</a></figcaption></figure>{% endfor %}
{% endblock %}""",
    "theme.html": """{% extends "base.html" %}{% block content %}
{% for ind in indicators %}<h2>{{ ind.label }} ({{ ind.year }})</h2><p class="note">{{ ind.definition }}</p>
{% for f in ind.figures %}<figure><img src="{{ f.png }}" alt="{{ f.alt }}"><figcaption>{{ f.alt }} — <a href="{{ f.svg }}">SVG</a> · <a href="{{ f.png }}">PNG</a></figcaption></figure>{% endfor %}
{% endfor %}{% endblock %}""",
    "progress.html": """{% extends "base.html" %}{% block content %}
<figure><img src="{{ figure.png }}" alt="{{ figure.alt }}"><figcaption>{{ figure.alt }} — <a href="{{ figure.svg }}">SVG</a> · <a href="{{ figure.png }}">PNG</a></figcaption></figure>
<table><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endblock %}""",
    "index_all.html": """{% extends "base.html" %}{% block content %}
<ul>{% for c in contracts %}<li><a href="{{ c.href }}">{{ c.title }}</a></li>{% endfor %}</ul>
{% endblock %}""",
}
_ENV = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=True, keep_trailing_newline=True)


def _figure(files: list[Path], page_dir: Path, alt: str) -> dict[str, str]:
    by_suffix = {f.suffix: f for f in files}
    rel = lambda p: Path(os.path.relpath(p, page_dir)).as_posix()  # noqa: E731
    return {"png": rel(by_suffix[".png"]), "svg": rel(by_suffix[".svg"]), "alt": alt}


def _value_cell(value: object, status: object, unit: str) -> dict[str, str]:
    text = format_cell(value, status, unit)
    return {"text": text, "css": "num" if status == OK and pd.notna(value) else "marker"}


def _gap_cell(gap: object, gap_unit: str, qpv_status: object, cmp_status: object) -> dict[str, str]:
    if pd.isna(gap):
        blocking = qpv_status if qpv_status != OK else cmp_status
        return {"text": status_marker(blocking), "css": "marker"}
    return {"text": format_gap(float(gap), gap_unit), "css": "num"}


def _write(page: Path, template: str, **context: object) -> Path:
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(_ENV.get_template(template).render(legend=MARKERS_LEGEND, **context), encoding="utf-8")
    return page


@dataclass(frozen=True)
class ReportResult:
    index: Path
    pages: list[Path]
    charts: list[Path]
    workbook: Path


def build_contract_report(contract: Contract, portrait: pd.DataFrame, gaps: pd.DataFrame,
                          indicators: pd.DataFrame, territories: pd.DataFrame, output_dir: Path,
                          progress: pd.DataFrame | None = None) -> ReportResult:
    """Write the contract's report into ``output_dir`` (created): pages, charts and workbook."""
    portrait = portrait[portrait["qpv_code"].isin(contract.qpv_codes)]
    gaps = gaps[gaps["qpv_code"].isin(contract.qpv_codes)]
    meta = indicators.set_index("indicator_id")
    names = territories.set_index(["territory_code", "territory_level"])["name"]
    chart_dir = output_dir / "graphiques"
    charts: list[Path] = []
    # Charts per indicator, year and source, shared by the QPV and theme pages.
    figures: dict[tuple, list[tuple[list[Path], str]]] = {}
    for key, rows in portrait.groupby(["indicator_id", "year", "source"], sort=True):
        indicator_id, year, source = key
        ind = meta.loc[indicator_id]
        stem = f"{indicator_id}_{year}_{source}"
        bars = save_formats(grouped_bar_figure(rows, ind), chart_dir / f"barres_{stem}")
        figures[key] = [(bars, f"{ind['label_fr']} ({year}) : QPV, commune et EPCI")]
        for level in (COMMUNE, EPCI):
            level_gaps = gaps[(gaps["indicator_id"] == indicator_id) & (gaps["year"] == year)
                              & (gaps["source"] == source) & (gaps["comparison_level"] == level)]
            if (level_gaps["comparison_status"] == OK).any():  # no dumbbell against an absent territory
                files = save_formats(gap_dumbbell_figure(level_gaps, ind, level), chart_dir / f"ecart_{level}_{stem}")
                figures[key].append((files, f"{ind['label_fr']} ({year}) : écart au territoire ({LEVEL_FR[level]})"))
        charts += [f for files, _ in figures[key] for f in files]

    themes = list(dict.fromkeys(meta.loc[sorted(portrait["indicator_id"].unique()), "theme"].sort_values()))
    theme_pages = {theme: output_dir / "themes" / f"{slugify(theme)}.html" for theme in themes}
    qpv_pages = {code: output_dir / "qpv" / f"{code}.html" for code in contract.qpv_codes}
    progress_page = output_dir / "avancement.html" if progress is not None and len(progress) else None
    workbook = output_dir / f"ecarts_{contract.slug}.xlsx"
    index = output_dir / "index.html"

    def nav(page_dir: Path) -> list[tuple[str, str]]:
        rel = lambda p: Path(os.path.relpath(p, page_dir)).as_posix()  # noqa: E731
        links = [("Sommaire", rel(index))] + [(t, rel(p)) for t, p in theme_pages.items()]
        return links + ([("Avancement", rel(progress_page))] if progress_page else [])

    pages = []
    for code, page in qpv_pages.items():
        rows = portrait[portrait["qpv_code"] == code].merge(meta[["label_fr", "unit", "theme"]], left_on="indicator_id",
                                                           right_index=True)
        by_theme = []
        for theme in themes:
            theme_rows = rows[rows["theme"] == theme].sort_values(["label_fr", "year"])
            by_theme.append({"name": theme, "rows": [{
                "label": r.label_fr, "year": r.year, "source": r.source_label,
                "cells": [_value_cell(r.qpv_value, r.qpv_status, r.unit),
                          _value_cell(r.commune_value, r.commune_status, r.unit),
                          _gap_cell(r.commune_gap, "points" if r.unit == "%" else r.unit, r.qpv_status, r.commune_status),
                          _value_cell(r.epci_value, r.epci_status, r.unit),
                          _gap_cell(r.epci_gap, "points" if r.unit == "%" else r.unit, r.qpv_status, r.epci_status)],
            } for r in theme_rows.itertuples()]})
        first = rows.iloc[0] if len(rows) else None
        commune = names.get((first.commune_code, COMMUNE), first.commune_code) if first is not None else "—"
        epci = names.get((contract.epci_code, EPCI), contract.epci_code)
        page_figures = [_figure(files, page.parent, alt) for key in sorted(figures)
                        if key[0] in set(rows["indicator_id"]) for files, alt in figures[key][:1]]
        name = names.get((code, QPV), code)
        pages.append(_write(page, "qpv.html", title=f"{name} ({code})", nav=nav(page.parent), themes=by_theme,
                            commune=commune, epci=epci, figures=page_figures))

    for theme, page in theme_pages.items():
        theme_indicators = []
        for key in sorted(figures):
            ind = meta.loc[key[0]]
            if ind["theme"] != theme:
                continue
            theme_indicators.append({"label": ind["label_fr"], "year": key[1], "definition": ind["definition"],
                                     "figures": [_figure(files, page.parent, alt) for files, alt in figures[key]]})
        pages.append(_write(page, "theme.html", title=f"Thème : {theme}", nav=nav(page.parent),
                            indicators=theme_indicators))

    if progress_page is not None:
        files = save_formats(progress_figure(progress, indicators, "Source : tableau d'avancement du contrat."),
                             chart_dir / "avancement")
        charts += files
        table = _with_labels(progress, meta)
        rows = [[r.objective_code, r.label_fr, r.territory_code, r.baseline_year,
                 format_cell(r.baseline_value, None, r.unit), r.latest_year,
                 format_cell(r.latest_value, getattr(r, "latest_status", None), r.unit), r.target_year,
                 format_cell(r.target_value, None, r.unit),
                 format_cell(None if pd.isna(r.share_done) else r.share_done * 100, None, "%"), r.status]
                for r in table.sort_values(["objective_code", "territory_code"]).itertuples()]
        pages.append(_write(progress_page, "progress.html", title="Avancement vers les cibles",
                            nav=nav(progress_page.parent), headers=list(PROGRESS_HEADERS.values()), rows=rows,
                            figure=_figure(files, progress_page.parent, "Avancement vers les cibles du contrat")))

    gap_workbook(portrait, gaps, indicators, workbook, progress)
    rel = lambda p: Path(os.path.relpath(p, output_dir)).as_posix()  # noqa: E731
    _write(index, "index.html", title=contract.title, nav=nav(output_dir),
           qpvs=[{"code": c, "name": names.get((c, QPV), c), "href": rel(p)} for c, p in qpv_pages.items()],
           themes=[{"name": t, "href": rel(p)} for t, p in theme_pages.items()],
           progress_href=rel(progress_page) if progress_page else None, workbook_href=rel(workbook))
    return ReportResult(index, pages, charts, workbook)


def _with_labels(progress: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """The progress rows with the catalogue's label and unit where the table lacks them: a partner
    scheme is not in the catalogue, its id stands as its label."""
    wanted = [c for c in ("label_fr", "unit") if c not in progress.columns]
    table = progress.merge(meta[wanted], left_on="indicator_id", right_index=True, how="left")
    table["label_fr"] = table["label_fr"].fillna(table["indicator_id"])
    return table


def publish_reports(contracts: list[Contract], portrait: pd.DataFrame, gaps: pd.DataFrame,
                    indicators: pd.DataFrame, territories: pd.DataFrame, release_dir: Path,
                    progress: pd.DataFrame | None = None) -> dict[str, ReportResult]:
    """Build every contract's report under ``release_dir/report/``, the release being prepared
    (qpv_observatory/release.py): it is published with the warehouse, or not at all."""
    target = release_dir / REPORT_DIR
    if target.exists():  # a retried step starts afresh
        shutil.rmtree(target)
    results = {}
    for contract in contracts:
        results[contract.slug] = build_contract_report(contract, portrait, gaps, indicators, territories,
                                                       target / contract.slug, progress)
    _write(target / "index.html", "index_all.html", title="Rapports d'évaluation des contrats de ville",
           nav=[], contracts=[{"title": c.title, "href": f"{c.slug}/index.html"} for c in contracts])
    return results
