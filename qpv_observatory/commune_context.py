"""Commune figures that QPV tables repeat on each QPV row (INSEE's ``POP_COM``, SIG Ville's ``pop_com``).

Such a figure describes the commune, not the QPV: summed over the QPV of a city it would count the
city as many times as it has QPV. It is attributed to the commune once, from the QPV that lie in
that commune alone (for a QPV spanning several communes, the figure covers all of them and says
nothing of each), and only when these QPV rows agree; the QPV rows keep it as context, an
indicator that is never aggregated.
"""

from __future__ import annotations

import pandas as pd

from qpv_observatory.observations import OBSERVATION_KEY, combine_observations, conform
from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import COMMUNE, QPV
from qpv_observatory.values import OK

# (indicator repeated on each QPV row, source) -> the commune's own indicator. INSEE's QPV tables only:
# their users declare the ANCT list, which gives every commune of a QPV; SIG Ville's contours give only
# its principal commune, and a QPV spanning two communes would pass its two communes' total for one.
COMMUNE_CONTEXT = {("population_communes_englobantes", "insee_rp"): "population"}


def attribute_commune_context(observations: pd.DataFrame, referential: Referential) -> pd.DataFrame:
    """The observations, with one commune row per commune context figure found on its QPV rows
    (unless a file of the same source already gives the commune's figure for that year)."""
    rows = observations[observations["indicator_id"].isin({indicator for indicator, _ in COMMUNE_CONTEXT})
                        & (observations["territory_level"] == QPV) & (observations["status"] == OK)]
    rows = rows[[pair in COMMUNE_CONTEXT for pair in zip(rows["indicator_id"], rows["source"])]]
    if rows.empty:
        return observations
    links = referential.qpv_links[["qpv_code", "commune_code"]].drop_duplicates()
    alone = links[~links["qpv_code"].duplicated(keep=False)]  # QPV lying in one commune
    rows = rows.merge(alone, left_on="territory_code", right_on="qpv_code")
    if rows.empty:
        return observations
    keys = ["indicator_id", "commune_code", "year", "source"]
    rows = rows.sort_values(["source_file", "source_row"], kind="stable")
    # QPV rows of one commune that disagree: the referential knows only part of some QPV's communes
    # (SIG Ville contours give the principal commune), so none of them says what the commune's figure is.
    agree = rows.groupby(keys)["value"].transform("nunique") == 1
    first = rows[agree].drop_duplicates(keys)
    if first.empty:
        return observations
    attributed = first.assign(indicator_id=[COMMUNE_CONTEXT[pair] for pair in zip(first["indicator_id"], first["source"])],
                              territory_code=first["commune_code"], territory_level=COMMUNE)
    attributed = conform(attributed.drop(columns=["qpv_code", "commune_code"]))
    known = observations[OBSERVATION_KEY].drop_duplicates()
    fresh = attributed.merge(known, how="left", indicator=True)
    fresh = attributed[(fresh["_merge"] == "left_only").to_numpy()]
    return combine_observations([observations, fresh]) if len(fresh) else observations
