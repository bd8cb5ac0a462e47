"""National benchmark: the cost curve of the pipeline from 1/8 of France to France entière.

``python -m benchmarks.run_national [--scales 0.125 0.25 0.5 1] [--workdir DIR] [--keep]``

For each scale: generate the synthetic national dataset (benchmarks/national_data.py, not
timed); run ``qpv-observatory run --without-pictures --all-vintages`` in a subprocess with a
fresh DAGSTER_HOME (full refresh); compute the pipeline's gap table (same rows, same order) with one
plain DuckDB statement on the published Parquet files (the floor, benchmarks/duckdb_floor.py; also
timed without its sort), and check it has as many rows as the published one; add a millésime (its folder and
its catalogue rows) and run ``qpv-observatory run`` again on the same folders, as an analyst
would: the one-millésime refresh, which must compute that millésime only. The machine's speed varies
by tens of percent from one run to the next: that refresh is measured ``--repeats`` times (each repeat
after one raw file of the millésime changed: a comment added to its ``sources.toml``), and its median
is reported, with every measure. Each subprocess is timed (wall clock) and its peak memory measured:
the largest process's peak (``ru_maxrss`` from ``os.wait4``) and the sum over its process tree
sampled in /proc, whichever is larger. The pipeline's join time is the duration of its ``gaps`` steps, read from the Dagster
instance of the run.

Prints a French table and writes it, with every figure, to ``resultats_banc_national.json`` and
``.md`` in the working folder. Standard library and the project's own dependencies only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from importlib import metadata
from pathlib import Path

import numpy as np

from benchmarks.duckdb_floor import table_files
from benchmarks.national_data import add_vintage, describe, generate, sizes_for
from qpv_observatory.formatting import format_fr

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCALES = (0.125, 0.25, 0.5, 1.0)
# The pipeline's join stage: the steps of the gaps asset (one per millésime once partitioned).
JOIN_STEPS = ("gaps",)
# Issue 8's targets at the national scale.
TARGET_FULL_SECONDS, TARGET_FULL_MIB, TARGET_ONE_SECONDS, TARGET_JOIN_RATIO = 60.0, 2048.0, 15.0, 3.0
TARGET_SLOPE = 1.05  # log-log slope of time against observations: 1 is linear; a little noise allowed
RESULTS_NAME = "resultats_banc_national"
SAMPLE_SECONDS = 0.1
SLOWEST_STEPS = 6  # listed under the table: where the time goes
ENVIRONMENT_PREFIX = "QPV_OBSERVATORY_"  # the CLI arguments say where to read and write, not the caller's shell


@dataclass
class Measure:
    seconds: float
    peak_mib: float  # the larger of maxrss_mib and tree_mib
    maxrss_mib: float  # peak of the largest single process (ru_maxrss)
    tree_mib: float  # peak of the sampled sum over the process tree
    returncode: int
    log: str


def _children(pid: int) -> list[int]:
    """Child processes, as Linux lists them per thread (empty where /proc does not say)."""
    found = []
    try:
        for thread in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{thread}/children").read_text().split()]
    except (OSError, ValueError):
        pass
    return found


def _tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (Linux /proc; 0 elsewhere)."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
        stack += _children(pid)
    return total


def measure(command: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
            cores: int | None = None) -> Measure:
    """Run a command to its end; wall time and peak memory of its process tree."""
    peak_tree = 0
    stop = threading.Event()
    pin = (lambda: os.sched_setaffinity(0, range(cores))) if cores else None
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, preexec_fn=pin)

        def sample() -> None:
            nonlocal peak_tree
            while not stop.is_set():
                peak_tree = max(peak_tree, _tree_rss(process.pid))
                stop.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    maxrss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    tree = peak_tree / 2**20
    return Measure(seconds=seconds, peak_mib=max(maxrss, tree), maxrss_mib=maxrss, tree_mib=tree,
                   returncode=process.returncode, log=str(log_path))


def dagster_steps(dagster_home: Path, known_runs: set[str]) -> tuple[dict[str, float], list[str], set[str]]:
    """Seconds per step key, summed over the runs of the instance not in ``known_runs``; the
    partitions those runs materialised; and their run ids."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    steps: dict[str, float] = {}
    partitions: set[str] = set()
    runs: set[str] = set()
    try:
        for record in instance.get_run_records():
            run = record.dagster_run
            if run.run_id in known_runs:
                continue
            runs.add(run.run_id)
            partitions |= {f"{k.removeprefix('dagster/')}={v}" for k, v in run.tags.items()
                           if k.startswith(("dagster/partition", "dagster/asset_partition_range"))}
            for stats in instance.get_run_step_stats(run.run_id):
                if stats.start_time is not None and stats.end_time is not None:
                    steps[stats.step_key] = steps.get(stats.step_key, 0.0) + stats.end_time - stats.start_time
    finally:
        instance.dispose()
    return steps, sorted(partitions), runs


