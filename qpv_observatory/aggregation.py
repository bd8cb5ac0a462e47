"""Derived comparison territories: the QPV of a contract together, a commune or an EPCI outside its QPV.

How an indicator aggregates comes from the catalogue's ``aggregation`` column:
- ``sum``: counts (population) add up and subtract;
- ``ratio_of_sums``: a rate is recomputed from the sums of its numerators and denominators,
  never as a mean of rates (needs the counts, see qpv_observatory/counts.py);
- ``weighted_mean``: a mean weighted by the denominator (e.g. the population);
- ``not_aggregable``: a median is never averaged nor subtracted.

Statistical secrecy: a derived value is computed only from published numbers (status ok). When
one input is secret, the derived territory is not published either, and the reason says which
QPV blocks it: "commune hors QPV" computed without the secret QPV would let anyone recover the
secret value by subtraction. A derived value is a sum or difference of published figures only,
so it never discloses more than the published cells do.

The contract perimeter: since the 2014 law (loi Lamy) a contrat de ville is signed at the EPCI
level, so the observatory takes "les QPV du contrat" as the QPV linked to one EPCI in the
referential (code ``<SIREN de l'EPCI>-QPV``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import (COMMUNE, COMMUNE_HORS_QPV, EPCI, EPCI_HORS_QPV, QPV, QPV_CONTRACT,
                                         qpv_geography)
from qpv_observatory.values import OK, SECRET, STATUS_LABELS_FR

SUM, RATIO_OF_SUMS, WEIGHTED_MEAN, NOT_AGGREGABLE = "sum", "ratio_of_sums", "weighted_mean", "not_aggregable"
# Statuses of a derived value, beside ok and secret.
NOT_COMPUTABLE = "not_computable"  # an input is missing, not published, or the source gives no counts
NOT_AGGREGABLE_STATUS = "not_aggregable"  # a median and the like
ABSENT = "absent"  # no source has a figure for the surrounding commune or EPCI
PRECISION = 6

# The observation columns derive_comparison_territories and qpv_shares read: the pipeline loads only these.
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


def _status_fr(statuses: pd.Series) -> pd.Series:
    return statuses.map(lambda status: STATUS_LABELS_FR.get(status, status))


# --- Inputs, one row per QPV group and perimeter ------------------------------------------------
# A "group" is one indicator, year, source and QPV geography; a "perimeter" the QPV of one commune or
# one EPCI in that geography. Every derived figure is a (group, perimeter) pair with at least one
# of its QPV in the group: the tables below are built with merges and group-bys, never by filtering
# the whole observations table once per territory.

def _qpv_figures(observations: pd.DataFrame) -> pd.DataFrame:
    """The QPV rows with their geography and group number (groups in indicator, year, source,
    geography order); codes of no known geography belong to no group."""
    qpv = observations.loc[observations["territory_level"] == QPV,
                           ["indicator_id", "year", "source", "source_label", "territory_code", "status", "value",
                            "numerator", "denominator"]]
    geography = qpv["territory_code"].map({code: qpv_geography(code) for code in qpv["territory_code"].unique()})
    qpv = qpv.assign(geography=geography, position=np.arange(len(qpv)))[geography.notna()]
    qpv = qpv.astype({"geography": "int64"})
    qpv["group"] = qpv.groupby(["indicator_id", "year", "source", "geography"], sort=True).ngroup()
    return qpv


def _perimeter_members(referential: Referential, level: str) -> pd.DataFrame:
    """One row per perimeter of ``level`` (commune or EPCI) and QPV, QPV codes in order, with
    ``spanning`` when the QPV lies on several communes of its geography."""
    links = referential.qpv_links
    column = "commune_code" if level == COMMUNE else "epci_code"
    spanning = links.groupby(["geography", "qpv_code"])["commune_code"].transform("nunique") > 1
    members = (links.assign(spanning=spanning)[["geography", column, "qpv_code", "spanning"]]
               .rename(columns={column: "perimeter_code"})
               .dropna(subset=["perimeter_code"])
               .drop_duplicates(["geography", "perimeter_code", "qpv_code"])
               .sort_values(["geography", "perimeter_code", "qpv_code"], kind="mergesort"))
    return members.astype({"geography": "int64"}).reset_index(drop=True)


def _joined_codes(rows: pd.DataFrame, key="pair", code: str = "territory_code", sep: str = ", ") -> pd.Series:
    """Per key (a column or a list of columns), its codes in sorted order joined by ``sep``.

    A plain loop over the sorted rows: pandas would call ``str.join`` through one Python call per
    group, much slower for the many small groups here."""
    keys = [key] if isinstance(key, str) else list(key)
    rows = rows.sort_values([*keys, code], kind="mergesort")
    labels = zip(*(rows[k].tolist() for k in keys)) if len(keys) > 1 else rows[keys[0]].tolist()
    joined: dict = {}
    for label, value in zip(labels, rows[code].tolist()):
        joined.setdefault(label, []).append(value)
    index = pd.MultiIndex.from_tuples(joined, names=keys) if len(keys) > 1 else pd.Index(joined, name=keys[0])
    return pd.Series([sep.join(codes) for codes in joined.values()], index=index, dtype=object)


def _segment_sums(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sum of each segment ``values[start:start + length]``, bit for bit what Series.sum gives
    (numpy's pairwise summation): segments of one length are summed as the rows of a 2-D array,
    whose row sums follow the same summation order."""
    sums = np.empty(len(starts))
    for length in np.unique(lengths):
        which = np.flatnonzero(lengths == length)
        sums[which] = values[starts[which, None] + np.arange(length)].sum(axis=1)
    return sums


