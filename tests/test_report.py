"""The evaluation report: pages, relative links, workbook, headless Chromium, and the notebook."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines.resources import CURATED_DIR_ENV, PROJECT_ROOT
from qpv_observatory.manifest import load_manifest
from qpv_observatory.perimeter import qpv_links_inside
from qpv_observatory.readers.referential import Referential
from qpv_observatory.report import contracts_from_referential, publish_reports
from tests.conftest import DEMO_RAW
from tests.test_charts_maps import progress_frame

CHECK_SCRIPT = """<script>window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
  document.body.setAttribute('data-images', String(document.images.length));
  document.body.setAttribute('data-broken', broken.join('|'));
});</script>"""


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.targets.append(attrs["src"])
        if tag == "a":
            self.targets.append(attrs["href"])


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory):
    tables = {n: warehouse.sql(f"SELECT * FROM {n}").df()
              for n in ("gaps", "gap_portrait", "indicators", "territories", "qpv_links")}
    curated = tmp_path_factory.mktemp("report_curated")
    # The demo's referential also lists the département's two other QPV, outside its territory.
    referential = Referential(tables["territories"], tables["qpv_links"])
    links = qpv_links_inside(load_manifest(DEMO_RAW, vintages=()).perimeter, referential)
    assert len(links) == 3 < len(tables["qpv_links"])
    contracts = contracts_from_referential(links, tables["territories"])
    results = publish_reports(contracts, tables["gap_portrait"], tables["gaps"], tables["indicators"],
                              tables["territories"], curated, progress_frame())
    return curated / "report", results


def test_report_pages_and_relative_links(report):
    root, results = report
    (result,) = results.values()
    names = sorted(p.relative_to(result.index.parent).as_posix() for p in result.pages)
    assert [n for n in names if n.startswith("qpv/")] == ["qpv/QP079001.html", "qpv/QP079002.html", "qpv/QP079003.html"]
    assert len([n for n in names if n.startswith("themes/")]) == 7  # the catalogue's themes
    assert "avancement.html" in names
    for page in [root / "index.html", result.index, *result.pages]:
        collector = LinkCollector()
        collector.feed(page.read_text(encoding="utf-8"))
        assert collector.targets, page
        for target in collector.targets:
            assert not re.match(r"^(/|[a-z]+:)", target), f"{page}: lien non relatif {target}"
            assert (page.parent / target).is_file(), f"{page}: cible absente {target}"
    clou = (result.index.parent / "qpv" / "QP079001.html").read_text(encoding="utf-8")
    assert "Clou Bouchet" in clou and "45,3\u202f%" in clou and "+28,7\u202fpts" in clou


def test_secret_value_reads_s_in_pages_and_empty_in_workbook(report, warehouse):
    _, results = report
    (result,) = results.values()
    not_published = warehouse.sql("SELECT * FROM gap_portrait WHERE qpv_status <> 'ok'").df()
    assert len(not_published)
    book = openpyxl.load_workbook(result.workbook, read_only=True)
    assert book.sheetnames == ["Portrait", "Écarts", "Avancement"]
    rows = list(book["Portrait"].values)
    header = rows[0]
    assert header[:4] == ("Code QPV", "Quartier prioritaire", "Thème", "Indicateur")
    value, status = header.index("Valeur QPV"), header.index("Statut QPV")
    flagged = [r for r in rows[1:] if r[status] != "disponible"]
    assert len(flagged) == len(not_published)
    assert all(r[value] is None for r in flagged)  # never 0
    assert len(rows) - 1 == len(warehouse.sql("SELECT * FROM gap_portrait").df())


def test_pipeline_publishes_the_report(demo_curated):
    index = demo_curated / "report" / "index.html"
    assert "Contrat de ville — CA du Niortais" in index.read_text(encoding="utf-8")
    assert (demo_curated / "report" / "contrat_200041317" / "ecarts_contrat_200041317.xlsx").is_file()
    assert not list(demo_curated.glob(".staging-report-*")) and not list(demo_curated.glob(".previous-report-*"))


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium absent en CI : `make test` doit l'installer (paquet Debian chromium)")
        pytest.skip("Chromium absent : lancer `make test` en root ou `apt-get install chromium`")
    return found


def run_chromium(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,2000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_report_opens_in_headless_chromium_without_broken_image(report, tmp_path):
    browser = chromium()
    root, results = report
    (result,) = results.values()
    pages = [root / "index.html", result.index, *result.pages]
    for page in pages:
        # A copy beside the page, with a script that lists images the browser could not decode.
        probe = page.with_name(f"_probe_{page.name}")
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
        dom = run_chromium(browser, tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()).stdout
        probe.unlink()
        images = int(re.search(r'data-images="(\d+)"', dom).group(1))
        broken = re.search(r'data-broken="([^"]*)"', dom).group(1)
        assert broken == "", f"{page}: images cassées {broken}"
        if page.parent.name in ("qpv", "themes") or page.name == "avancement.html":
            assert images > 0, page
    screenshot = tmp_path / "rapport_QP079001.png"
    run_chromium(browser, tmp_path, f"--screenshot={screenshot}",
                 (result.index.parent / "qpv" / "QP079001.html").as_uri())
    assert screenshot.stat().st_size > 50_000


def test_notebook_queries_the_warehouse_and_redraws_a_chart(demo_curated, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "explorer_observatoire.ipynb", as_version=4)
    monkeypatch.setenv(CURATED_DIR_ENV, str(demo_curated))
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    html = " ".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "Clou Bouchet" in html and "gap_portrait" in html


def test_no_workbook_cell_is_a_formula_whatever_the_labels(warehouse, tmp_path):
    from qpv_observatory.report import gap_workbook

    injected = '=HYPERLINK("http://x","y")'
    portrait = warehouse.sql("SELECT * FROM gap_portrait").df().assign(qpv_name=injected)
    gaps = warehouse.sql("SELECT * FROM gaps").df().assign(qpv_name=injected)
    indicators = warehouse.sql("SELECT * FROM indicators").df().assign(label_fr=injected, theme="+cmd|' /C calc'!A0")
    book = openpyxl.load_workbook(gap_workbook(portrait, gaps, indicators, tmp_path / "classeur.xlsx"))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert sum(cell.value == injected for cell in cells) > 10  # written, as the text it is
