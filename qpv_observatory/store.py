"""The millésime store: the last good tables of each millésime, as Parquet files under <curated>/store/.

Layout::

    store/millesime=<YYYY>/<table>.parquet     tables of a millésime that passed every blocking check
    store/millesime=<YYYY>/raw_files.parquet   the raw files they were read from (size, SHA-256)
    store/millesime=<YYYY>/fingerprint.json    checksum of their inputs: unchanged inputs, no refresh
    store/.staging/<run id>/millesime=<YYYY>/  what a run writes, promoted only when all its checks passed
    store/series/<table>/<year>.parquet        tables computed over every millésime (gap_series), one file a year
    store/series/<table>.json                  what they were computed from (series.write_gap_series)
    store/series/<table>.latest_points.parquet the latest point of each series, for the next refresh

A run writes into its staging folder; promotion swaps the whole millésime folder with two renames,
so a failed or killed run leaves the last good millésime in place. The publication reads the
store's files straight from DuckDB (``table_files``) rather than concatenating millésimes in pandas.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qpv_observatory.catalogue import MILLESIME_ROW_FILES, millesime_rows
from qpv_observatory.manifest import (FILE_ROLE, MANIFEST_ROLE, REFERENTIAL_ROLE, file_sha256, load_manifest,
                                      raw_file_table)

STORE_DIR = "store"
PARTITION_PREFIX = "millesime="
STAGING_DIR = ".staging"
SERIES_DIR = "series"
FINGERPRINT_FILE = "fingerprint.json"
RAW_FILES_TABLE = "raw_files"
PREVIOUS_PREFIX = "previous-"  # a promoted millésime's former folder, until the swap is done


class IncompleteMillesime(RuntimeError):
    """A promotion asked of a run that did not stage every table of the millésime."""


@dataclass(frozen=True)
class PartitionStore:
    root: Path

    @classmethod
    def in_curated(cls, curated_dir: Path) -> "PartitionStore":
        return cls(curated_dir / STORE_DIR)

    # --- where ---------------------------------------------------------------------------------
    def partition_dir(self, vintage: int) -> Path:
        return self.root / f"{PARTITION_PREFIX}{vintage}"

    def run_dir(self, run_id: str) -> Path:
        return self.root / STAGING_DIR / run_id

    def staged_dir(self, run_id: str, vintage: int) -> Path:
        return self.run_dir(run_id) / f"{PARTITION_PREFIX}{vintage}"

    def series_dir(self, table: str) -> Path:
        return self.root / SERIES_DIR / table

    # --- a run's tables ------------------------------------------------------------------------
    def write_staged(self, run_id: str, vintage: int, table: str, frame: pd.DataFrame) -> Path:
        folder = self.staged_dir(run_id, vintage)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{table}.parquet"
        frame.to_parquet(path, index=False)
        return path

    def read(self, vintage: int, table: str, run_id: str | None = None,
             columns: Sequence[str] | None = None, filters: list | None = None) -> pd.DataFrame:
        """The run's staged table if it wrote one, else the promoted one; ``filters``: pyarrow row filters."""
        path = self.table_path(vintage, table, run_id)
        columns = list(columns) if columns else None
        if filters and _filters_untyped_column(path, filters):
            # A column written with no value has no type, and pyarrow refuses to compare it: no row can match.
            return pd.read_parquet(path, columns=columns).iloc[:0]
        return pd.read_parquet(path, columns=columns, filters=filters)

    def table_path(self, vintage: int, table: str, run_id: str | None = None) -> Path:
        """The file ``read`` reads: the run's staged table if it wrote one, else the promoted one."""
        candidates = ([self.staged_dir(run_id, vintage) / f"{table}.parquet"] if run_id else [])
        candidates.append(self.partition_dir(vintage) / f"{table}.parquet")
        for path in candidates:
            if path.is_file():
                return path
        raise FileNotFoundError(f"table {table} du millésime {vintage} absente du dépôt {self.root} "
                                f"(millésime jamais rafraîchi avec succès)")

    def promote(self, run_id: str, vintage: int, fingerprint: str, raw_files: pd.DataFrame,
                tables: Sequence[str] = ()) -> Path:
        """Make the run's staged tables the millésime's tables, with their raw files and fingerprint.

        ``tables``: those the run must have staged. A run that did not compute them (the promotion
        materialised alone from the Dagster UI, or re-executed after a failure in a new run) would
        otherwise replace the millésime's tables with nothing: it is refused, and the store is left as it was.
        """
        staged = self.staged_dir(run_id, vintage)
        missing = [table for table in tables if not (staged / f"{table}.parquet").is_file()]
        if missing:
            raise IncompleteMillesime(
                f"millésime {vintage} : promotion refusée, l'exécution {run_id} n'a pas calculé "
                f"{', '.join(missing)} ; le dépôt des millésimes reste tel quel. Rafraîchir le "
                f"millésime entier : qpv-observatory run --millesime {vintage}")
        staged.mkdir(parents=True, exist_ok=True)
        raw_files.to_parquet(staged / f"{RAW_FILES_TABLE}.parquet", index=False)
        # Written last: a folder with a fingerprint is complete.
        (staged / FINGERPRINT_FILE).write_text(json.dumps({"vintage": vintage, "fingerprint": fingerprint,
                                                           "promotion": run_id}), encoding="utf-8")
        target = self.partition_dir(vintage)
        previous = self.run_dir(run_id) / f"{PREVIOUS_PREFIX}{vintage}"
        if target.exists():
            os.replace(target, previous)
        os.replace(staged, target)
        shutil.rmtree(previous, ignore_errors=True)
        return target

    def discard_run(self, run_id: str) -> None:
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def recover(self) -> None:
        """After a killed refresh: put back a millésime caught between the two renames, drop staging."""
        staging = self.root / STAGING_DIR
        if not staging.is_dir():
            return
        for previous in sorted(staging.glob(f"*/{PREVIOUS_PREFIX}*")):
            vintage = int(previous.name.removeprefix(PREVIOUS_PREFIX))
            if not self.partition_dir(vintage).exists():
                os.replace(previous, self.partition_dir(vintage))
        for run in staging.iterdir():
            shutil.rmtree(run, ignore_errors=True)

    # --- promoted millésimes -------------------------------------------------------------------
    def _record(self, vintage: int) -> dict:
        path = self.partition_dir(vintage) / FINGERPRINT_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def fingerprint(self, vintage: int) -> str | None:
        return self._record(vintage).get("fingerprint")

    def promotion(self, vintage: int) -> str:
        """The run that promoted the millésime's tables: it changes whenever they are rewritten."""
        return self._record(vintage).get("promotion", "")

    def published_vintages(self, vintages: Iterable[int]) -> list[int]:
        """The given millésimes that have a complete promoted folder."""
        return [v for v in sorted(vintages) if self.fingerprint(v) is not None]

    def table_files(self, table: str, vintages: Iterable[int]) -> list[Path]:
        """Parquet files of one table, one per millésime, for DuckDB's read_parquet."""
        return [self.partition_dir(v) / f"{table}.parquet" for v in sorted(vintages)]

    def read_table(self, table: str, vintages: Iterable[int], columns: Sequence[str] | None = None,
                   filters: list | None = None) -> pd.DataFrame:
        """One table over several millésimes in pandas, for the consumers that need a frame: at national
        scale, ask only for the rows needed (``filters``, pyarrow syntax)."""
        frames = [self.read(v, table, columns=columns, filters=filters) for v in sorted(vintages)]
        frames = [f for f in frames if len(f)] or frames[:1]
        if not frames:
            raise FileNotFoundError(f"aucun millésime publié dans le dépôt {self.root}")
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _filters_untyped_column(path: Path, filters: list) -> bool:
    """Whether a filter (a flat list of (column, op, value)) reads a column of the file stored with the null type."""
    if not all(isinstance(f, tuple) for f in filters):
        return False
    schema = pq.read_schema(path)
    return any(f[0] in schema.names and pa.types.is_null(schema.field(f[0]).type) for f in filters)