def _perimeter_inputs(qpv: pd.DataFrame, members: pd.DataFrame, count_columns: pd.Series) -> pd.DataFrame:
    """One row per (group, perimeter) pair: what the secrecy checks need and the member sums.

    ``count_columns``: per group, the count columns the aggregation needs ("numerator,denominator",
    "denominator" or ""), for the list of QPV lacking them.
    """
    perimeter = ["geography", "perimeter_code"]
    expected = pd.DataFrame({"qpv_codes": _joined_codes(members, perimeter, "qpv_code", ","),
                             "n_expected": members.groupby(perimeter, sort=False).size()})
    spanning = _joined_codes(members[members["spanning"]], perimeter, "qpv_code")
    expected["spanning_codes"] = spanning.reindex(expected.index).fillna("")
    rows = qpv.merge(members[["geography", "perimeter_code", "qpv_code"]], left_on=["geography", "territory_code"],
                     right_on=["geography", "qpv_code"], how="inner").drop(columns="qpv_code")
    # Member rows in the group's own order, so that sums add up in the order the figures come in.
    rows = rows.sort_values(["group", "perimeter_code", "position"], kind="mergesort").reset_index(drop=True)
    first = ~rows.duplicated(["group", "perimeter_code"])
    rows["pair"] = first.cumsum() - 1
    pairs = rows.loc[first, ["pair", "group", "geography", "perimeter_code"]].set_index("pair")
    pairs = pairs.join(expected, on=perimeter)

    starts = np.flatnonzero(first.to_numpy())
    lengths = np.diff(np.append(starts, len(rows)))
    pairs["n_found"] = lengths
    value = rows["value"].astype("float64").to_numpy(na_value=np.nan)
    denominator = rows["denominator"].astype("float64").to_numpy(na_value=np.nan)
    numerator = rows["numerator"].astype("float64").to_numpy(na_value=np.nan)
    # Series.sum skips missing values by counting them as 0, and so does this.
    for name, column in (("sum_value", value), ("sum_numerator", numerator), ("sum_denominator", denominator),
                         ("sum_weighted", value * denominator)):
        pairs[name] = _segment_sums(np.nan_to_num(column, nan=0.0), starts, lengths)

    pairs["missing_codes"] = None
    short = pairs.index[pairs["n_found"] < pairs["n_expected"]]
    if len(short):
        wanted = pairs.loc[short, ["geography", "perimeter_code"]].reset_index().merge(
            members[["geography", "perimeter_code", "qpv_code"]], on=["geography", "perimeter_code"])
        found = wanted.merge(rows[["pair", "territory_code"]], left_on=["pair", "qpv_code"],
                             right_on=["pair", "territory_code"], how="left", indicator=True)
        pairs["missing_codes"] = _joined_codes(found[found["_merge"] == "left_only"], "pair", "qpv_code")
    status = rows["status"]
    pairs["secret_codes"] = _joined_codes(rows[status == SECRET])
    unpublished = rows[(status != OK) & (status != SECRET)].sort_values(["pair", "territory_code"], kind="mergesort")
    unpublished = unpublished.drop_duplicates("pair").set_index("pair")
    pairs["unpublished_code"] = unpublished["territory_code"]
    pairs["unpublished_status"] = unpublished["status"]
    needs = rows["group"].map(count_columns).fillna("")
    lacking = ((needs.str.contains("numerator") & rows["numerator"].isna())
               | (needs.str.contains("denominator") & rows["denominator"].isna()))
    pairs["lacking_codes"] = _joined_codes(rows[lacking])
    return pairs.reset_index(drop=True)


