"""Delimited text as published by INSEE, CAF or ANCT: ';' separator, UTF-8 (with or without BOM)
or Windows-1252. Every cell is kept as text; each row carries its line number in the file."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError

LINE_COLUMN = "source_row"


def decode_text(data: bytes, display_name: str) -> str:
    """UTF-8 with BOM, UTF-8, then Windows-1252: the encodings French public files come in."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, len(codecs.BOM_UTF8) + exc.start) + 1
            raise SourceFileError(display_name, f"encodage incohérent : marque UTF-8 (BOM) présente mais contenu "
                                                f"non UTF-8 (octet {data[len(codecs.BOM_UTF8) + exc.start]:#04x}), "
                                                "Windows-1252 probable", line=line) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise SourceFileError(display_name, "encodage non reconnu : UTF-8 ou Windows-1252 attendu "
                                            f"(octet {data[exc.start]:#04x} en position {exc.start})") from None


def read_delimited(path: Path, display_name: str, required_columns: tuple[str, ...], sep: str = ";") -> pd.DataFrame:
    """Read a delimited file into a frame of strings, refusing anything ragged or incomplete."""
    text = decode_text(path.read_bytes(), display_name)
    if not text.strip():
        raise SourceFileError(display_name, "fichier vide")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = [name.strip() for name in next(reader)]
    if len(header) == 1:
        other = next((s for s in (",", "\t", "|") if s in header[0]), None)
        found = f", le séparateur semble être « {other} »" if other else ""
        raise SourceFileError(display_name, f"séparateur « {sep} » attendu{found}", line=1)
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise SourceFileError(display_name, f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)} "
                                            f"(colonnes trouvées : {', '.join(header)})", line=1)
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise SourceFileError(display_name, f"colonne(s) en double : {', '.join(duplicated)}", line=1)
    records, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank line, e.g. at the end of the file
        if len(row) != len(header):
            raise SourceFileError(display_name, f"{len(row)} champ(s) au lieu de {len(header)} : "
                                                "ligne tronquée ou séparateur dans une valeur", line=reader.line_num)
        records.append(row)
        lines.append(reader.line_num)
    if not records:
        raise SourceFileError(display_name, "aucune ligne de données après l'en-tête")
    frame = pd.DataFrame(records, columns=header, dtype=str)
    frame[LINE_COLUMN] = lines
    return frame
