"""Errors that point an analyst at the exact place in a raw file."""

from __future__ import annotations

import errno
import os
import re


class SourceFileError(ValueError):
    """Bad input: names the file, and where known the line and the column.

    Messages are in French: the analysts who fix the files read them.
    """

    def __init__(self, file: str, message: str, line: int | None = None, column: str | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.reason = message
        where = [f"fichier {file}"]
        if line is not None:
            where.append(f"ligne {line}")
        if column is not None:
            where.append(f"colonne {column}")
        super().__init__(f"{', '.join(where)} : {message}")


# What an analyst reads for the system errors a refresh meets (read-only or full disk...).
SYSTEM_ERRORS_FR = {
    errno.EACCES: "droits insuffisants (dossier en lecture seule ?)",
    errno.EPERM: "opération non permise",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota disque dépassé",
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.ENOTDIR: "un fichier se trouve là où un dossier est attendu",
    errno.EISDIR: "un dossier se trouve là où un fichier est attendu",
}
_ERRNO_MESSAGE = re.compile(r"\[Errno (\d+)\] [^:]*(?:: '(.*)')?")
# The same causes as other libraries word them (DuckDB: "IO Error: Could not write file "x": No space left
# on device").
_WORDED_ERRORS = {"No space left on device": errno.ENOSPC, "Read-only file system": errno.EROFS,
                  "Permission denied": errno.EACCES, "Disk quota exceeded": errno.EDQUOT}
_QUOTED_PATH = re.compile(r"""["']([^"']*/[^"']*)["']""")


def system_error_fr(code: int | None, path: object = None, detail: str = "") -> str:
    """« écriture impossible : disque plein (/chemin) » from an errno and the path it concerns."""
    cause = SYSTEM_ERRORS_FR.get(code, detail or (os.strerror(code) if code else "erreur système"))
    return f"erreur système : {cause}" + (f" ({path})" if path else "")


def system_error_from_message(message: str) -> str | None:
    """The French text for a system error known only by its message (``[Errno 28] No space left on
    device: '/x'``, as Dagster reports a step's exception); None when it is none."""
    match = _ERRNO_MESSAGE.search(message)
    if match:
        return system_error_fr(int(match.group(1)), match.group(2))
    for words, code in _WORDED_ERRORS.items():
        if words in message:
            path = _QUOTED_PATH.search(message)
            return system_error_fr(code, path.group(1) if path else None)
    return None