def _surrounding_figures(observations: pd.DataFrame, wanted: pd.DataFrame) -> pd.DataFrame:
    """For each wanted row (indicator_id, year, source, level, perimeter_code), the figure of the
    surrounding territory: from the same source if it has one, else from the first other source
    (by name) of the same indicator and year, e.g. the populations légales for a commune.
    Adds the ``territory_*`` columns, ``territory_status`` empty when no source has a figure."""
    columns = ["indicator_id", "year", "source", "source_label", "territory_level", "territory_code", "status",
               "value", "numerator", "denominator"]
    candidates = observations.loc[observations["territory_level"].isin(wanted["level"].unique())
                                  & observations["territory_code"].isin(wanted["perimeter_code"].unique()), columns]
    candidates = candidates.rename(columns={"territory_level": "level", "territory_code": "perimeter_code"})
    place = ["indicator_id", "year", "level", "perimeter_code"]
    same = candidates.drop_duplicates([*place, "source"])
    other = candidates.sort_values("source", kind="mergesort").drop_duplicates(place)
    renamed = {c: f"territory_{c}" for c in ("source", "source_label", "status", "value", "numerator", "denominator")}
    from_same = wanted[place + ["source"]].merge(same.assign(territory_source=same["source"]),
                                                 on=[*place, "source"], how="left")
    from_other = wanted[place].merge(other.rename(columns=renamed), on=place, how="left")
    use_same = from_same["status"].notna().to_numpy()
    figures = pd.DataFrame(index=wanted.index)
    for column, target in renamed.items():
        own = from_same[column if column != "source" else "territory_source"]
        figures[target] = own.where(use_same, from_other[target]).to_numpy()
    return pd.concat([wanted, figures], axis=1)


# --- Statuses and reasons ---------------------------------------------------------------------

def _withhold(frame: pd.DataFrame, status: np.ndarray, reason: np.ndarray, checks) -> None:
    """Give each row still ok the status and reason of the first check it fails.

    ``checks``: (failed mask, status, reason builder on the failing rows), in the order the rules apply.
    """
    for failed, code, explain in checks:
        hit = (status == OK) & np.asarray(failed, dtype=bool)
        if hit.any():
            status[hit] = code
            reason[hit] = explain(frame[hit]).to_numpy(dtype=object)


def _member_checks(frame: pd.DataFrame) -> list:
    """Every QPV of the perimeter must have a published number, else the derived value is withheld."""
    return [
        (frame["n_found"] < frame["n_expected"], NOT_COMPUTABLE,
         lambda f: "valeur de " + f["label"] + " non calculable : aucune valeur pour " + f["missing_codes"]
                   + " dans la source"),
        (frame["secret_codes"].notna(), SECRET,
         lambda f: "valeur de " + f["label"] + " non publiée : " + f["secret_codes"] + " soumis au secret statistique ; "
                   "la publier permettrait de retrouver la valeur secrète par différence"),
        (frame["unpublished_code"].notna(), NOT_COMPUTABLE,
         lambda f: "valeur de " + f["label"] + " non calculable : valeur de " + f["unpublished_code"] + " non publiée ("
                   + _status_fr(f["unpublished_status"]) + ")"),
    ]


def _territory_checks(frame: pd.DataFrame) -> list:
    """The surrounding territory's figure must be published too."""
    status = frame["territory_status"]
    return [
        (status.isna(), ABSENT,
         lambda f: "valeur de " + f["label"] + " non calculable : valeur de " + f["territory_label"]
                   + " absente des sources"),
        (status == SECRET, SECRET,
         lambda f: "valeur de " + f["label"] + " non publiée : valeur de " + f["territory_label"]
                   + " soumise au secret statistique"),
        (status.notna() & (status != OK), NOT_COMPUTABLE,
         lambda f: "valeur de " + f["label"] + " non calculable : valeur de " + f["territory_label"] + " non publiée ("
                   + _status_fr(f["territory_status"]) + ")"),
    ]


