"""Where the observatory reads and writes: configurable so tests can publish to a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ObservatoryPaths(dg.ConfigurableResource):
    """Raw files, catalogue and curated outputs. Empty strings mean the project's own folders."""

    raw_dir: str = ""
    catalogue_dir: str = ""
    curated_dir: str = ""

    def _resolve(self, configured: str, default: str) -> Path:
        return Path(configured) if configured else PROJECT_ROOT / default

    @property
    def raw(self) -> Path:
        return self._resolve(self.raw_dir, "data/raw")

    @property
    def catalogue(self) -> Path:
        return self._resolve(self.catalogue_dir, "data/catalogue")

    @property
    def curated(self) -> Path:
        return self._resolve(self.curated_dir, "data/curated")

    @property
    def expectations(self) -> Path:
        """great-expectations suites (JSON), versioned with the code."""
        return PROJECT_ROOT / "expectations"

    @property
    def validation_report(self) -> Path:
        return self.curated / "validation"


RAW_DIR_ENV = "QPV_OBSERVATORY_RAW_DIR"
CURATED_DIR_ENV = "QPV_OBSERVATORY_CURATED_DIR"


def default_paths() -> ObservatoryPaths:
    """The project's folders, unless the environment names others (``qpv-observatory run --raw-dir``)."""
    return ObservatoryPaths(raw_dir=os.environ.get(RAW_DIR_ENV, ""), curated_dir=os.environ.get(CURATED_DIR_ENV, ""))
