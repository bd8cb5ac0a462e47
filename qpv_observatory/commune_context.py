"""Commune figures that QPV tables repeat on each QPV row (INSEE's ``POP_COM``, SIG Ville's ``pop_com``).

Such a figure describes the commune, not the QPV: summed over the QPV of a city it would count the
city as many times as it has QPV. It is attributed to the commune once, from the QPV that lie in
that commune alone (for a QPV spanning several communes, the figure covers all of them and says
nothing of each); the QPV rows keep it as context, an indicator that is never aggregated.
"""

from __future__ import annotations

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import combine_observations, conform
from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import COMMUNE, QPV
from qpv_observatory.values import OK

# Indicator repeated on each QPV row -> the commune's own indicator.
COMMUNE_CONTEXT = {"population_communes_englobantes": "population"}


def attribute_commune_context(observations: pd.DataFrame, referential: Referential) -> pd.DataFrame:
    """The observations, with one commune row per commune context figure found on its QPV rows
    (unless a file of the same source already gives the commune's figure for that year)."""
    rows = observations[observations["indicator_id"].isin(list(COMMUNE_CONTEXT))
                        & (observations["territory_level"] == QPV) & (observations["status"] == OK)]
    if rows.empty:
        return observations
    links = referential.qpv_links[["qpv_code", "commune_code"]].drop_duplicates()
    alone = links[~links["qpv_code"].duplicated(keep=False)]  # QPV lying in one commune
    rows = rows.merge(alone, left_on="territory_code", right_on="qpv_code")
    if rows.empty:
        return observations
    keys = ["indicator_id", "commune_code", "year", "source"]
    rows = rows.sort_values(["source_file", "source_row"], kind="stable")
    groups = rows.groupby(keys)
    differs = (rows["value"] != groups["value"].transform("first")).to_numpy()
    if differs.any():
        row = rows[differs].iloc[0]
        first_line = int(groups["source_row"].transform("first")[differs].iloc[0])
        raise SourceFileError(row["source_file"], f"{row['indicator_id']} de la commune {row['commune_code']} "
                                                  f"diffère de celle de la ligne {first_line}, QPV de la même commune",
                              line=int(row["source_row"]))
    first = rows.drop_duplicates(keys)
    attributed = first.assign(indicator_id=first["indicator_id"].map(COMMUNE_CONTEXT),
                              territory_code=first["commune_code"], territory_level=COMMUNE)
    attributed = conform(attributed.drop(columns=["qpv_code", "commune_code"]))
    known = observations[["indicator_id", "territory_code", "year", "source"]].drop_duplicates()
    fresh = attributed.merge(known, how="left", indicator=True)
    fresh = attributed[(fresh["_merge"] == "left_only").to_numpy()]
    return combine_observations([observations, fresh]) if len(fresh) else observations
