"""The raw folder's manifests: which reader applies to which raw file, for which source and millésime.

Layout of the raw folder (data/raw/ by default)::

    sources.toml            [[referential]] and [[targets]] blocks, shared by every millésime
    referentiels/, targets/ the files they name
    <YYYY>/sources.toml     one folder per millésime: [[file]] blocks, paths relative to <YYYY>/
    <YYYY>/<source>/...     the files they name

A millésime folder is a direct sub-folder whose name is four digits and that holds a sources.toml.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.perimeter import Perimeter, perimeter_from_manifest

MANIFEST_NAME = "sources.toml"
# Readers of files that mix sources: the catalogue's table gives each variable's source, the
# [[file]] block needs none.
MULTI_SOURCE_READERS = frozenset({"insee_qpv"})
RAW_DISPLAY_ROOT = "data/raw"  # how raw files are named to analysts, wherever the folder really is

# Roles of the raw files in the raw_files table.
REFERENTIAL_ROLE, FILE_ROLE, TARGETS_ROLE, MANIFEST_ROLE = "referential", "file", "targets", "manifest"
RAW_FILE_COLUMNS = ["path", "size_bytes", "sha256", "reader", "source", "vintage", "role"]


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to the raw folder: "referentiels/qpv.csv", "2016/cnaf/cnaf2016.csv"
    reader: str
    source: str = ""
    vintage: int = 0  # millésime: the folder's year for [[file]] blocks
    label: str = ""
    geography: int = 0  # referentials only
    period: str = ""  # quarterly sources: the quarter to read ("2024-T4")
    table: str = ""  # insee_qpv only: the catalogue table, when the header alone cannot tell
    level: str = ""  # files of one geographic level (Filosofi per level): the level of every row

    @property
    def display(self) -> str:
        return display_path(self.path)


@dataclass(frozen=True)
class Manifest:
    referentials: tuple[RawFile, ...]
    files: tuple[RawFile, ...]
    # Contract targets forms (reader: contrats, cibles, remontees_partenaires); optional.
    targets: tuple[RawFile, ...] = ()
    # The sources.toml files read, relative to the raw folder.
    manifests: tuple[str, ...] = ()
    # The observatory's territory ([perimetre] of the shared sources.toml).
    perimeter: Perimeter = Perimeter()


def display_path(relative: str) -> str:
    return f"{RAW_DISPLAY_ROOT}/{relative}"


def discover_vintages(raw_dir: Path) -> tuple[int, ...]:
    """Millésimes of the raw folder, in order: four-digit folders holding a sources.toml."""
    if not raw_dir.is_dir():
        return ()
    return tuple(sorted(int(p.name) for p in raw_dir.iterdir()
                        if p.is_dir() and len(p.name) == 4 and p.name.isdigit() and (p / MANIFEST_NAME).is_file()))


def _read_toml(path: Path, display: str) -> dict:
    if not path.is_file():
        raise SourceFileError(display, "manifeste des fichiers bruts introuvable")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceFileError(display, f"TOML invalide : {exc}") from None


def _entries(content: dict, key: str, required: tuple[str, ...], raw_dir: Path, folder: str,
             display: str) -> list[RawFile]:
    out = []
    for number, entry in enumerate(content.get(key, []), start=1):
        missing = [k for k in required if k not in entry]
        unknown = [k for k in entry if k not in RawFile.__dataclass_fields__]
        if missing or unknown:
            raise SourceFileError(display, f"bloc [[{key}]] n°{number} : clé(s) manquante(s) {missing}, "
                                           f"inconnue(s) {unknown}")
        where = f"bloc [[{key}]] n°{number}"
        _confined(raw_dir, folder, entry["path"], display, where)
        relative = f"{folder}/{entry['path']}" if folder else entry["path"]
        if not (raw_dir / relative).is_file():
            raise SourceFileError(display, f"bloc [[{key}]] n°{number} : fichier {display_path(relative)} introuvable")
        out.append(RawFile(**{**entry, "path": relative}))
    return out


def _confined(raw_dir: Path, folder: str, path: object, display: str, where: str) -> None:
    """A declared path stays inside the raw folder: relative, without '..', and no link leading out
    of it (a file from elsewhere would be published under a data/raw/… provenance). The message names
    the declared path only, never what lies at its target."""
    declared = Path(str(path))
    if not isinstance(path, str) or declared.is_absolute() or ".." in declared.parts or not declared.parts:
        raise SourceFileError(display, f"{where} : chemin {str(path)!r} refusé : un chemin relatif au dossier "
                                       f"{display_path(folder) if folder else RAW_DISPLAY_ROOT}, sans « .. »")
    root = raw_dir.resolve()
    if not (raw_dir / folder / declared).resolve().is_relative_to(root):
        raise SourceFileError(display, f"{where} : {display_path(f'{folder}/{path}' if folder else str(path))} est "
                                       f"un lien qui mène hors de {RAW_DISPLAY_ROOT} : copier le fichier dans le dossier")


def _refuse_blocks(content: dict, keys: tuple[str, ...], display: str, where: str) -> None:
    for key in keys:
        if content.get(key):
            raise SourceFileError(display, f"bloc [[{key}]] interdit ici : {where}")


def _vintage_files(raw_dir: Path, vintage: int) -> list[RawFile]:
    display = display_path(f"{vintage}/{MANIFEST_NAME}")
    content = _read_toml(raw_dir / str(vintage) / MANIFEST_NAME, display)
    _refuse_blocks(content, ("referential", "targets"), display,
                   f"les référentiels et les cibles se déclarent dans {display_path(MANIFEST_NAME)}")
    if not content.get("file"):
        # An empty manifest would publish the millésime with none of its rows.
        raise SourceFileError(display, f"aucun bloc [[file]] : le millésime {vintage} ne déclare aucun fichier ; "
                                       f"pour retirer ce millésime, supprimer le dossier {display_path(str(vintage))}")
    files = []
    for number, entry in enumerate(_entries(content, "file", ("path", "reader", "label"), raw_dir,
                                            str(vintage), display), start=1):
        if not entry.source and entry.reader not in MULTI_SOURCE_READERS:
            raise SourceFileError(display, f"bloc [[file]] n°{number} : clé source manquante (seul le lecteur "
                                           f"{', '.join(sorted(MULTI_SOURCE_READERS))} lit la source de chaque "
                                           "variable dans le catalogue)")
        declared = content["file"][number - 1].get("vintage", vintage)
        if declared != vintage:
            raise SourceFileError(display, f"bloc [[file]] n°{number} : vintage = {declared!r} alors que le dossier "
                                           f"est celui du millésime {vintage} (retirer la clé ou la corriger)")
        files.append(RawFile(**{**entry.__dict__, "vintage": vintage}))
    return files


def load_manifest(raw_dir: Path, vintages: Iterable[int] | None = None) -> Manifest:
    """Referentials and targets of the raw folder, and the files of the given millésimes (default: all)."""
    display = display_path(MANIFEST_NAME)
    content = _read_toml(raw_dir / MANIFEST_NAME, display)
    _refuse_blocks(content, ("file",), display, f"les fichiers d'un millésime se déclarent dans "
                                                f"{display_path('<AAAA>/' + MANIFEST_NAME)}")
    chosen = discover_vintages(raw_dir) if vintages is None else tuple(sorted(vintages))
    files = [f for vintage in chosen for f in _vintage_files(raw_dir, vintage)]
    return Manifest(
        referentials=tuple(_entries(content, "referential", ("path", "reader", "geography"), raw_dir, "", display)),
        files=tuple(files),
        targets=tuple(_entries(content, "targets", ("path", "reader"), raw_dir, "", display)),
        manifests=(MANIFEST_NAME, *(f"{v}/{MANIFEST_NAME}" for v in chosen)),
        perimeter=perimeter_from_manifest(content, display),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_file_table(raw_dir: Path, manifest: Manifest, roles: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per raw file the manifest names (and per sources.toml): size, SHA-256, reader, source, millésime."""
    wanted = set(roles) if roles is not None else {REFERENTIAL_ROLE, FILE_ROLE, TARGETS_ROLE, MANIFEST_ROLE}
    rows = []
    for relative in manifest.manifests:
        vintage = int(relative.split("/")[0]) if "/" in relative else None
        rows.append((relative, "", "", vintage, MANIFEST_ROLE))
    rows += [(e.path, e.reader, "", None, REFERENTIAL_ROLE) for e in manifest.referentials]
    rows += [(e.path, e.reader, e.source, e.vintage, FILE_ROLE) for e in manifest.files]
    rows += [(e.path, e.reader, "", None, TARGETS_ROLE) for e in manifest.targets]
    records = [{"path": display_path(relative), "size_bytes": (raw_dir / relative).stat().st_size,
                "sha256": file_sha256(raw_dir / relative), "reader": reader, "source": source,
                "vintage": vintage, "role": role}
               for relative, reader, source, vintage, role in rows if role in wanted]
    table = pd.DataFrame(records, columns=RAW_FILE_COLUMNS)
    return table.astype({"path": "str", "size_bytes": "int64", "sha256": "str", "reader": "str", "source": "str",
                         "vintage": "Int64", "role": "str"})