def join_seconds(steps: dict[str, float]) -> float | None:
    found = [seconds for key, seconds in steps.items() if key in JOIN_STEPS]
    return sum(found) if found else None


def count_rows(curated: Path, table: str) -> int:
    import duckdb

    files = [str(p) for p in table_files(curated, table)]
    with duckdb.connect() as con:
        return con.execute("SELECT count(*) FROM read_parquet(?, union_by_name = true)", [files]).fetchone()[0]


def median_index(measures: list[Measure]) -> int:
    """Which of the measures has the median wall time (the lower middle one of an even count)."""
    return sorted(range(len(measures)), key=lambda i: measures[i].seconds)[(len(measures) - 1) // 2]


def _log_tail(path: str, lines: int = 15) -> str:
    return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@dataclass
class ScaleResult:
    scale: float
    communes: int
    epci: int
    qpv_2015: int
    qpv_2024: int
    vintages: list[int]
    generation_seconds: float
    values_written: int  # figures the pipeline should read, as counted by the generator
    observations: int | None = None  # rows of the published observations table
    full: Measure | None = None
    join_seconds: float | None = None
    floor: Measure | None = None
    floor_sql_seconds: float | None = None
    floor_unordered_seconds: float | None = None  # the same statement without its sort
    floor_rows: int | None = None
    gap_rows: int | None = None  # rows of the published gaps table: the floor must give as many
    added_vintage: int | None = None
    one: Measure | None = None  # the median of one_measures (by wall time)
    one_measures: list[Measure] = field(default_factory=list)
    one_partitions: list[str] = field(default_factory=list)
    steps_full: dict[str, float] = field(default_factory=dict)
    steps_one: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def join_ratio(self) -> float | None:
        if self.join_seconds is None or not self.floor_sql_seconds:
            return None
        return self.join_seconds / self.floor_sql_seconds

    @property
    def join_ratio_unordered(self) -> float | None:
        if self.join_seconds is None or not self.floor_unordered_seconds:
            return None
        return self.join_seconds / self.floor_unordered_seconds


def _environment(dagster_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENVIRONMENT_PREFIX)}
    env["DAGSTER_HOME"] = str(dagster_home)
    return env


