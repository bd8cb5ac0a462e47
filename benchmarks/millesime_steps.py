"""Per-step timing of one millésime's run, on the pure functions (no Dagster): readers, combination,
validation suites, gaps, portrait and the store's Parquet round trip.

``python -m benchmarks.millesime_steps RAW_DIR CATALOGUE_DIR [--vintage YYYY | --every-vintage] [--aggregation]``

The derived comparison territories (aggregation.py) are timed only with ``--aggregation``;
without it the gaps are computed from the source territories alone. Prints one line per step
(seconds), the part of the validation steps spent inside great-expectations, and the process's
peak memory. ``--every-vintage`` runs the steps for each millésime in turn and prints their totals:
what the computations of a full refresh cost without Dagster, fixed costs or the cross-millésime
tables, a lower bound for the full refresh. ``--snapshot FILE`` also pickles every step's output,
so that a change can be checked to leave them exactly as they were (``--compare FILE``).
"""

from __future__ import annotations

import argparse
import pickle
import resource
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from assets.checks import SOURCE_SUITE, observation_parameters
from pipelines.resources import PROJECT_ROOT
from qpv_observatory import validation
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.gaps import compute_gaps, gap_portrait
from qpv_observatory.commune_context import attribute_commune_context
from qpv_observatory.ingest import read_millesime_observations, read_referentials
from qpv_observatory.perimeter import within_perimeter
from qpv_observatory.manifest import discover_vintages, load_manifest
from qpv_observatory.store import PartitionStore
from qpv_observatory.validation import (CHANGE_COLUMNS, known_territory_codes, load_plausible_ranges, validate_frame,
                                        validate_observations)

EXPECTATIONS = PROJECT_ROOT / "expectations"


def outcome_record(outcome) -> dict:
    """A validation outcome as plain data, for comparison."""
    return {"suite": outcome.suite, "rows": outcome.rows, "evaluated": outcome.evaluated,
            "failed_rules": outcome.failed_rules, "failed_severity": outcome.failed_severity,
            "findings": [asdict(f) for f in outcome.findings], "status_counts": outcome.status_counts}


INSIDE_GX = "dont great-expectations"  # time spent in great-expectations' validation, within the suite steps


@contextmanager
def suites_timed(timings: dict[str, float]):
    """Adds to ``timings[INSIDE_GX]`` the time of every suite run by great-expectations within the block."""
    run_suite = validation._run_suite

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return run_suite(*args, **kwargs)
        finally:
            timings[INSIDE_GX] = timings.get(INSIDE_GX, 0.0) + time.perf_counter() - start

    validation._run_suite = timed
    try:
        yield
    finally:
        validation._run_suite = run_suite


def run_steps(raw_dir: Path, catalogue_dir: Path, vintage: int, aggregation: bool,
              derived: pd.DataFrame | None = None) -> tuple[dict, dict]:
    timings: dict[str, float] = {}
    with suites_timed(timings):
        outputs = _run_steps(raw_dir, catalogue_dir, vintage, aggregation, derived, timings)
    inside = timings.pop(INSIDE_GX, 0.0)
    timings["total"] = sum(timings.values())
    timings[INSIDE_GX] = inside
    return timings, outputs


