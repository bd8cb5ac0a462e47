"""The validation report: one HTML page under data/curated/validation/, rewritten on every refresh.

Each check (and each input file stopped by a reader) leaves a JSON record named after it and, for
a millésime's tables, after the millésime; the page is rebuilt from the records, so a failed
refresh is reported too. ``run_id`` is the refresh (it spans one Dagster run per millésime): a
refresh replaces the records of the millésimes it checks and of the shared steps; a millésime it
did not refresh keeps the records it was published with.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from qpv_observatory.errors import SourceFileError
from qpv_observatory.validation import BLOCKING, SEVERITY_LABELS_FR, WARNING, Finding, ValidationOutcome

REPORT_DIR = "validation"
REPORT_PAGE = "index.html"
RECORDS_DIR = "records"
STATUS_LABELS_FR = {"passed": "réussi", "warning": "avertissements", "failed": "bloquant"}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


def _save(report_dir: Path, run_id: str, name: str, record: dict, millesime: int | None = None,
          render: bool = True) -> Path:
    """Write a check's record; ``render``: rebuild the page now (a refresh rebuilds it once, at its end)."""
    records = report_dir / RECORDS_DIR
    records.mkdir(parents=True, exist_ok=True)
    for old in records.glob("*.json"):
        if _scope(old) != millesime:
            continue
        # A new refresh replaces the previous records of the same scope (a millésime, or the shared
        # inputs and publication): a millésime that was not refreshed keeps the checks it was published with.
        previous = json.loads(old.read_text(encoding="utf-8"))
        if previous.get("run_id") != run_id and previous.get("millesime") == millesime:
            old.unlink(missing_ok=True)
    record = {"run_id": run_id, "name": name, "millesime": millesime,
              "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **record}
    file_name = f"{name}.{millesime}.json" if millesime is not None else f"{name}.json"
    _write_atomic(records / file_name, json.dumps(record, ensure_ascii=False, indent=1))
    page = report_dir / REPORT_PAGE
    return render_report(report_dir) if render else page


def _scope(record_file: Path) -> int | None:
    """The millésime a record file is named after (``<name>.<millésime>.json``), None for the shared steps."""
    suffix = record_file.stem.rpartition(".")[2]
    return int(suffix) if "." in record_file.stem and suffix.isdigit() else None


def record_outcome(report_dir: Path, run_id: str, name: str, asset: str, outcome: ValidationOutcome,
                   millesime: int | None = None, render: bool = True) -> Path:
    status = "failed" if not outcome.passed else ("warning" if outcome.failed_rules else "passed")
    return _save(report_dir, run_id, name, {
        "asset": asset, "suite": outcome.suite, "status": status, "rows": outcome.rows,
        "rules": outcome.evaluated, "status_counts": outcome.status_counts,
        "failed_rules": [{"rule": r, "severity": outcome.failed_severity[r], "rows": n}
                         for r, n in outcome.failed_rules.items()],
        "findings": [{"severity": f.severity, "rule": f.rule, "file": f.file, "row": f.row, "column": f.column,
                      "value": f.value, "message": f.message} for f in outcome.findings],
    }, millesime, render)


def record_input_error(report_dir: Path, run_id: str, asset: str, error: Exception,
                       millesime: int | None = None) -> Path:
    """An input stopped before any suite could run (unreadable file, wrong separator...)."""
    return _save(report_dir, run_id, f"lecture_{asset}", {
        "asset": asset, "suite": "lecture des fichiers bruts", "status": "failed", "rows": 0, "rules": 0,
        "status_counts": {}, "failed_rules": [{"rule": "fichier lisible et conforme au format attendu",
                                               "severity": BLOCKING, "rows": 0}],
        "findings": [{"severity": BLOCKING, "rule": "fichier lisible et conforme au format attendu",
                      "file": getattr(error, "file", None), "row": getattr(error, "line", None),
                      "column": getattr(error, "column", None), "value": None, "message": str(error)}],
    }, millesime)


@contextmanager
def input_errors_reported(report_dir: Path, run_id: str, asset: str, millesime: int | None = None) -> Iterator[None]:
    """Let a reader's SourceFileError stop the run as before, after writing it into the report."""
    try:
        yield
    except SourceFileError as error:
        record_input_error(report_dir, run_id, asset, error, millesime)
        raise


def _anchor(record: dict) -> str:
    return f"{record['name']}-{record['millesime']}" if record.get("millesime") else record["name"]


def render_report(report_dir: Path) -> Path:
    """Rebuild the page from the records (each check's, each input error's)."""
    records = sorted((json.loads(p.read_text(encoding="utf-8")) for p in (report_dir / RECORDS_DIR).glob("*.json")),
                     key=lambda r: ({"failed": 0, "warning": 1, "passed": 2}[r["status"]], r["name"],
                                    r.get("millesime") or 0))
    e = html.escape
    overall = ("failed" if any(r["status"] == "failed" for r in records)
               else "warning" if any(r["status"] == "warning" for r in records) else "passed")
    parts = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Rapport de validation – Observatoire QPV</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}"
        ".failed{color:#a00}.warning{color:#a60}.passed{color:#070}</style></head><body>",
        "<h1>Rapport de validation</h1>",
        f"<p>Dernière exécution {e(max(records, key=lambda r: r['written_at'])['run_id']) if records else ''} — "
        "les contrôles d'un millésime non rafraîchi sont ceux de sa dernière publication — résultat global : "
        f"<strong class='{overall}'>{STATUS_LABELS_FR[overall]}</strong>. Une règle « bloquant » empêche la "
        "publication : l'entrepôt et les fichiers Parquet déjà publiés restent inchangés. Un avertissement est "
        "publié avec les données et doit être examiné.</p>",
        "<table><tr><th>contrôle</th><th>millésime</th><th>asset</th><th>suite</th><th>résultat</th><th>lignes</th><th>règles</th>"
        "<th>valeurs non publiées (statut : nombre)</th></tr>",
    ]
    for r in records:
        counts = ", ".join(f"{k} : {v}" for k, v in r["status_counts"].items() if k != "ok") or "aucune"
        parts.append(f"<tr><td><a href='#{e(_anchor(r))}'>{e(r['name'])}</a></td><td>{r.get('millesime') or ''}</td>"
                     f"<td>{e(r['asset'])}</td>"
                     f"<td>{e(r['suite'])}</td><td class='{r['status']}'>{STATUS_LABELS_FR[r['status']]}</td>"
                     f"<td>{r['rows']}</td><td>{r['rules']}</td><td>{e(counts)}</td></tr>")
    parts.append("</table>")
    for r in records:
        if not r["findings"]:
            continue
        title = f"{r['name']} ({r['millesime']})" if r.get("millesime") else r["name"]
        parts.append(f"<h2 id='{e(_anchor(r))}'>{e(title)} <span class='{r['status']}'>"
                     f"({STATUS_LABELS_FR[r['status']]})</span></h2><ul>")
        for rule in r["failed_rules"]:
            rows = f" — {rule['rows']} ligne(s)" if rule["rows"] else ""
            parts.append(f"<li>[{SEVERITY_LABELS_FR[rule['severity']]}] {e(rule['rule'])}{rows}</li>")
        parts.append("</ul><table><tr><th>gravité</th><th>fichier</th><th>ligne</th><th>colonne</th><th>règle</th>"
                     "<th>valeur</th></tr>")
        for f in r["findings"]:
            parts.append(f"<tr class='{'failed' if f['severity'] == BLOCKING else 'warning'}'>"
                         f"<td>{SEVERITY_LABELS_FR[f['severity']]}</td><td>{e(f['file'] or '')}</td>"
                         f"<td>{'' if f['row'] is None else f['row']}</td><td>{e(f['column'] or '')}</td>"
                         f"<td>{e(f['message'] if r['suite'] == 'lecture des fichiers bruts' else f['rule'])}</td>"
                         f"<td>{e(f['value'] or '')}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    page = report_dir / REPORT_PAGE
    _write_atomic(page, "\n".join(parts))
    return page


PERIMETER_RULE = ("lignes écartées : hors du périmètre de l'observatoire ([perimetre] de data/raw/sources.toml) "
                  "ou communes absentes du COG du référentiel")


def perimeter_outcome(summary: dict[str, str], rows_left_out: int) -> ValidationOutcome:
    """What the perimeter left out of a millésime's files, as a warning of the validation report
    (one finding per file: « hors périmètre : 1 342 QPV ; communes absentes du COG… : 2 (01015, 01080) »)."""
    findings = [Finding(rule=PERIMETER_RULE, expectation="perimetre", severity=WARNING, column=None, file=file,
                        row=None, value=text) for file, text in summary.items()]
    return ValidationOutcome(suite="perimetre", rows=rows_left_out, evaluated=1,
                             failed_rules={PERIMETER_RULE: rows_left_out}, failed_severity={PERIMETER_RULE: WARNING},
                             findings=findings)