def _digest_folder(folder: Path) -> list[tuple[str, str]]:
    return [(str(p.relative_to(folder)), file_sha256(p)) for p in sorted(folder.rglob("*")) if p.is_file()]


def _catalogue_digest(catalogue_dir: Path, vintage: int) -> list[tuple[str, str]]:
    """The catalogue as one millésime reads it: every file whole, except the rows of the other millésimes
    in the files that give one row per millésime (the yearly refresh adds the new millésime's variable
    names there: the published millésimes are not computed again for it)."""
    digest = []
    for name, checksum in _digest_folder(catalogue_dir):
        rows = millesime_rows(catalogue_dir / name, vintage) if name in MILLESIME_ROW_FILES else None
        if rows is not None:
            checksum = hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()
        digest.append((name, checksum))
    return digest


def vintage_raw_files(raw_dir: Path, vintage: int) -> pd.DataFrame:
    """The raw files of one millésime (its sources.toml and the files it names)."""
    table = raw_file_table(raw_dir, load_manifest(raw_dir, [vintage]), roles=(FILE_ROLE, MANIFEST_ROLE))
    return table[table["vintage"].eq(vintage).fillna(False).astype(bool)].reset_index(drop=True)


def vintage_fingerprint(raw_dir: Path, catalogue_dir: Path, expectations_dir: Path, vintage: int) -> str:
    """Checksum of everything a millésime's tables depend on: its raw files, the referentials and the
    top sources.toml, the catalogue (its own rows of the per-millésime files) and the validation suites.
    Paths are relative: a copy of the raw folder elsewhere has the same fingerprint."""
    manifest = load_manifest(raw_dir, [vintage])
    files = raw_file_table(raw_dir, manifest, roles=(FILE_ROLE, MANIFEST_ROLE, REFERENTIAL_ROLE))
    payload = {
        "raw": sorted(zip(files["path"], files["sha256"], files["reader"], files["source"])),
        "catalogue": _catalogue_digest(catalogue_dir, vintage),
        "expectations": _digest_folder(expectations_dir),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
