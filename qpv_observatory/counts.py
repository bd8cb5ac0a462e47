"""Numerators and denominators read beside a published rate, folded into its observation.

A source such as the INSEE QPV bases gives a rate together with its counts (poor people and
population, job-seekers and active population). The counts are what lets rates be aggregated
honestly (a ratio of sums, never a mean of rates): they are kept in the observation's
``numerator`` and ``denominator`` columns. A count that is itself secret stays empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qpv_observatory.catalogue import DENOMINATOR_ROLE, NUMERATOR_ROLE
from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import conform
from qpv_observatory.values import OK

_SEPARATOR = "\u241f"  # joins indicator id and role in the reader's column map; never in an id


def count_column_ids(count_variables: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Column map for the wide reader: each count column read as a pseudo-indicator 'id<sep>role'."""
    return {column: f"{indicator}{_SEPARATOR}{role}" for column, (indicator, role) in count_variables.items()}


def is_count_id(indicator_id: str) -> bool:
    """Whether a reader's indicator id is a count's pseudo-indicator (see count_column_ids)."""
    return _SEPARATOR in indicator_id


def fold_counts(frame: pd.DataFrame, display_name: str) -> pd.DataFrame:
    """Split the reader's output into values and counts, and put each count beside its value.

    The work is done on the few distinct indicator ids and on integer keys, not on the text of
    millions of rows.
    """
    id_codes, distinct_ids = pd.factorize(frame["indicator_id"])  # -1: no id (never a count)
    split = [distinct.partition(_SEPARATOR) for distinct in distinct_ids]
    roles = np.array([role for _, _, role in split] + [""], dtype=object)[id_codes]
    is_count = roles != ""
    if not is_count.any():
        return frame
    # One integer per (indicator id, territory code), a count's indicator id being its value's.
    indicator_codes, indicators = pd.factorize(np.array([indicator for indicator, _, _ in split], dtype=object))
    row_indicators = np.append(indicator_codes, -1)[id_codes].astype("int64")
    territory_codes = pd.factorize(frame["territory_code"])[0].astype("int64") + 1
    keys = row_indicators * (territory_codes.max() + 1) + territory_codes
    value_keys = keys[~is_count]
    published = frame["value"].where(frame["status"] == OK).array  # a secret or missing count stays empty
    folded = {}
    for role in (NUMERATOR_ROLE, DENOMINATOR_ROLE):
        rows = np.flatnonzero(roles == role)
        role_keys = pd.Index(keys[rows])
        for refused, problem in ((~np.isin(role_keys, value_keys), "sans valeur publiée"),
                                 (role_keys.duplicated(), "en double")):
            if refused.any():
                row = rows[np.argmax(refused)]
                raise SourceFileError(display_name, f"{role} de l'indicateur {indicators[row_indicators[row]]} "
                                                    f"{problem} pour le territoire {frame['territory_code'].iloc[row]}",
                                      line=int(frame["source_row"].iloc[row]))
        positions = role_keys.get_indexer(value_keys)
        # A value without its count gets an empty one: never 0, never used in a sum.
        folded[role] = published.take(np.where(positions < 0, -1, rows[positions]), allow_fill=True)
    values = int((~is_count).sum())
    # Readers put the counts last (the wide reader does): the values are then a slice, not a copy.
    values = frame.iloc[:values] if not is_count[:values].any() else frame[~is_count]
    return conform(values.assign(**folded))