def run_scale(scale: float, workdir: Path, args: argparse.Namespace, command: Path) -> ScaleResult:
    folder = workdir / f"echelle_{scale:g}"
    shutil.rmtree(folder, ignore_errors=True)
    data, curated, home, logs = folder / "donnees", folder / "publie", folder / "dagster_home", folder / "journaux"
    for path in (home, logs):
        path.mkdir(parents=True)
    (home / "dagster.yaml").touch()
    started = time.perf_counter()
    generation = generate(data, scale, args.vintages, args.indicators, args.seed)
    result = ScaleResult(scale=scale, communes=generation.communes, epci=generation.epci,
                         qpv_2015=generation.qpv_2015, qpv_2024=generation.qpv_2024, vintages=generation.vintages,
                         generation_seconds=time.perf_counter() - started,
                         values_written=generation.total.observations)
    _say(describe(generation, data, result.generation_seconds))
    run = [str(command), "run", "--raw-dir", str(data / "raw"), "--catalogue-dir", str(data / "catalogue"),
           "--curated-dir", str(curated), "--without-pictures"]
    env = _environment(home)
    try:
        result.full = measure(run + ["--all-vintages"], logs / "refresh_complet.log", env, workdir, args.cores)
        if result.full.returncode:
            raise RuntimeError(f"refresh complet en échec (code {result.full.returncode}), fin du journal "
                               f"{result.full.log} :\n{_log_tail(result.full.log)}")
        _say(f"  refresh complet : {result.full.seconds:.1f} s, {result.full.peak_mib:.0f} Mio")
        result.steps_full, _, full_runs = dagster_steps(home, set())
        result.join_seconds = join_seconds(result.steps_full)
        result.observations, result.gap_rows = count_rows(curated, "observations"), count_rows(curated, "gaps")
        if result.observations != result.values_written:
            _say(f"  Attention : {result.observations} observations publiées pour {result.values_written} valeurs écrites")

        result.floor = measure([sys.executable, "-m", "benchmarks.duckdb_floor", str(curated)],
                               logs / "plancher_duckdb.log", None, PROJECT_ROOT, args.cores)
        if result.floor.returncode:
            raise RuntimeError(f"plancher DuckDB en échec, fin du journal {result.floor.log} :\n"
                               f"{_log_tail(result.floor.log)}")
        floor = json.loads(Path(result.floor.log).read_text(encoding="utf-8").splitlines()[-1])
        result.floor_sql_seconds, result.floor_rows = floor["seconds"], floor["rows"]
        result.floor_unordered_seconds = floor["seconds_unordered"]
        if result.floor_rows != result.gap_rows:
            raise RuntimeError(f"le plancher DuckDB donne {result.floor_rows} lignes, la table gaps publiée "
                               f"{result.gap_rows} : ce n'est pas la même jointure")
        _say(f"  plancher DuckDB : {result.floor_sql_seconds:.2f} s ({result.floor_rows} lignes ; sans tri "
             f"{result.floor_unordered_seconds:.2f} s), "
             f"jointure du pipeline : {'nd' if result.join_seconds is None else f'{result.join_seconds:.2f} s'}")

        result.added_vintage = max(add_vintage(data).vintages)
        known_runs, steps_per_measure = set(full_runs), []
        for repeat in range(args.repeats):
            if repeat:  # a corrected file of the millésime: its fingerprint changes, the others' do not
                with open(data / "raw" / str(result.added_vintage) / "sources.toml", "a", encoding="utf-8") as manifest:
                    manifest.write(f"# banc : relance {repeat}\n")
            # The analyst's yearly command: no --vintage, the refresh finds the new millésime by itself.
            one = measure(run, logs / f"refresh_un_millesime_{repeat + 1}.log", env, workdir, args.cores)
            if one.returncode:
                raise RuntimeError(f"refresh du millésime {result.added_vintage} en échec (code {one.returncode}), "
                                   f"fin du journal {one.log} :\n{_log_tail(one.log)}")
            steps, result.one_partitions, runs = dagster_steps(home, known_runs)
            known_runs |= runs
            if result.one_partitions != [f"partition={result.added_vintage}"]:
                raise RuntimeError(f"le refresh du millésime {result.added_vintage} (mesure {repeat + 1}) a recalculé "
                                   f"{', '.join(result.one_partitions) or 'aucun millésime'}, pas ce seul millésime")
            result.one_measures.append(one)
            steps_per_measure.append(steps)
            _say(f"  refresh du millésime {result.added_vintage} (mesure {repeat + 1}) : {one.seconds:.1f} s, "
                 f"{one.peak_mib:.0f} Mio")
        median = median_index(result.one_measures)
        result.one, result.steps_one = result.one_measures[median], steps_per_measure[median]
    except RuntimeError as exc:
        result.error = str(exc)
        _say(f"  Échec : {exc}")
    finally:
        if not args.keep:
            for path in (data, curated, home):
                shutil.rmtree(path, ignore_errors=True)
    return result


# --- Report -------------------------------------------------------------------------------------

def _fr(value: float | None, decimals: int = 1) -> str:
    return "nd" if value is None else format_fr(value, decimals)


def scale_label(scale: float) -> str:
    """1, 1/2, 1/4, 1/8 as fractions of France; other scales as decimals."""
    fraction = Fraction(scale).limit_denominator(64)
    if float(fraction) == scale and fraction.numerator == 1:
        return "1" if fraction.denominator == 1 else f"1/{fraction.denominator}"
    return f"{scale:g}".replace(".", ",")


HEADERS = ["échelle", "QPV (2015 / 2024)", "communes", "observations", "refresh complet (s)", "refresh complet (Mio)",
           "refresh d'un millésime (s)", "refresh d'un millésime (Mio)", "jointure pipeline (s)", "plancher DuckDB (s)",
           "rapport"]


def table_rows(results: list[ScaleResult]) -> list[list[str]]:
    rows = []
    for r in results:
        rows.append([
            scale_label(r.scale), f"{_fr(r.qpv_2015, 0)} / {_fr(r.qpv_2024, 0)}", _fr(r.communes, 0),
            _fr(r.observations, 0), _fr(r.full.seconds if r.full else None), _fr(r.full.peak_mib if r.full else None, 0),
            _fr(r.one.seconds if r.one else None), _fr(r.one.peak_mib if r.one else None, 0),
            _fr(r.join_seconds, 2), _fr(r.floor_sql_seconds, 2), _fr(r.join_ratio),
        ])
    return rows