def _rounded(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Python's round (correctly rounded, unlike numpy's) on the kept values, NaN elsewhere."""
    out = np.full(len(values), np.nan)
    out[keep] = [round(float(v), PRECISION) for v in values[keep]]
    return out


def _source_labels(frame: pd.DataFrame) -> pd.Series:
    """The group's source label, and the surrounding territory's when its figure comes from another source."""
    other = (frame["territory_status"].notna() & (frame["territory_source"] != frame["source"])).to_numpy(dtype=bool)
    labels = frame["source_label"].to_numpy(dtype=object).copy()
    if other.any():
        part = frame[other]
        labels[other] = (part["source_label"] + " ; " + part["territory_source_label"] + " ("
                         + part["territory_label"] + ")").to_numpy(dtype=object)
    return labels


# --- Derived comparison territories ------------------------------------------------------------

def _derive(frame: pd.DataFrame, subtract: bool) -> dict:
    """Value, numerator, denominator, status and reason of each pair: its members together, or the
    surrounding territory minus its members (``subtract``)."""
    status = np.full(len(frame), OK, dtype=object)
    reason = np.full(len(frame), None, dtype=object)
    aggregation = frame["aggregation"].to_numpy(dtype=object)
    if "blocked_reason" in frame:  # a commune with a QPV spanning several communes: decided beforehand
        blocked = frame["blocked_reason"].notna()
        _withhold(frame, status, reason, [(blocked, NOT_COMPUTABLE, lambda f: f["blocked_reason"])])
    not_aggregable = ~np.isin(aggregation, [SUM, RATIO_OF_SUMS, WEIGHTED_MEAN])
    _withhold(frame, status, reason, [(not_aggregable, NOT_AGGREGABLE_STATUS, lambda f: pd.Series(
        "indicateur non agrégeable (médiane ou équivalent) : jamais moyenné ni soustrait", index=f.index))])
    _withhold(frame, status, reason, _member_checks(frame))
    if subtract:
        _withhold(frame, status, reason, _territory_checks(frame))
    lacking = frame["lacking_codes"].notna() if not subtract else (
        frame["lacking_codes"].notna() | frame["territory_lacks_counts"])
    _withhold(frame, status, reason, [(lacking, NOT_COMPUTABLE, lambda f: _lacking_reason(f, subtract))])

    def own(column: str) -> np.ndarray:
        if not subtract:
            return np.zeros(len(frame))
        return frame[f"territory_{column}"].astype("float64").to_numpy(na_value=np.nan)

    sign = -1.0 if subtract else 1.0
    total_value = own("value") + sign * frame["sum_value"].to_numpy()
    numerator = own("numerator") + sign * frame["sum_numerator"].to_numpy()
    denominator = own("denominator") + sign * frame["sum_denominator"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = _scale(frame["unit"]) * numerator / denominator
        weighted = (own("value") * own("denominator") + sign * frame["sum_weighted"].to_numpy()) / denominator
    is_sum, is_ratio, is_weighted = aggregation == SUM, aggregation == RATIO_OF_SUMS, aggregation == WEIGHTED_MEAN
    incoherent = ((is_ratio & ((denominator <= 0) | (numerator < 0))) | (is_weighted & (denominator <= 0))
                  | (is_sum & (total_value < 0)))
    _withhold(frame, status, reason, [(incoherent, NOT_COMPUTABLE, lambda f: pd.Series(
        "incohérence : les QPV dépassent le territoire englobant", index=f.index))])
    ok = status == OK
    value = np.select([is_sum, is_ratio, is_weighted], [total_value, ratio, weighted], np.nan)
    return {"value": _rounded(value, ok),
            "numerator": np.where(ok & is_ratio, numerator, np.nan),
            "denominator": np.where(ok & (is_ratio | is_weighted), denominator, np.nan),
            "status": status, "reason": reason}


def _scale(units: pd.Series) -> np.ndarray:
    return np.where(units.to_numpy(dtype=object) == "%", 100.0, 1.0)


def _lacking_reason(frame: pd.DataFrame, subtract: bool) -> pd.Series:
    codes = frame["lacking_codes"]
    if subtract:  # the surrounding territory's code sorts among the QPV codes
        codes = pd.Series([", ".join(sorted([*(c.split(", ") if isinstance(c, str) else []), *([t] if lacks else [])]))
                           for c, t, lacks in zip(codes, frame["perimeter_code"], frame["territory_lacks_counts"])],
                          index=frame.index, dtype=object)
    what = np.where(frame["aggregation"] == RATIO_OF_SUMS, "numérateur et le dénominateur", "poids (dénominateur)")
    return ("valeur de " + frame["label"] + " non calculable : la source ne donne pas le " + what + " de " + codes
            + " ; un taux ne se moyenne pas")


def _territory_names(referential: Referential, codes: pd.Series, level: str) -> pd.Series:
    names = referential.territories.set_index(["territory_code", "territory_level"])["name"].to_dict()
    return codes.map({code: names.get((code, level), code) for code in codes.unique()})


def _qpv_groups(observations: pd.DataFrame, indicators: pd.DataFrame, aggregations=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The QPV rows (of indicators aggregated as ``aggregations`` when given) and one row per group:
    indicator, year, source, the label of its first row, aggregation, unit and the count columns the
    aggregation needs."""
    qpv = _qpv_figures(observations)
    meta = indicators.set_index("indicator_id")
    groups = qpv.drop_duplicates("group").set_index("group")[["indicator_id", "year", "source", "source_label"]]
    groups["aggregation"] = meta.loc[groups["indicator_id"], "aggregation"].to_numpy(dtype=object)
    groups["unit"] = meta.loc[groups["indicator_id"], "unit"].to_numpy(dtype=object)
    groups["count_columns"] = groups["aggregation"].map(
        {RATIO_OF_SUMS: "numerator,denominator", WEIGHTED_MEAN: "denominator"}).fillna("")
    if aggregations is not None:
        groups = groups[groups["aggregation"].isin(aggregations)]
        qpv = qpv[qpv["group"].isin(groups.index)]
    return qpv, groups


