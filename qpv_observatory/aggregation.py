"""Derived comparison territories: the QPV of a contract together, a commune or an EPCI outside its QPV.

The rules (how each indicator aggregates, statistical secrecy, the contract perimeter) are written
once, in SQL: qpv_observatory/sql/comparison_territories.sql and qpv_shares.sql, both reading the
(group, perimeter) pairs of perimeter_pairs.sql. This module gives them to pandas callers and names
their statuses and columns.
"""

from __future__ import annotations

import pandas as pd

from qpv_observatory.readers.referential import Referential
from qpv_observatory.sql.engine import computed

SUM, RATIO_OF_SUMS, WEIGHTED_MEAN, NOT_AGGREGABLE = "sum", "ratio_of_sums", "weighted_mean", "not_aggregable"
# Statuses of a derived value, beside ok and secret.
NOT_COMPUTABLE = "not_computable"  # an input is missing, not published, or the source gives no counts
NOT_AGGREGABLE_STATUS = "not_aggregable"  # a median and the like
ABSENT = "absent"  # no source has a figure for the surrounding commune or EPCI
PRECISION = 6

# The observation columns the derived tables read.
AGGREGATION_INPUT_COLUMNS = ("indicator_id", "year", "source", "source_label", "territory_level", "territory_code",
                             "status", "value", "numerator", "denominator")
DERIVED_COLUMNS = [
    "indicator_id", "year", "source", "source_label", "territory_level", "territory_code", "territory_name",
    "parent_code", "qpv_codes", "aggregation", "value", "numerator", "denominator", "status", "reason",
]
SHARE_COLUMNS = [
    "indicator_id", "year", "source", "source_label", "territory_level", "territory_code", "territory_name",
    "qpv_codes", "qpv_total", "territory_total", "share", "status", "reason",
]


def contract_code(epci_code: str) -> str:
    return f"{epci_code}-QPV"


def hors_qpv_code(code: str) -> str:
    return f"{code}-HORS-QPV"


def derive_comparison_territories(observations: pd.DataFrame, referential: Referential,
                                  indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator, year, source and derived territory, with its status and, when it is
    not published, the reason in French."""
    return computed("comparison_territories", referential, indicators,
                    observations[list(AGGREGATION_INPUT_COLUMNS)])


def qpv_shares(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame) -> pd.DataFrame:
    """For counts (aggregation ``sum``, e.g. population): the share of each commune and EPCI living in its QPV."""
    return computed("qpv_shares", referential, indicators, observations[list(AGGREGATION_INPUT_COLUMNS)])
