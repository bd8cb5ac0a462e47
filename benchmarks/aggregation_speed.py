"""Speed of the derived comparison territories and QPV shares on one national millésime.

``python -m benchmarks.aggregation_speed [--scale 1] [--workdir DIR]``

Generates the synthetic national dataset (benchmarks/national_data.py, one millésime), reads its
observations with the pipeline's readers (not timed), then times ``derive_comparison_territories``
and ``qpv_shares`` (wall clock), then their peak traced memory in a second call (tracemalloc:
Python and numpy allocations). Prints one line per function. Issue 8: about a second or two each at scale 1
(1,600 QPV, ~1.15 million observations in a millésime).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from benchmarks.national_data import generate
from qpv_observatory.aggregation import derive_comparison_territories, qpv_shares
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.ingest import read_millesime_observations, read_referentials
from qpv_observatory.manifest import load_manifest


def read_millesime(out_dir: Path):
    raw = out_dir / "raw"
    catalogue = load_catalogue(out_dir / "catalogue")
    referential = read_referentials(raw, load_manifest(raw, vintages=()))
    vintage = max(int(p.name) for p in raw.iterdir() if p.name.isdigit())
    manifest = load_manifest(raw, [vintage])
    observations = read_millesime_observations(raw, manifest, catalogue)
    return observations, referential, catalogue.indicators


def measure(function, *args) -> tuple[float, float, int]:
    """Wall-clock seconds of one call, then its peak traced memory in a second call (tracing slows it)."""
    start = time.perf_counter()
    rows = len(function(*args))
    seconds = time.perf_counter() - start
    tracemalloc.start()
    function(*args)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Temps des territoires dérivés et des parts en QPV sur un millésime.")
    parser.add_argument("--scale", type=float, default=1.0, help="taille relative à la France entière")
    parser.add_argument("--workdir", type=Path, help="dossier de travail (par défaut temporaire, effacé) ; s'il "
                                                     "contient déjà un jeu généré, il est relu tel quel")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qpv_aggregation_"))
    try:
        if not (workdir / "raw").exists():  # else: a dataset generated earlier, read again
            generate(workdir, scale=args.scale, vintages=1)
        start = time.perf_counter()
        observations, referential, indicators = read_millesime(workdir)
        print(f"Échelle {args.scale} : {len(observations):,} observations lues en "
              f"{time.perf_counter() - start:.1f} s (non chronométré)".replace(",", "\u202f"))
        for function in (derive_comparison_territories, qpv_shares):
            seconds, peak, rows = measure(function, observations, referential, indicators)
            print(f"  {function.__name__:<31} {seconds:6.2f} s, pic mémoire tracé {peak:7.1f} Mio, {rows:,} lignes"
                  .replace(",", "\u202f"))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
