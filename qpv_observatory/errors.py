"""Errors that point an analyst at the exact place in a raw file."""

from __future__ import annotations


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
