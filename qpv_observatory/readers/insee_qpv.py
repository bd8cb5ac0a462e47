"""INSEE's QPV tables, as distributed: one table per theme (« Démographie », « Revenus »,
« Insertion professionnelle »...), one row per QPV of France.

What the published files share, whatever the millésime:
- ``CODGEO`` is the QPV code; ``LIBGEO`` (the QPV's name) and ``LIB_COM`` may be there or not;
- a first row ``Ensemble`` (``Ensemble des QPV`` in LIBGEO) holds all the QPV of France;
- an empty cell is a figure INSEE did not publish (secrecy or too few cases): never 0;
- one file mixes sources (census and Cnaf in « Démographie »; Filosofi, Cnam and Cnaf in
  « Revenus »): the catalogue's ``table`` column says which source each variable is from;
- CSV as distributed (``;``, decimal comma, fields sometimes quoted), the same table saved by
  Excel as "CSV UTF-8" (BOM, ``1 193 700`` with narrow no-break spaces, ~150 unnamed empty
  columns), or INSEE's XLSX (a documentation sheet first, a title block above the header).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qpv_observatory.catalogue import VALUE_ROLE, Catalogue
from qpv_observatory.counts import count_column_ids
from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.readers.wide import WideLayout, observations_from_wide
from qpv_observatory.readers.xlsx import read_xlsx_table
from qpv_observatory.territories import QPV, QPV_FRANCE
from qpv_observatory.values import NOT_AVAILABLE

CODE_COLUMN = "CODGEO"
NATIONAL_ROW = "ensemble"  # CODGEO of the row of all QPV of France, compared case-insensitively
QPV_FRANCE_CODE = "FRQP"  # the code the observatory gives that level, whatever the file writes
_LEVEL_COLUMN = "__niveau"
LAYOUT = WideLayout(CODE_COLUMN, "", _LEVEL_COLUMN, {QPV: QPV, QPV_FRANCE: QPV_FRANCE})
XLSX_SUFFIXES = (".xlsx", ".xlsm")
# INSEE's quality flags, one per source of a table, on each row (NOTE_PE_T: the quarterly job-seeker figures).
QUALITY_NOTE_SOURCES = {"NOTE_RP": "insee_rp", "NOTE_CNAF": "cnaf", "NOTE_CNAM": "cnam", "NOTE_PE": "france_travail",
                        "NOTE_PE_T": "france_travail"}


def read_table_cells(path: Path, display_name: str) -> tuple[pd.DataFrame, str, bool]:
    """The table's text cells, where to point at in messages (the sheet, for a workbook), and whether
    its decimals are commas (the CSV; a workbook's numbers are typed)."""
    if path.suffix.lower() in XLSX_SUFFIXES:
        raw, sheet = read_xlsx_table(path, display_name, (CODE_COLUMN,))
        return raw, f"{display_name}, feuille {sheet}", False
    return read_delimited(path, display_name, (CODE_COLUMN,)), display_name, True


def choose_table(columns: list[str], catalogue: Catalogue, where: str) -> str:
    """The catalogue table whose variables the file's header holds most of (INSEE keeps a table's
    variable names from one millésime to the next: a new file of a known table needs no catalogue edit)."""
    header = set(columns)
    found = {table: len(header & set(catalogue.variables.loc[catalogue.variables["table"] == table, "variable"]))
             for table in catalogue.tables}
    best = max(found.values(), default=0)
    chosen = [table for table, count in found.items() if count == best]
    if best == 0:
        raise SourceFileError(where, "aucune colonne ne correspond à une table QPV du catalogue "
                                     f"({', '.join(catalogue.tables) or 'aucune table décrite'} : "
                                     "data/catalogue/source_variables.csv, colonne table)", line=1)
    if len(chosen) > 1:
        raise SourceFileError(where, f"en-tête commun aux tables {', '.join(chosen)} : préciser "
                                     f"table = \"…\" dans le bloc [[file]] du manifeste", line=1)
    return chosen[0]


def read_insee_qpv(path: Path, display_name: str, catalogue: Catalogue, vintage: int, label: str,
                   table: str = "") -> pd.DataFrame:
    """Observations of one INSEE QPV table, each variable under its own source."""
    raw, where, decimal_comma = read_table_cells(path, display_name)
    if table and table not in catalogue.tables:
        raise SourceFileError(where, f"table {table!r} absente du catalogue ; tables connues : "
                                     f"{', '.join(catalogue.tables)}")
    table = table or choose_table(list(raw.columns), catalogue, where)
    rows = catalogue.table_rows(table, vintage)
    values = rows[rows["role"] == VALUE_ROLE]
    counts = rows[rows["role"] != VALUE_ROLE]
    variables = {**dict(zip(values["variable"], values["indicator_id"])),
                 **count_column_ids({v: (i, r) for v, i, r in zip(counts["variable"], counts["indicator_id"],
                                                                  counts["role"])})}
    sources = dict(zip(rows["variable"], rows["source"]))
    zeros = frozenset().union(*(catalogue.zero_not_available_for(source, vintage) for source in set(sources.values())))
    codes = raw[CODE_COLUMN].str.strip()
    national = (codes.str.casefold() == NATIONAL_ROW).to_numpy()
    raw = raw.assign(**{CODE_COLUMN: codes.where(~national, QPV_FRANCE_CODE),
                        _LEVEL_COLUMN: np.where(national, QPV_FRANCE, QPV)})
    observations = observations_from_wide(raw, where, LAYOUT, sources, vintage, label, variables,
                                          zeros & set(sources), blank_status=NOT_AVAILABLE,
                                          decimal_comma=decimal_comma)
    return with_quality_notes(observations, raw)


def with_quality_notes(observations: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Each row's ``NOTE_*`` flags of its source, as published (``NOTE_CNAF=5``): their meaning is in the
    documentation sheet of INSEE's table, the observatory neither reads nor drops them."""
    notes = pd.Series(pd.NA, index=observations.index, dtype="str")
    for source in observations["source"].unique():
        columns = [c for c, s in QUALITY_NOTE_SOURCES.items() if s == source and c in raw.columns]
        if not columns:
            continue
        cells = raw[columns].apply(lambda column: column.str.strip())
        text = pd.Series([" ; ".join(f"{c}={v}" for c, v in zip(columns, row) if v) or pd.NA
                          for row in cells.itertuples(index=False)], index=raw[LINE_COLUMN].to_numpy(), dtype="str")
        rows = observations["source"] == source
        notes[rows] = observations.loc[rows, "source_row"].map(text)
    return observations.assign(quality_note=notes)
