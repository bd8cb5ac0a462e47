"""INSEE QPV bases published as XLSX ("données par thème / par source"): title block above the
table, QPV rows with their commune, EPCI and national comparison rows on the same sheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.wide import INSEE_COMMUNAL, INSEE_WIDE, observations_from_wide
from qpv_observatory.readers.xlsx import read_xlsx_table


def read_insee_wide_xlsx(path: Path, display_name: str, source: str, vintage: int, source_label: str,
                         variables: dict[str, str], zero_not_available: frozenset[str] = frozenset()) -> pd.DataFrame:
    """The sheet whose header has CODGEO; levels from NIVGEO when present, else from the codes."""
    raw, sheet = read_xlsx_table(path, display_name, (INSEE_WIDE.code_column,))
    where = f"{display_name}, feuille {sheet}"
    layout = INSEE_WIDE if INSEE_WIDE.level_column in raw.columns else INSEE_COMMUNAL
    if not any(c in variables for c in raw.columns):
        raise SourceFileError(where, f"aucune variable connue pour la source {source} millésime {vintage} ; "
                                     f"attendu au moins une de : {', '.join(sorted(variables))}")
    return observations_from_wide(raw, where, layout, source, vintage, source_label, variables, zero_not_available)
