"""France Travail / Dares job-seeker counts by commune: one row per quarter, commune and category.

``Date`` is a quarter as published (``2024-T4``); ``Total`` rows are aggregates of the rows above
and are skipped, never read as a territory. Counts are rounded by the source and kept as published.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import conform, text_array
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.territories import COMMUNE, is_valid_code, normalise_code
from qpv_observatory.values import CellParseError, parse_cells

DEFM_COLUMNS = ("Date", "Code_commune", "Libelle_commune", "Categorie", "Nombre")
QUARTER_RE = re.compile(r"^(\d{4})-T([1-4])$")
TOTAL = "total"


def read_defm_communes(path: Path, display_name: str, source: str, vintage: int, source_label: str,
                       variables: dict[str, str], period: str = "") -> pd.DataFrame:
    """Counts of the quarter ``period`` (or the file's only quarter of ``vintage``) for the catalogued categories."""
    raw = read_delimited(path, display_name, DEFM_COLUMNS)
    raw = raw[~raw["Code_commune"].str.strip().str.lower().eq(TOTAL)
              & ~raw["Libelle_commune"].str.strip().str.lower().eq(TOTAL)]
    date_codes, dates = pd.factorize(raw["Date"])  # each distinct date checked once, the first bad row named
    bad = np.array([not QUARTER_RE.match(date.strip()) for date in dates] + [False])[date_codes]
    if bad.any():
        first = int(np.argmax(bad))
        raise SourceFileError(display_name, f"trimestre {raw['Date'].iloc[first]!r} : format AAAA-TN attendu "
                                            "(ex. 2024-T4)", line=int(raw[LINE_COLUMN].iloc[first]), column="Date")
    raw = raw.assign(Date=raw["Date"].str.strip())
    quarters = sorted(q for q in raw["Date"].unique() if q.startswith(f"{vintage}-"))
    if period:
        if period not in quarters:
            raise SourceFileError(display_name, f"trimestre {period} absent ; trimestres {vintage} du fichier : "
                                                f"{', '.join(quarters) or 'aucun'}")
    elif len(quarters) == 1:
        period = quarters[0]
    else:
        raise SourceFileError(display_name, f"{len(quarters)} trimestres {vintage} dans le fichier "
                                            f"({', '.join(quarters) or 'aucun'}) : indiquer lequel lire "
                                            "avec « period » dans data/raw/sources.toml")
    rows = raw[(raw["Date"] == period) & raw["Categorie"].str.strip().isin(variables)]
    if rows.empty:
        raise SourceFileError(display_name, f"aucune catégorie connue pour {period} ; attendu au moins une de : "
                                            f"{', '.join(sorted(variables))}", column="Categorie")
    lines = rows[LINE_COLUMN].to_numpy(dtype="int64")
    code_cells = rows["Code_commune"]
    codes = code_cells.map({cell: normalise_code(cell) for cell in code_cells.unique()}).to_numpy(dtype=object)
    checked = {code: is_valid_code(code, COMMUNE) for code in set(codes)}
    valid = np.array([checked[code] for code in codes], dtype=bool)
    cells = rows["Nombre"].to_numpy(dtype=object)
    # The first bad row is named, be it for its code or its count (the code first within a row).
    first_bad_code = len(codes) if valid.all() else int(np.argmin(valid))
    try:
        parsed = parse_cells(cells[:first_bad_code])
    except CellParseError as exc:
        raise SourceFileError(display_name, str(exc), line=int(lines[exc.position]), column="Nombre") from None
    if first_bad_code < len(codes):
        raise SourceFileError(display_name, f"code commune {codes[first_bad_code]!r} invalide",
                              line=int(lines[first_bad_code]), column="Code_commune")
    return conform(pd.DataFrame({
        "indicator_id": text_array(rows["Categorie"].str.strip().map(variables).to_numpy(dtype=object)),
        "territory_code": text_array(codes), "territory_level": COMMUNE, "year": int(period[:4]),
        "value": parsed.values, "status": text_array(parsed.statuses), "marker": text_array(parsed.markers),
        "source": source, "source_label": source_label, "vintage": vintage, "period": period,
        "source_file": display_name, "source_row": lines,
    }))