def _run_steps(raw_dir: Path, catalogue_dir: Path, vintage: int, aggregation: bool,
               derived: pd.DataFrame | None, timings: dict[str, float]) -> dict:
    """The outputs of each step; the time of each step is added to ``timings``."""
    outputs: dict[str, object] = {}

    @contextmanager
    def step(name: str):
        start = time.perf_counter()
        yield
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start

    catalogue = load_catalogue(catalogue_dir)
    referential = read_referentials(raw_dir, load_manifest(raw_dir, vintages=()))
    ranges = load_plausible_ranges(catalogue_dir)
    manifest = load_manifest(raw_dir, [vintage])
    # The observations suite measures changes from the previous millésime (read here, not timed).
    previous = [v for v in discover_vintages(raw_dir) if v < vintage][-1:]
    earlier = (read_millesime_observations(raw_dir, load_manifest(raw_dir, previous), catalogue)[CHANGE_COLUMNS]
               if previous else None)
    with step("read_millesime_observations"):
        observations = read_millesime_observations(raw_dir, manifest, catalogue)
        observations, _ = within_perimeter(observations, manifest.perimeter, referential)
        observations = attribute_commune_context(observations, referential)
    outputs["observations"] = observations
    for source in sorted(observations["source"].unique()):
        with step("source_suites"):
            outputs[f"suite_{source}"] = outcome_record(validate_observations(
                observations[observations["source"] == source], EXPECTATIONS / SOURCE_SUITE,
                observation_parameters(catalogue, source), referential, catalogue.indicators, ranges))
    with step("observations_suite"):
        outputs["observations_suite"] = outcome_record(validate_observations(
            observations, EXPECTATIONS / "curated" / "observations.json", observation_parameters(catalogue),
            referential, catalogue.indicators, ranges, earlier=earlier))
    if derived is None and aggregation:
        from qpv_observatory.aggregation import derive_comparison_territories
        with step("derive_comparison_territories"):
            derived = derive_comparison_territories(observations, referential, catalogue.indicators)
    outputs["derived"] = derived
    with step("compute_gaps"):
        gaps = compute_gaps(observations, referential, catalogue.indicators, derived)
    outputs["gaps"] = gaps
    with step("gaps_suite"):
        outputs["gaps_suite"] = outcome_record(validate_frame(gaps, EXPECTATIONS / "curated" / "gaps.json",
            {"known_territory_codes": known_territory_codes(referential, gaps["qpv_code"].unique())}))
    with step("gap_portrait"):
        portrait = gap_portrait(gaps)
    outputs["gap_portrait"] = portrait
    with step("gap_portrait_suite"):
        outputs["gap_portrait_suite"] = outcome_record(
            validate_frame(portrait, EXPECTATIONS / "curated" / "gap_portrait.json"))
    with tempfile.TemporaryDirectory() as folder, step("store_round_trip"):
        store = PartitionStore(Path(folder))
        tables = {"observations": observations, "gaps": gaps, "gap_portrait": portrait}
        for table, data in tables.items():
            store.write_staged("run", vintage, table, data)
            store.read(vintage, table, run_id="run")
    outputs["timings_rows"] = {"observations": len(observations), "gaps": len(gaps)}
    return outputs


def compare(before: dict, after: dict) -> list[str]:
    """Names of the outputs that differ (frames compared exactly: values, dtypes, row order)."""
    differ = []
    for name, expected in before.items():
        got = after.get(name)
        if isinstance(expected, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(got, expected, check_exact=True)
            except AssertionError as exc:
                differ.append(f"{name}: {str(exc).splitlines()[:4]}")
        elif got != expected:
            differ.append(name)
    return differ


def print_timings(timings: dict[str, float]) -> None:
    for name, seconds in timings.items():
        print(f"  {name:32s} {seconds:8.2f} s")


def every_vintage(raw_dir: Path, catalogue_dir: Path, aggregation: bool) -> None:
    """The steps of each millésime in turn, one line each, then the totals over the millésimes."""
    totals: dict[str, float] = {}
    for vintage in discover_vintages(raw_dir):
        timings, outputs = run_steps(raw_dir, catalogue_dir, vintage, aggregation)
        del outputs  # a millésime's tables are not kept while the next one is computed
        print(f"millésime {vintage} : {timings['total']:.2f} s, dont great-expectations {timings[INSIDE_GX]:.2f} s",
              flush=True)
        for name, seconds in timings.items():
            totals[name] = totals.get(name, 0.0) + seconds
    print("total des millésimes :")
    print_timings(totals)
    print(f"  pic mémoire (ru_maxrss)          {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} Mio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("catalogue_dir", type=Path)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--vintage", type=int, help="millésime (par défaut le dernier)")
    which.add_argument("--every-vintage", action="store_true", help="chaque millésime tour à tour, puis les totaux")
    parser.add_argument("--aggregation", action="store_true", help="mesure aussi les territoires dérivés")
    parser.add_argument("--snapshot", type=Path, help="enregistre les sorties de chaque étape (pickle)")
    parser.add_argument("--compare", type=Path, help="compare les sorties à un instantané")
    args = parser.parse_args()
    if args.every_vintage:
        if args.snapshot or args.compare:
            parser.error("--snapshot et --compare portent sur un seul millésime")
        every_vintage(args.raw_dir, args.catalogue_dir, args.aggregation)
        return
    vintage = args.vintage or discover_vintages(args.raw_dir)[-1]
    before = pickle.loads(args.compare.read_bytes()) if args.compare else {}
    # The derived territories of the snapshot are reused: aggregation.py is timed on its own.
    timings, outputs = run_steps(args.raw_dir, args.catalogue_dir, vintage, args.aggregation, before.get("derived"))
    print(f"millésime {vintage} : {outputs['timings_rows']['observations']} observations, "
          f"{outputs['timings_rows']['gaps']} écarts")
    print_timings(timings)
    print(f"  pic mémoire (ru_maxrss)          {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} Mio")
    if args.snapshot:  # derived territories included, so that a comparison can reuse them
        args.snapshot.write_bytes(pickle.dumps(outputs))
    if args.compare:
        differ = compare(before, outputs)
        print("sorties identiques à l'instantané" if not differ else "SORTIES DIFFÉRENTES :\n" + "\n".join(differ))


if __name__ == "__main__":
    main()
