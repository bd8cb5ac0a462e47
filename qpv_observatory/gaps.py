"""Gaps between each QPV and its comparison territories, per indicator and year.

Comparison territories: the commune and the EPCI (always listed, "absent" when no source has
them); the derived ones (commune hors QPV, EPCI hors QPV, ensemble des QPV du contrat, see
aggregation.py), listed when published or withheld by secrecy (with the reason); the ones read
from sources (unité urbaine, ensemble des QPV de France, France métropolitaine, France), listed
when a source has them.

Only figures of the same indicator, year and source are compared. A gap is computed only when
both values are published numbers: a secret or missing cell yields an empty gap, never a guess.
The rules are written once, in SQL (qpv_observatory/sql/gaps.sql and gap_portrait.sql); this module
gives them to pandas callers and names the levels.
"""

from __future__ import annotations

import pandas as pd

from qpv_observatory.readers.referential import Referential
from qpv_observatory.sql.engine import computed
from qpv_observatory.territories import (COMMUNE, COMMUNE_HORS_QPV, EPCI, EPCI_HORS_QPV, FRANCE, FRANCE_METRO,
                                         QPV_CONTRACT, QPV_FRANCE, UNITE_URBAINE)

GAP_COLUMNS = [
    "qpv_code", "qpv_name", "indicator_id", "year", "source", "source_label",
    "comparison_level", "comparison_code", "comparison_name",
    "qpv_value", "qpv_status", "comparison_value", "comparison_status",
    "gap", "gap_unit", "ratio", "qpv_situation", "comparison_reason",
]
# The columns compute_gaps reads of the observations and of the derived territories: the pipeline loads only these.
GAP_INPUT_COLUMNS = ("indicator_id", "year", "source", "source_label", "territory_level", "territory_code", "status",
                     "value")
DERIVED_INPUT_COLUMNS = ("indicator_id", "year", "source", "territory_level", "territory_code", "territory_name",
                         "parent_code", "value", "status", "reason")
# Comparison levels reached from a QPV through the referential, and the link column to follow.
LINKED_LEVELS = ((COMMUNE, "commune_code"), (EPCI, "epci_code"))
# Derived levels (aggregation.py), reached through the link column to their parent territory.
DERIVED_LEVELS = ((COMMUNE_HORS_QPV, "commune_code"), (EPCI_HORS_QPV, "epci_code"), (QPV_CONTRACT, "epci_code"))
# Levels read from sources: the unité urbaine through an optional link column of the referential,
# the national levels for every QPV.
UNIT_LINK_COLUMN = "unite_urbaine_code"
NATIONAL_LEVELS = (QPV_FRANCE, FRANCE_METRO, FRANCE)
# Column order of the portrait: the published tables' commune and EPCI first.
PORTRAIT_LEVELS = (COMMUNE, EPCI, COMMUNE_HORS_QPV, EPCI_HORS_QPV, QPV_CONTRACT, UNITE_URBAINE, *NATIONAL_LEVELS)
# Published values carry at most two decimals: rounding removes float noise (58.8 - 48.8).
PRECISION = 6

NO_COMPARISON_VALUE = "absent"  # no source file has a row for the comparison territory


def compute_gaps(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame,
                 derived: pd.DataFrame | None = None) -> pd.DataFrame:
    """``derived``: the table of aggregation.derive_comparison_territories, when available (the rules:
    qpv_observatory/sql/gaps.sql)."""
    return computed("gaps", referential, indicators, observations[list(GAP_INPUT_COLUMNS)],
                    comparison_territories=None if derived is None else derived[list(DERIVED_INPUT_COLUMNS)])


def gap_portrait(gaps: pd.DataFrame) -> pd.DataFrame:
    """One row per QPV, indicator, year and source, comparison levels side by side (the published tables'
    shape; the rules: qpv_observatory/sql/gap_portrait.sql)."""
    return computed("gap_portrait", gaps=gaps)