def _level_pairs(observations: pd.DataFrame, referential: Referential, qpv: pd.DataFrame, groups: pd.DataFrame,
                 level: str) -> pd.DataFrame:
    """The (group, perimeter) pairs of one level, with the group's columns, the territory's name and
    figure (``territory_*``)."""
    pairs = _perimeter_inputs(qpv, _perimeter_members(referential, level), groups["count_columns"])
    pairs = pairs.join(groups, on="group")
    pairs["level"] = level
    pairs["territory_label"] = _territory_names(referential, pairs["perimeter_code"], level)
    pairs = _surrounding_figures(observations, pairs)
    needs = pairs["count_columns"]
    pairs["territory_lacks_counts"] = (
        (needs.str.contains("numerator") & pairs["territory_numerator"].isna())
        | (needs.str.contains("denominator") & pairs["territory_denominator"].isna())).to_numpy(dtype=bool)
    return pairs


def _table(blocks: list[dict], columns: list[str], floats: list[str]) -> pd.DataFrame:
    """Blocks of columns as one table in the published order: by indicator, year, source, level and
    code, then group (a contract can have figures in both QPV geographies of a millésime)."""
    frame = pd.DataFrame({c: np.concatenate([np.asarray(b[c], dtype="float64" if c in floats else object)
                                             for b in blocks] or [np.empty(0, dtype=object)])
                          for c in [*columns, "group"]})
    frame = frame.astype({"year": "int64", **{c: "Float64" for c in floats}})
    frame = frame.sort_values(["indicator_id", "year", "source", "territory_level", "territory_code", "group"],
                              kind="mergesort")
    return frame[columns].reset_index(drop=True)


def _common(pairs: pd.DataFrame) -> dict:
    return {c: pairs[c].to_numpy(dtype=object) for c in ("indicator_id", "source", "qpv_codes", "aggregation")} | {
        "year": pairs["year"].to_numpy(dtype="int64"), "group": pairs["group"].to_numpy(dtype="int64")}


