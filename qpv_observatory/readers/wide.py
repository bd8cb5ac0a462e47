"""Wide files: one row per territory, one column per variable (INSEE QPV bases, CAF extracts).

Which columns are read, and as which indicator, comes from the catalogue's per-vintage variable
map, never from code: INSEE renames variables between vintages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import conform
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.territories import (COMMUNE, EPCI, FRANCE, FRANCE_METRO, QPV, QPV_FRANCE, UNITE_URBAINE,
                                         is_valid_code, level_from_code, normalise_code)
from qpv_observatory.values import NOT_AVAILABLE, ParsedValue, ValueParseError, parse_value


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
# INSEE communal files (Filosofi, dossier complet): CODGEO only, the level is read from the code.
INSEE_COMMUNAL = WideLayout("CODGEO", "", "", {})
# SIG Ville extracts: one row per QPV, ',' separator and '.' decimals.
SIG_VILLE_WIDE = WideLayout("code_qp", "nom_qp", "", {}, other_columns=("nom_commune",), sep=",")
CAF_WIDE = WideLayout("Code_Territoire", "Libelle_Territoire", "Type_Territoire",
                      {"QPV": QPV, "Commune": COMMUNE, "EPCI": EPCI}, other_columns=("Date_Ref",))


def read_wide_observations(path: Path, display_name: str, layout: WideLayout, source: str, vintage: int,
                           source_label: str, variables: dict[str, str],
                           zero_not_available: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Read one wide file into canonical observations.

    ``variables`` maps the file's column names to indicator ids for this source and vintage.
    Columns absent from the map are ignored; a file with none of them is refused.
    """
    raw = read_delimited(path, display_name, layout.id_columns, sep=layout.sep)
    return observations_from_wide(raw, display_name, layout, source, vintage, source_label, variables,
                                  zero_not_available)


def observations_from_wide(raw: pd.DataFrame, display_name: str, layout: WideLayout, source: str, vintage: int,
                           source_label: str, variables: dict[str, str],
                           zero_not_available: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Canonical observations from a wide frame of text cells (CSV or XLSX alike).

    ``zero_not_available`` names the variables whose zero the source writes for "not available".
    Without a level column, each row's level comes from the form of its code.
    """
    value_columns = [c for c in raw.columns if c in variables]
    if not value_columns:
        raise SourceFileError(display_name, f"aucune variable connue pour la source {source} millésime {vintage} ; "
                                            f"attendu au moins une de : {', '.join(sorted(variables))}", line=1)
    codes = raw[layout.code_column].map(normalise_code)
    if layout.level_column:
        levels = raw[layout.level_column].str.strip().map(layout.levels)
        level_column, expected = layout.level_column, ", ".join(layout.levels)
    else:
        levels = codes.map(level_from_code)
        level_column, expected = layout.code_column, "code QPV, commune (COG) ou EPCI (SIREN)"
    unknown = raw[levels.isna()]
    if len(unknown):
        row = unknown.iloc[0]
        raise SourceFileError(display_name, f"niveau géographique {row[level_column]!r} inconnu ; "
                                            f"attendu : {expected}",
                              line=int(row[LINE_COLUMN]), column=level_column)
    for code, level, line in zip(codes, levels, raw[LINE_COLUMN]):
        if not is_valid_code(code, level):
            raise SourceFileError(display_name, f"code {code!r} invalide pour le niveau {level}",
                                  line=int(line), column=layout.code_column)
    records = []
    for column in value_columns:
        for code, level, cell, line in zip(codes, levels, raw[column], raw[LINE_COLUMN]):
            try:
                parsed = parse_value(cell)
            except ValueParseError as exc:
                raise SourceFileError(display_name, str(exc), line=int(line), column=column) from None
            if parsed.value == 0 and column in zero_not_available:
                parsed = ParsedValue(None, NOT_AVAILABLE, str(cell).strip())
            records.append({
                "indicator_id": variables[column], "territory_code": code, "territory_level": level,
                "year": vintage, "value": parsed.value, "status": parsed.status, "marker": parsed.marker,
                "source": source, "source_label": source_label, "vintage": vintage,
                "source_file": display_name, "source_row": int(line),
            })
    return conform(pd.DataFrame.from_records(records))
