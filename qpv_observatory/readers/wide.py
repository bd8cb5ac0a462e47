"""Wide files: one row per territory, one column per variable (INSEE QPV bases, CAF extracts).

Which columns are read, and as which indicator, comes from the catalogue's per-vintage variable
map, never from code: INSEE renames variables between vintages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from qpv_observatory.counts import is_count_id
from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import conform, text_from_codes
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.territories import (COMMUNE, EPCI, FRANCE, FRANCE_METRO, QPV, QPV_FRANCE, UNITE_URBAINE,
                                         is_valid_code, level_from_code, normalise_code)
from qpv_observatory.values import MISSING, NOT_AVAILABLE, CellParseError, parse_distinct


@dataclass(frozen=True)
class WideLayout:
    code_column: str
    label_column: str
    level_column: str
    levels: dict[str, str]  # level as written in the file -> territory level
    other_columns: tuple[str, ...] = ()
    sep: str = ";"

    @property
    def id_columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.code_column, self.label_column, self.level_column, *self.other_columns) if c)


# INSEE QPV bases carry comparison rows and the wider levels: unité urbaine, "ensemble des QPV", France.
INSEE_WIDE = WideLayout("CODGEO", "LIBGEO", "NIVGEO", {
    "QP": QPV, "QPV": QPV, "COM": COMMUNE, "EPCI": EPCI, "UU": UNITE_URBAINE,
    "FRQP": QPV_FRANCE, "ENSQP": QPV_FRANCE, "ENSQPV": QPV_FRANCE,
    "FRMETRO": FRANCE_METRO, "METRO": FRANCE_METRO, "FRANCE": FRANCE, "FR": FRANCE})
# INSEE files of one level (Filosofi communal or per level, dossier complet): CODGEO only, the level
# declared in the manifest (level = "commune"...).
INSEE_COMMUNAL = WideLayout("CODGEO", "", "", {})
# INSEE populations légales (donnees_communes.csv): COM is the commune's code.
INSEE_POPULATIONS = WideLayout("COM", "", "", {})
DECLARED_LEVEL = "__niveau_declare"
# SIG Ville extracts: one row per QPV, ',' separator and '.' decimals.
SIG_VILLE_WIDE = WideLayout("code_qp", "nom_qp", "", {}, other_columns=("nom_commune",), sep=",")
CAF_WIDE = WideLayout("Code_Territoire", "Libelle_Territoire", "Type_Territoire",
                      {"QPV": QPV, "Commune": COMMUNE, "EPCI": EPCI}, other_columns=("Date_Ref",))


def read_wide_observations(path: Path, display_name: str, layout: WideLayout, source: str, vintage: int,
                           source_label: str, variables: dict[str, str],
                           zero_not_available: frozenset[str] = frozenset(), level: str = "") -> pd.DataFrame:
    """Read one wide file into canonical observations.

    ``variables`` maps the file's column names to indicator ids for this source and vintage.
    Columns absent from the map are ignored; a file with none of them is refused.
    ``level``: the level of every row, as the manifest declares it (a file of one level, without a
    level column); an empty cell is then a figure INSEE did not publish.
    """
    raw = read_delimited(path, display_name, layout.id_columns, sep=layout.sep)
    blank_status = MISSING
    if level:
        raw[DECLARED_LEVEL] = level
        layout, blank_status = replace(layout, level_column=DECLARED_LEVEL, levels={level: level}), NOT_AVAILABLE
    # INSEE and CAF files (';') write decimal commas; SIG Ville's (',') decimal points.
    return observations_from_wide(raw, display_name, layout, source, vintage, source_label, variables,
                                  zero_not_available, blank_status=blank_status, decimal_comma=layout.sep == ";")


def observations_from_wide(raw: pd.DataFrame, display_name: str, layout: WideLayout, source: str | dict[str, str],
                           vintage: int, source_label: str, variables: dict[str, str],
                           zero_not_available: frozenset[str] = frozenset(),
                           blank_status: str = MISSING, decimal_comma: bool = False) -> pd.DataFrame:
    """Canonical observations from a wide frame of text cells (CSV or XLSX alike).

    ``source``: the file's source, or each variable's when one file mixes sources (INSEE's QPV tables).
    ``zero_not_available`` names the variables whose zero the source writes for "not available";
    ``blank_status`` is what an empty cell means in this layout; ``decimal_comma``: a CSV whose decimals
    are commas, where a dot is refused (``1.320``: thousands or decimal?), not read as a decimal.
    Without a level column, each row's level comes from the form of its code.
    """
    value_columns = [c for c in raw.columns if c in variables]
    if not value_columns:
        what = f"la source {source}" if isinstance(source, str) else "cette table"
        raise SourceFileError(display_name, f"aucune variable connue pour {what} millésime {vintage} ; "
                                            f"attendu au moins une de : {', '.join(sorted(variables))}", line=1)
    codes = _normalised_codes(raw[layout.code_column])
    if layout.level_column:
        levels = raw[layout.level_column].str.strip().map(layout.levels)
        level_column, expected = layout.level_column, ", ".join(layout.levels)
    else:
        levels = codes.map(_per_distinct(codes, level_from_code))
        level_column, expected = layout.code_column, "code QPV, commune (COG) ou EPCI (SIREN)"
    unknown = raw[levels.isna()]
    if len(unknown):
        row = unknown.iloc[0]
        raise SourceFileError(display_name, f"niveau géographique {row[level_column]!r} inconnu ; "
                                            f"attendu : {expected}",
                              line=int(row[LINE_COLUMN]), column=level_column)
    pairs = list(zip(codes, levels))
    checked = {pair: is_valid_code(*pair) for pair in set(pairs)}
    valid = np.array([checked[pair] for pair in pairs], dtype=bool)
    if not valid.all():
        first = int(np.argmin(valid))
        raise SourceFileError(display_name, f"code {codes.iloc[first]!r} invalide pour le niveau {levels.iloc[first]}",
                              line=int(raw[LINE_COLUMN].iloc[first]), column=layout.code_column)
    lines = raw[LINE_COLUMN].to_numpy(dtype="int64")
    count = len(raw)
    # Column after column, as the file's rows within each: parsed in one go (the same texts recur
    # from one column to the next), the first bad cell still named by its line and column.
    try:
        parsed = parse_distinct(pd.concat([raw[column] for column in value_columns], ignore_index=True),
                                decimal_comma=decimal_comma)
    except CellParseError as exc:
        column, row = divmod(exc.position, count)
        raise SourceFileError(display_name, str(exc), line=int(lines[row]), column=value_columns[column]) from None
    cell_codes = parsed.codes
    values = parsed.values.take(cell_codes)
    # Statuses and markers as codes into a few labels; a zero the source writes for "not available"
    # becomes that status, with its text as marker (the labels after the markers' own).
    status_codes, status_labels = pd.factorize(np.append(parsed.statuses, NOT_AVAILABLE))
    status_labels = [blank_status if label == MISSING else label for label in status_labels]
    marker_codes, marker_labels = pd.factorize(parsed.markers)
    statuses, markers = status_codes[cell_codes], marker_codes[cell_codes]
    zero_columns = [index for index, column in enumerate(value_columns) if column in zero_not_available]
    if zero_columns:
        zero = np.zeros(len(values), dtype=bool)
        for index in zero_columns:
            zero[index * count:(index + 1) * count] = True
        zero &= values == 0
        values[zero] = np.nan
        statuses[zero] = status_codes[-1]
        markers[zero] = len(marker_labels) + cell_codes[zero]
        marker_labels = [*marker_labels, *(str(cell).strip() for cell in parsed.cells)]
    # The counts beside a rate (pseudo-indicators) after the values, so that fold_counts can keep the
    # values without copying them; each kind in the file's order.
    order = sorted(range(len(value_columns)), key=lambda index: is_count_id(variables[value_columns[index]]))
    if order != sorted(order):
        rows = (np.array(order)[:, None] * count + np.arange(count)).ravel()
        values, statuses, markers = values[rows], statuses[rows], markers[rows]
        value_columns = [value_columns[index] for index in order]
    # One frame for all the columns, its texts built from their few distinct values.
    repeat = len(value_columns)
    code_codes, code_labels = pd.factorize(codes)
    level_codes, level_labels = pd.factorize(levels)
    return conform(pd.DataFrame({
        "indicator_id": text_from_codes(np.repeat(np.arange(repeat), count), [variables[c] for c in value_columns]),
        "territory_code": text_from_codes(np.tile(code_codes, repeat), code_labels),
        "territory_level": text_from_codes(np.tile(level_codes, repeat), level_labels),
        "year": vintage, "value": values, "status": text_from_codes(statuses, status_labels),
        "marker": text_from_codes(markers, marker_labels), "source_label": source_label,
        "source": source if isinstance(source, str) else text_from_codes(
            np.repeat(np.arange(repeat), count), [source[c] for c in value_columns]),
        "vintage": vintage, "source_file": display_name, "source_row": np.tile(lines, repeat),
    }))


def _normalised_codes(cells: pd.Series) -> pd.Series:
    """normalise_code on each cell (computed once per distinct cell: codes repeat across rows)."""
    return cells.map(_per_distinct(cells, normalise_code)).astype(object)


def _per_distinct(values, function) -> dict:
    return {value: function(value) for value in pd.unique(values)}