def derive_comparison_territories(observations: pd.DataFrame, referential: Referential,
                                  indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator, year, source and derived territory, with its status and, when it is
    not published, the reason in French."""
    qpv, groups = _qpv_groups(observations, indicators)
    blocks = []
    epci = _level_pairs(observations, referential, qpv, groups, EPCI) if len(groups) else pd.DataFrame()
    if len(epci):
        codes, names = epci["perimeter_code"], epci["territory_label"]
        contract = epci.assign(label="l'ensemble des QPV du contrat")
        blocks.append({**_common(epci), **_derive(contract, subtract=False), "source_label": epci["source_label"],
                       "territory_level": QPV_CONTRACT, "territory_code": codes.map(contract_code),
                       "territory_name": "Ensemble des QPV du contrat (" + names + ")", "parent_code": codes})
        outside = epci.assign(label="l'EPCI hors QPV")
        blocks.append({**_common(epci), **_derive(outside, subtract=True), "source_label": _source_labels(outside),
                       "territory_level": EPCI_HORS_QPV, "territory_code": codes.map(hors_qpv_code),
                       "territory_name": names + " hors QPV", "parent_code": codes})
    communes = _level_pairs(observations, referential, qpv, groups, COMMUNE) if len(groups) else pd.DataFrame()
    if len(communes):
        codes, names = communes["perimeter_code"], communes["territory_label"]
        # The part of a QPV lying in one of its communes is not published.
        spanning = communes["spanning_codes"].where(communes["spanning_codes"] != "")
        outside = communes.assign(label="la commune hors QPV", blocked_reason=(
            "valeur de la commune hors QPV non calculable : " + spanning + " s'étend sur plusieurs communes et sa part "
            "dans celle-ci n'est pas publiée"))
        blocks.append({**_common(communes), **_derive(outside, subtract=True), "source_label": _source_labels(outside),
                       "territory_level": COMMUNE_HORS_QPV, "territory_code": codes.map(hors_qpv_code),
                       "territory_name": names + " hors QPV", "parent_code": codes})
    for block in blocks:  # scalars to columns
        size = len(block["group"])
        for column, value in block.items():
            if isinstance(value, str):
                block[column] = np.full(size, value, dtype=object)
    return _table(blocks, DERIVED_COLUMNS, ["value", "numerator", "denominator"])


def qpv_shares(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame) -> pd.DataFrame:
    """For counts (aggregation ``sum``, e.g. population): the share of each commune and EPCI living in its QPV.

    The QPV total is the sum of the QPV of the territory (all of them must be published); the
    territory total is read from the sources. A share that cannot be computed says why.
    """
    qpv, groups = _qpv_groups(observations, indicators, aggregations=[SUM])
    blocks = []
    for level in ((COMMUNE, EPCI) if len(groups) else ()):
        pairs = _level_pairs(observations, referential, qpv, groups, level)
        if not len(pairs):
            continue
        pairs["label"] = "la part en QPV de " + pairs["territory_label"]
        status = np.full(len(pairs), OK, dtype=object)
        reason = np.full(len(pairs), None, dtype=object)
        if level == COMMUNE:
            _withhold(pairs, status, reason, [(pairs["spanning_codes"] != "", NOT_COMPUTABLE, lambda f: (
                "valeur de " + f["label"] + " non calculable : un QPV s'étend sur plusieurs communes"))])
        _withhold(pairs, status, reason, _member_checks(pairs))
        qpv_total = np.where(status == OK, pairs["sum_value"].to_numpy(), np.nan)
        _withhold(pairs, status, reason, _territory_checks(pairs))
        territory_total = np.where(status == OK, pairs["territory_value"].astype("float64").to_numpy(na_value=np.nan),
                                   np.nan)
        _withhold(pairs, status, reason, [((territory_total <= 0) | (qpv_total > territory_total), NOT_COMPUTABLE,
                                           lambda f: "valeur de " + f["label"] + " non calculable : total du "
                                                     "territoire incohérent")])
        ok = status == OK
        with np.errstate(divide="ignore", invalid="ignore"):
            share = _rounded(100.0 * qpv_total / territory_total, ok)
        blocks.append({**_common(pairs), "source_label": _source_labels(pairs), "territory_level": np.full(
            len(pairs), level, dtype=object), "territory_code": pairs["perimeter_code"],
            "territory_name": pairs["territory_label"], "qpv_total": qpv_total, "territory_total": territory_total,
            "share": share, "status": status, "reason": reason})
    return _table(blocks, SHARE_COLUMNS, ["qpv_total", "territory_total", "share"])
