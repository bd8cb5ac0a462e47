"""data/raw/sources.toml: which reader applies to which raw file, for which source and vintage."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from qpv_observatory.errors import SourceFileError

MANIFEST_NAME = "sources.toml"


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to data/raw/
    reader: str
    source: str = ""
    vintage: int = 0
    label: str = ""
    geography: int = 0  # referentials only
    period: str = ""  # quarterly sources: the quarter to read ("2024-T4")


@dataclass(frozen=True)
class Manifest:
    referentials: tuple[RawFile, ...]
    files: tuple[RawFile, ...]
    # Contract targets forms (reader: contrats, cibles, remontees_partenaires); optional.
    targets: tuple[RawFile, ...] = ()

    def files_for(self, source: str) -> tuple[RawFile, ...]:
        return tuple(f for f in self.files if f.source == source)


def load_manifest(raw_dir: Path) -> Manifest:
    display = f"data/raw/{MANIFEST_NAME}"
    path = raw_dir / MANIFEST_NAME
    if not path.exists():
        raise SourceFileError(display, "manifeste des fichiers bruts introuvable")
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceFileError(display, f"TOML invalide : {exc}") from None

    def entries(key: str, required: tuple[str, ...]) -> tuple[RawFile, ...]:
        out = []
        for number, entry in enumerate(content.get(key, []), start=1):
            missing = [k for k in required if k not in entry]
            unknown = [k for k in entry if k not in RawFile.__dataclass_fields__]
            if missing or unknown:
                raise SourceFileError(display, f"bloc [[{key}]] n°{number} : clé(s) manquante(s) {missing}, "
                                               f"inconnue(s) {unknown}")
            if not (raw_dir / entry["path"]).is_file():
                raise SourceFileError(display, f"bloc [[{key}]] n°{number} : fichier data/raw/{entry['path']} introuvable")
            out.append(RawFile(**entry))
        return tuple(out)

    return Manifest(
        referentials=entries("referential", ("path", "reader", "geography")),
        files=entries("file", ("path", "reader", "source", "vintage", "label")),
        targets=entries("targets", ("path", "reader")),
    )
