"""Numerators and denominators read beside a published rate, folded into its observation.

A source such as the INSEE QPV bases gives a rate together with its counts (poor people and
population, job-seekers and active population). The counts are what lets rates be aggregated
honestly (a ratio of sums, never a mean of rates): they are kept in the observation's
``numerator`` and ``denominator`` columns. A count that is itself secret stays empty.
"""

from __future__ import annotations

import pandas as pd

from qpv_observatory.catalogue import DENOMINATOR_ROLE, NUMERATOR_ROLE
from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import conform
from qpv_observatory.values import OK

_SEPARATOR = "\u241f"  # joins indicator id and role in the reader's column map; never in an id


def count_column_ids(count_variables: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Column map for the wide reader: each count column read as a pseudo-indicator 'id<sep>role'."""
    return {column: f"{indicator}{_SEPARATOR}{role}" for column, (indicator, role) in count_variables.items()}


def fold_counts(frame: pd.DataFrame, display_name: str) -> pd.DataFrame:
    """Split the reader's output into values and counts, and put each count beside its value."""
    is_count = frame["indicator_id"].str.contains(_SEPARATOR, regex=False)
    values, counts = frame[~is_count].copy(), frame[is_count]
    if counts.empty:
        return frame
    split = counts["indicator_id"].str.split(_SEPARATOR, n=1, expand=True)
    counts = counts.assign(indicator_id=split[0], role=split[1])
    key = ["indicator_id", "territory_code"]
    for role in (NUMERATOR_ROLE, DENOMINATOR_ROLE):
        part = counts[counts["role"] == role]
        orphans = part.merge(values[key], on=key, how="left", indicator=True)
        orphans = orphans[orphans["_merge"] == "left_only"]
        if len(orphans):
            row = orphans.iloc[0]
            raise SourceFileError(display_name, f"{role} de l'indicateur {row.indicator_id} sans valeur publiée "
                                                f"pour le territoire {row.territory_code}", line=int(row.source_row))
        # A secret or missing count stays empty: never 0, never used in a sum.
        published = part["value"].where(part["status"] == OK)
        by_key = pd.Series(published.array, index=pd.MultiIndex.from_frame(part[key]))
        values[role] = by_key.reindex(pd.MultiIndex.from_frame(values[key])).array
    return conform(values)