def linearity(results: list[ScaleResult]) -> dict:
    """Full-refresh seconds per million observations at each scale, and the log-log slope of time
    against observations (1 = linear, below 1 = fixed costs amortised)."""
    done = [r for r in results if r.full and not r.full.returncode and r.observations]
    per_million = {scale_label(r.scale): r.full.seconds / (r.observations / 1e6) for r in done}
    slope = None
    if len(done) >= 2:
        slope = float(np.polyfit(np.log([r.observations for r in done]), np.log([r.full.seconds for r in done]), 1)[0])
    return {"seconds_per_million_observations": per_million, "log_log_slope": slope}


def targets(results: list[ScaleResult], slope: float | None) -> list[tuple[str, str, bool | None]]:
    """Issue 8's targets, checked on the national scale when it was run: (target, measured, reached)."""
    national = next((r for r in results if r.scale == 1.0), None)
    if national is None:
        return []

    def check(measured: float | None, limit: float) -> bool | None:
        return None if measured is None else measured <= limit

    full_s = national.full.seconds if national.full and not national.full.returncode else None
    full_m = national.full.peak_mib if national.full and not national.full.returncode else None
    one_s = national.one.seconds if national.one and not national.one.returncode else None
    return [
        (f"refresh complet < {_fr(TARGET_FULL_SECONDS, 0)} s", f"{_fr(full_s)} s", check(full_s, TARGET_FULL_SECONDS)),
        (f"pic mémoire du refresh complet < {_fr(TARGET_FULL_MIB, 0)} Mio", f"{_fr(full_m, 0)} Mio",
         check(full_m, TARGET_FULL_MIB)),
        (f"refresh d'un millésime < {_fr(TARGET_ONE_SECONDS, 0)} s", f"{_fr(one_s)} s", check(one_s, TARGET_ONE_SECONDS)),
        (f"jointure du pipeline ≤ {_fr(TARGET_JOIN_RATIO, 0)} × plancher DuckDB",
         f"× {_fr(national.join_ratio)} (× {_fr(national.join_ratio_unordered)} face au plancher sans tri)",
         check(national.join_ratio, TARGET_JOIN_RATIO)),
        (f"coût au plus linéaire (pente log-log ≤ {_fr(TARGET_SLOPE, 2)})", _fr(slope, 2), check(slope, TARGET_SLOPE)),
    ]


def _verdict(reached: bool | None) -> str:
    return {True: "atteint", False: "NON atteint", None: "non mesuré"}[reached]


def report_lines(results: list[ScaleResult], command: str, machine: dict, markdown: bool) -> list[str]:
    rows = table_rows(results)
    if markdown:
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(HEADERS, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.append("")
    curve = linearity(results)
    per_million = " ; ".join(f"{_fr(v, 2)} ({k})" for k, v in curve["seconds_per_million_observations"].items())
    lines.append(f"Linéarité du refresh complet (secondes par million d'observations) : {per_million or 'nd'} ; "
                 f"pente log-log du temps selon le nombre d'observations : {_fr(curve['log_log_slope'], 2)} "
                 "(1 : linéaire, moins de 1 : coûts fixes amortis).")
    repeated = " ; ".join(f"{' ; '.join(_fr(m.seconds) for m in r.one_measures)} s ({scale_label(r.scale)})"
                          for r in results if len(r.one_measures) > 1)
    if repeated:
        lines.append("Refresh d'un millésime, chaque mesure (le tableau donne la médiane et son pic de mémoire) : "
                     f"{repeated}.")
    unordered = " ; ".join(f"{_fr(r.floor_unordered_seconds, 2)} s, × {_fr(r.join_ratio_unordered)} ({scale_label(r.scale)})"
                           for r in results if r.floor_unordered_seconds is not None)
    lines.append("Plancher DuckDB : la table des écarts du pipeline (mêmes lignes, même ordre) en une requête ; sans son "
                 f"tri final, et rapport de la jointure du pipeline à ce plancher sans tri : {unordered or 'nd'}.")
    largest = max((r for r in results if r.steps_full), key=lambda r: r.scale, default=None)
    if largest is not None:
        slowest = sorted(largest.steps_full.items(), key=lambda item: -item[1])[:SLOWEST_STEPS]
        lines.append(f"Étapes Dagster les plus longues du refresh complet (échelle {scale_label(largest.scale)}) : "
                     + " ; ".join(f"{key} {_fr(seconds)} s" for key, seconds in slowest) + ".")
    checks = targets(results, curve["log_log_slope"])
    if checks:
        lines += ["", "Objectifs de l'issue 8 à l'échelle nationale :"]
        lines += [f"{'- ' if markdown else '  '}{target} : {measured}, {_verdict(reached)}" for target, measured, reached in checks]
    failures = [r for r in results if r.error]
    if failures:
        lines += ["", "Échecs :"] + [f"{'- ' if markdown else '  '}échelle {scale_label(r.scale)} : "
                                      f"{r.error.splitlines()[0]}" for r in failures]
    lines += ["", f"Commande : `{command}`" if markdown else f"Commande : {command}",
              f"Machine : {machine['cores']} cœur(s){' (mesures limitées à ' + str(machine['cores_used']) + ')' if machine['cores_used'] else ''}, "
              f"{_fr(machine['memory_gib'])} Gio, Python {machine['python']}, "
              + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()) + f" ; {machine['date']}."]
    return lines


