"""Set-level publication: every refresh publishes a complete release, swapped in as one.

    data/curated/
      current -> releases/<id>            the published state: one symlink, replaced atomically
      releases/<id>/                      a complete, never-modified set: DuckDB, Parquet, charts, report
      releases/.staging-<run id>/         the release a refresh is writing (never read by evaluators)
      releases/.staging-ahead/            the published database, copied while the millésimes are computed
      observatoire_qpv.duckdb -> current/observatoire_qpv.duckdb    stable entry points
      parquet -> current/parquet, charts -> current/charts, report -> current/report
                                          (charts and report: when the release has them)

A refresh writes everything into its staging folder; only when every blocking check has passed
is the folder renamed into ``releases/`` and ``current`` switched to it with one ``os.replace``
(atomic on POSIX). A reader opening ``observatoire_qpv.duckdb`` resolves the links at open time
and gets either the old file or the new one, each complete; files of a release are never
rewritten. A refresh killed midway leaves a staging folder, or a release it never switched to:
both removed by the next refresh.
The superseded releases are kept a little while (KEEP_RELEASES) so that a reader who resolved
the old link just before the switch can still open it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

CURRENT = "current"
RELEASES = "releases"
STAGING_PREFIX = ".staging-"
LOCK_NAME = ".refresh.lock"
KEEP_RELEASES = 3
# Entry points evaluators use; they point through ``current`` and never change themselves.
ENTRY_POINTS = ("observatoire_qpv.duckdb", "parquet", "charts", "report")


class RefreshInProgress(RuntimeError):
    """Another refresh holds the lock on this curated folder."""


def _safe_run_id(run_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", run_id):
        raise ValueError(f"run id {run_id!r} cannot name a folder")
    return run_id


def staging_dir(curated_dir: Path, run_id: str) -> Path:
    """The folder where this run writes its release; created on first use, shared by the run's assets."""
    path = curated_dir / RELEASES / f"{STAGING_PREFIX}{_safe_run_id(run_id)}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def current_release(curated_dir: Path) -> Path | None:
    link = curated_dir / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def _fsync_tree(folder: Path) -> None:
    """Data on disk before the switch, so that a crash after it never shows a truncated file."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _ensure_entry_points(curated_dir: Path, release: Path) -> None:
    """One link per entry point the release holds. A release published without pictures has no charts
    nor report: their links are removed rather than left leading nowhere."""
    for name in ENTRY_POINTS:
        entry = curated_dir / name
        target = Path(CURRENT) / name
        if not (release / name).exists():
            if entry.is_symlink():
                entry.unlink()
            continue
        if entry.is_symlink() and Path(os.readlink(entry)) == target:
            continue
        if entry.exists() and not entry.is_symlink() and entry.is_dir():
            # A folder published by an older version of the observatory: set aside, then removed.
            aside = curated_dir / RELEASES / f"{STAGING_PREFIX}legacy-{name}"
            shutil.rmtree(aside, ignore_errors=True)
            os.replace(entry, aside)
            shutil.rmtree(aside, ignore_errors=True)
        temporary = curated_dir / f".{name}.link"
        temporary.unlink(missing_ok=True)
        os.symlink(target, temporary)
        os.replace(temporary, entry)  # replaces a file or an old link in one step


def commit_release(curated_dir: Path, run_id: str, required: tuple[str, ...] = ()) -> Path:
    """Turn the run's staging folder into the published release, in one atomic switch.

    ``required``: entries the staging folder must hold (the warehouse...), else nothing changes.
    """
    staging = curated_dir / RELEASES / f"{STAGING_PREFIX}{_safe_run_id(run_id)}"
    missing = [name for name in required if not (staging / name).exists()]
    if not staging.is_dir() or missing:
        raise RuntimeError(f"publication incomplète : {missing or 'dossier de préparation absent'} "
                           f"dans {staging} ; la version publiée reste en place")
    _fsync_tree(staging)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    release = curated_dir / RELEASES / f"{stamp}-{run_id[:8]}"
    os.rename(staging, release)
    _fsync_dir(release.parent)
    temporary = curated_dir / f".{CURRENT}.{run_id}"
    temporary.unlink(missing_ok=True)
    os.symlink(Path(RELEASES) / release.name, temporary)
    os.replace(temporary, curated_dir / CURRENT)  # the switch: readers see the old set or the new one
    _fsync_dir(curated_dir)
    _ensure_entry_points(curated_dir, release)
    prune_releases(curated_dir, keep=KEEP_RELEASES)
    return release


def prune_releases(curated_dir: Path, keep: int = KEEP_RELEASES) -> list[Path]:
    """Remove releases older than the ``keep`` newest (never the current one)."""
    folder = curated_dir / RELEASES
    if not folder.is_dir():
        return []
    current = current_release(curated_dir)
    releases = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    removed = [p for p in releases[:-keep] if p.resolve() != current] if keep else []
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def remove_abandoned_staging(curated_dir: Path, keep_run_id: str | None = None) -> list[Path]:
    """Staging folders left by refreshes that were killed or failed, and orphan releases: renamed into
    releases/ by a refresh killed before it switched ``current`` to them, so never published (newer
    than the current release, or any release when none is current). Call under the refresh lock."""
    folder = curated_dir / RELEASES
    if not folder.is_dir():
        return []
    keep = f"{STAGING_PREFIX}{keep_run_id}" if keep_run_id else None
    current = current_release(curated_dir)
    removed = [p for p in folder.iterdir()
               if (p.name.startswith(STAGING_PREFIX) and p.name != keep)
               or (not p.name.startswith(".") and p.is_dir() and (current is None or p.name > current.name))]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


# A file of the published release copied while the millésimes are computed (see copy_ahead).
AHEAD_DIR = f"{STAGING_PREFIX}ahead"


def _identity(path: Path) -> dict:
    status = path.stat()
    return {"path": str(path.resolve()), "size": status.st_size, "mtime_ns": status.st_mtime_ns, "inode": status.st_ino}


def copy_ahead(curated_dir: Path, name: str) -> threading.Thread | None:
    """Start copying the published release's file ``name`` into releases/.staging-ahead/, in a background
    thread (the copy is done by the kernel and leaves the other core to the refresh). The publication then
    starts from this copy instead of copying the file itself (``copy_made_ahead``). None: nothing to copy."""
    current = current_release(curated_dir)
    source = current / name if current else None
    if source is None or not source.is_file():
        return None
    folder = curated_dir / RELEASES / AHEAD_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / f"{name}.source.json").write_text(json.dumps(_identity(source)), encoding="utf-8")

    def copy() -> None:
        partial = folder / f"{name}.part"
        shutil.copyfile(source, partial)
        os.replace(partial, folder / name)  # only a complete copy bears the name

    thread = threading.Thread(target=copy, name=f"copie-{name}", daemon=True)
    thread.start()
    return thread


def copy_made_ahead(curated_dir: Path, source: Path) -> Path | None:
    """The complete copy of ``source`` made by copy_ahead, if there is one of that very file (same path,
    size, date and inode), else None."""
    folder = curated_dir / RELEASES / AHEAD_DIR
    copy, identity = folder / source.name, folder / f"{source.name}.source.json"
    if not (copy.is_file() and identity.is_file() and source.is_file()):
        return None
    return copy if json.loads(identity.read_text(encoding="utf-8")) == _identity(source) else None


def discard_copies_ahead(curated_dir: Path) -> None:
    shutil.rmtree(curated_dir / RELEASES / AHEAD_DIR, ignore_errors=True)


@contextmanager
def refresh_lock(curated_dir: Path) -> Iterator[None]:
    """One refresh at a time per curated folder; the lock goes with the process if it is killed."""
    curated_dir.mkdir(parents=True, exist_ok=True)
    with open(curated_dir / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshInProgress(f"une mise à jour de {curated_dir} est déjà en cours") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