def machine_description(cores_used: int | None) -> dict:
    packages = {}
    for name in ("dagster", "duckdb", "pandas", "pyarrow", "great-expectations"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "absent"
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory = float("nan")
    return {"cores": os.cpu_count(), "cores_used": cores_used, "memory_gib": round(memory, 1),
            "python": platform.python_version(), "platform": platform.platform(), "packages": packages,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def write_results(workdir: Path, results: list[ScaleResult], command: str, machine: dict) -> tuple[Path, Path]:
    curve = linearity(results)
    data = {"command": command, "machine": machine,
            "results": [{**asdict(r), "join_ratio": r.join_ratio, "join_ratio_unordered": r.join_ratio_unordered}
                        for r in results],
            "linearity": curve,
            "targets": [{"target": t, "measured": m, "reached": ok} for t, m, ok in targets(results, curve["log_log_slope"])]}
    json_path, md_path = workdir / f"{RESULTS_NAME}.json", workdir / f"{RESULTS_NAME}.md"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text("\n".join(report_lines(results, command, machine, markdown=True)) + "\n", encoding="utf-8")
    return json_path, md_path


def _say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_national",
                                     description="Banc d'essai national : refresh complet, refresh d'un millésime et "
                                                 "plancher DuckDB, de 1/8 de la France à la France entière.")
    parser.add_argument("--scales", type=float, nargs="+", default=list(DEFAULT_SCALES),
                        help="échelles à mesurer (1 = France entière ; par défaut 0.125 0.25 0.5 1)")
    parser.add_argument("--workdir", type=Path, help="dossier de travail et des résultats (par défaut un dossier temporaire)")
    parser.add_argument("--keep", action="store_true", help="garde les données générées, les sorties et l'instance Dagster")
    parser.add_argument("--vintages", type=int, default=10, help="millésimes générés avant celui qui est ajouté (par défaut 10)")
    parser.add_argument("--indicators", type=int, default=150, help="indicateurs du catalogue synthétique (par défaut 150)")
    parser.add_argument("--seed", type=int, default=1, help="graine du jeu synthétique")
    parser.add_argument("--cores", type=int, help="limite les processus mesurés à ce nombre de cœurs (Linux)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="mesures du refresh d'un millésime, dont le tableau donne la médiane (par défaut 3)")
    parser.add_argument("--qpv-observatory", type=Path, dest="command",
                        help="commande qpv-observatory à mesurer (par défaut celle de l'environnement de ce Python)")
    args = parser.parse_args(argv)
    for scale in args.scales:
        try:
            sizes_for(scale)
        except ValueError as exc:
            parser.error(str(exc))
    if args.repeats < 1:
        parser.error("--repeats : au moins une mesure")
    command = args.command or Path(sys.executable).parent / "qpv-observatory"
    if not command.exists():
        print(f"Échec : commande {command} introuvable ; lancer le banc avec le Python du projet "
              "(.venv/bin/python -m benchmarks.run_national)", file=sys.stderr)
        return 1
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="banc-national-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    invoked = "python -m benchmarks.run_national" + (" " + shlex.join(argv if argv is not None else sys.argv[1:]))
    machine = machine_description(args.cores)
    results = []
    for scale in args.scales:
        _say(f"Échelle {scale_label(scale)} :")
        results.append(run_scale(scale, workdir, args, command))
    _say("")
    for line in report_lines(results, invoked.strip(), machine, markdown=False):
        _say(line)
    json_path, md_path = write_results(workdir, results, invoked.strip(), machine)
    _say(f"\nRésultats : {json_path} et {md_path}")
    return 0 if not any(r.error for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
