"""The derived territories and QPV shares as first written: one territory at a time, filtering the
observations for each. Kept as the reference the vectorised aggregation.py must equal exactly
(tests/test_aggregation_equivalence.py); too slow for national data, plain to read."""

from __future__ import annotations

import pandas as pd

from qpv_observatory.aggregation import (ABSENT, DERIVED_COLUMNS, NOT_AGGREGABLE, NOT_AGGREGABLE_STATUS, NOT_COMPUTABLE,
                                         PRECISION, RATIO_OF_SUMS, SHARE_COLUMNS, SUM, WEIGHTED_MEAN, contract_code,
                                         hors_qpv_code)
from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import (COMMUNE, COMMUNE_HORS_QPV, EPCI, EPCI_HORS_QPV, QPV, QPV_CONTRACT,
                                         qpv_geography)
from qpv_observatory.values import OK, SECRET, STATUS_LABELS_FR


def _scale(unit: str) -> float:
    return 100.0 if unit == "%" else 1.0


class _Blocked(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _check_members(members: pd.DataFrame, expected: list[str], label: str) -> None:
    """Every QPV of the perimeter must have a published number, else the derived value is withheld."""
    missing = sorted(set(expected) - set(members["territory_code"]))
    if missing:
        raise _Blocked(NOT_COMPUTABLE, f"valeur de {label} non calculable : aucune valeur pour {', '.join(missing)} dans la source")
    secret = members[members["status"] == SECRET]
    if len(secret):
        codes = ", ".join(sorted(secret["territory_code"]))
        raise _Blocked(SECRET, f"valeur de {label} non publiée : {codes} soumis au secret statistique ; la publier "
                               "permettrait de retrouver la valeur secrète par différence")
    other = members[members["status"] != OK]
    if len(other):
        row = other.sort_values("territory_code").iloc[0]
        raise _Blocked(NOT_COMPUTABLE, f"valeur de {label} non calculable : valeur de {row.territory_code} non publiée "
                                       f"({STATUS_LABELS_FR.get(row.status, row.status)})")


def _check_territory(territory: pd.Series | None, label: str, territory_label: str) -> None:
    if territory is None:
        raise _Blocked(ABSENT, f"valeur de {label} non calculable : valeur de {territory_label} absente des sources")
    if territory["status"] == SECRET:
        raise _Blocked(SECRET, f"valeur de {label} non publiée : valeur de {territory_label} soumise au secret statistique")
    if territory["status"] != OK:
        raise _Blocked(NOT_COMPUTABLE, f"valeur de {label} non calculable : valeur de {territory_label} non publiée "
                                       f"({STATUS_LABELS_FR.get(territory['status'], territory['status'])})")


def _need_counts(frame: pd.DataFrame, columns: tuple[str, ...], label: str, aggregation: str) -> None:
    lacking = frame[frame[list(columns)].isna().any(axis=1)]
    if len(lacking):
        what = "numérateur et le dénominateur" if aggregation == RATIO_OF_SUMS else "poids (dénominateur)"
        raise _Blocked(NOT_COMPUTABLE, f"valeur de {label} non calculable : la source ne donne pas le {what} de "
                                       f"{', '.join(sorted(lacking['territory_code']))} ; un taux ne se moyenne pas")


def combine(members: pd.DataFrame, territory: pd.Series | None, aggregation: str, unit: str) -> tuple[float, float | None, float | None]:
    """Value, numerator, denominator of the members together (territory None) or of territory minus members.

    Inputs must already be checked as published. Raises _Blocked when the aggregation rule forbids it.
    """
    sign = 1.0 if territory is None else -1.0

    def total(column: str) -> float:
        own = 0.0 if territory is None else float(territory[column])
        return own + sign * float(members[column].astype("float64").sum())

    if aggregation == SUM:
        return total("value"), None, None
    if aggregation == RATIO_OF_SUMS:
        numerator, denominator = total("numerator"), total("denominator")
        if denominator <= 0 or numerator < 0:
            raise _Blocked(NOT_COMPUTABLE, "incohérence : les QPV dépassent le territoire englobant")
        return _scale(unit) * numerator / denominator, numerator, denominator
    if aggregation == WEIGHTED_MEAN:
        weighted = members["value"].astype("float64") * members["denominator"].astype("float64")
        own = 0.0 if territory is None else float(territory["value"]) * float(territory["denominator"])
        weight = total("denominator")
        if weight <= 0:
            raise _Blocked(NOT_COMPUTABLE, "incohérence : les QPV dépassent le territoire englobant")
        return (own + sign * float(weighted.sum())) / weight, None, weight
    raise _Blocked(NOT_AGGREGABLE_STATUS, "indicateur non agrégeable (médiane ou équivalent) : jamais moyenné "
                                          "ni soustrait")


def _derive(members: pd.DataFrame, expected: list[str], territory: pd.Series | None, territory_label: str,
            aggregation: str, unit: str, label: str, subtract: bool) -> dict:
    try:
        if aggregation == NOT_AGGREGABLE:
            combine(members, None, aggregation, unit)  # raises with the reason
        _check_members(members, expected, label)
        if subtract:
            _check_territory(territory, label, territory_label)
        if aggregation in (RATIO_OF_SUMS, WEIGHTED_MEAN):
            inputs = pd.concat([members, territory.to_frame().T]) if subtract else members
            _need_counts(inputs, ("numerator", "denominator") if aggregation == RATIO_OF_SUMS else ("denominator",),
                         label, aggregation)
        value, numerator, denominator = combine(members, territory if subtract else None, aggregation, unit)
        if aggregation == SUM and value < 0:
            raise _Blocked(NOT_COMPUTABLE, "incohérence : les QPV dépassent le territoire englobant")
    except _Blocked as blocked:
        return {"value": None, "numerator": None, "denominator": None, "status": blocked.status, "reason": blocked.reason}
    return {"value": round(value, PRECISION), "numerator": numerator, "denominator": denominator, "status": OK,
            "reason": None}


def _territory_figure(observations: pd.DataFrame, level: str, code: str, indicator: str, year: int,
                      source: str) -> pd.Series | None:
    """The surrounding territory's figure: from the same source if it has one, else from another
    source of the same indicator and year (e.g. the populations légales for a commune)."""
    rows = observations[(observations["territory_level"] == level) & (observations["territory_code"] == code)
                        & (observations["indicator_id"] == indicator) & (observations["year"] == year)]
    if rows.empty:
        return None
    same = rows[rows["source"] == source]
    return (same if len(same) else rows.sort_values("source")).iloc[0]


def _perimeters(referential: Referential, geography: int) -> tuple[dict, dict, set]:
    links = referential.qpv_links[referential.qpv_links["geography"] == geography]
    by_commune = links.groupby("commune_code")["qpv_code"].agg(lambda s: sorted(set(s))).to_dict()
    by_epci = links.groupby("epci_code")["qpv_code"].agg(lambda s: sorted(set(s))).to_dict()
    spanning = set(links.groupby("qpv_code")["commune_code"].nunique().loc[lambda n: n > 1].index)
    return by_commune, by_epci, spanning


def _groups(observations: pd.DataFrame):
    qpv = observations[observations["territory_level"] == QPV]
    qpv = qpv.assign(_geography=qpv["territory_code"].map(qpv_geography))
    yield from qpv.groupby(["indicator_id", "year", "source", "_geography"], sort=True)


def derive_comparison_territories(observations: pd.DataFrame, referential: Referential,
                                  indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator, year, source and derived territory, with its status and, when it is
    not published, the reason in French."""
    names = referential.territories.set_index(["territory_code", "territory_level"])["name"].to_dict()
    meta = indicators.set_index("indicator_id")
    rows = []
    for (indicator, year, source, geography), group in _groups(observations):
        by_commune, by_epci, spanning = _perimeters(referential, int(geography))
        aggregation, unit = meta.at[indicator, "aggregation"], meta.at[indicator, "unit"]
        source_label = group["source_label"].iloc[0]
        present = set(group["territory_code"])

        def add(level, code, parent, name, expected, territory, territory_label, label, subtract, blocked=None):
            members = group[group["territory_code"].isin(expected)]
            result = blocked or _derive(members, expected, territory, territory_label, aggregation, unit, label, subtract)
            label_out = source_label
            if subtract and territory is not None and territory["source"] != source:
                label_out = f"{source_label} ; {territory['source_label']} ({territory_label})"
            rows.append({"indicator_id": indicator, "year": year, "source": source, "source_label": label_out,
                         "territory_level": level, "territory_code": code, "territory_name": name,
                         "parent_code": parent, "qpv_codes": ",".join(expected), "aggregation": aggregation,
                         **result})

        for epci, members in by_epci.items():
            if not present & set(members):
                continue
            epci_name = names.get((epci, EPCI), epci)
            add(QPV_CONTRACT, contract_code(epci), epci, f"Ensemble des QPV du contrat ({epci_name})", members,
                None, epci_name, "l'ensemble des QPV du contrat", subtract=False)
            add(EPCI_HORS_QPV, hors_qpv_code(epci), epci, f"{epci_name} hors QPV", members,
                _territory_figure(observations, EPCI, epci, indicator, year, source), epci_name,
                "l'EPCI hors QPV", subtract=True)
        for commune, members in by_commune.items():
            if not present & set(members):
                continue
            commune_name = names.get((commune, COMMUNE), commune)
            across = sorted(spanning & set(members))
            blocked = None
            if across:  # the part of such a QPV lying in this commune is not published
                blocked = {"value": None, "numerator": None, "denominator": None, "status": NOT_COMPUTABLE,
                           "reason": f"valeur de la commune hors QPV non calculable : {', '.join(across)} s'étend sur "
                                     "plusieurs communes et sa part dans celle-ci n'est pas publiée"}
            add(COMMUNE_HORS_QPV, hors_qpv_code(commune), commune, f"{commune_name} hors QPV", members,
                _territory_figure(observations, COMMUNE, commune, indicator, year, source), commune_name,
                "la commune hors QPV", subtract=True, blocked=blocked)
    frame = pd.DataFrame(rows, columns=DERIVED_COLUMNS)
    frame = frame.astype({"year": "int64", "value": "Float64", "numerator": "Float64", "denominator": "Float64"})
    return frame.sort_values(["indicator_id", "year", "source", "territory_level", "territory_code"],
                             kind="mergesort").reset_index(drop=True)


def qpv_shares(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame) -> pd.DataFrame:
    """For counts (aggregation ``sum``, e.g. population): the share of each commune and EPCI living in its QPV.

    The QPV total is the sum of the QPV of the territory (all of them must be published); the
    territory total is read from the sources. A share that cannot be computed says why.
    """
    names = referential.territories.set_index(["territory_code", "territory_level"])["name"].to_dict()
    meta = indicators.set_index("indicator_id")
    rows = []
    for (indicator, year, source, geography), group in _groups(observations):
        if meta.at[indicator, "aggregation"] != SUM:
            continue
        by_commune, by_epci, spanning = _perimeters(referential, int(geography))
        present = set(group["territory_code"])
        for level, perimeters in ((COMMUNE, by_commune), (EPCI, by_epci)):
            for code, members in perimeters.items():
                if not present & set(members):
                    continue
                name = names.get((code, level), code)
                territory = _territory_figure(observations, level, code, indicator, year, source)
                label = f"la part en QPV de {name}"
                qpv_total = territory_total = share = None
                status, reason = OK, None
                try:
                    if level == COMMUNE and spanning & set(members):
                        raise _Blocked(NOT_COMPUTABLE, f"valeur de {label} non calculable : un QPV s'étend sur plusieurs communes")
                    _check_members(group[group["territory_code"].isin(members)], members, label)
                    qpv_total = float(group[group["territory_code"].isin(members)]["value"].astype("float64").sum())
                    _check_territory(territory, label, name)
                    territory_total = float(territory["value"])
                    if territory_total <= 0 or qpv_total > territory_total:
                        raise _Blocked(NOT_COMPUTABLE, f"valeur de {label} non calculable : total du territoire incohérent")
                    share = round(100.0 * qpv_total / territory_total, PRECISION)
                except _Blocked as blocked:
                    status, reason = blocked.status, blocked.reason
                source_label = group["source_label"].iloc[0]
                if territory is not None and territory["source"] != source:
                    source_label = f"{source_label} ; {territory['source_label']} ({name})"
                rows.append({"indicator_id": indicator, "year": year, "source": source, "source_label": source_label,
                             "territory_level": level, "territory_code": code, "territory_name": name,
                             "qpv_codes": ",".join(members), "qpv_total": qpv_total, "territory_total": territory_total,
                             "share": share, "status": status, "reason": reason})
    frame = pd.DataFrame(rows, columns=SHARE_COLUMNS)
    frame = frame.astype({"year": "int64", "qpv_total": "Float64", "territory_total": "Float64", "share": "Float64"})
    return frame.sort_values(["indicator_id", "year", "source", "territory_level", "territory_code"],
                             kind="mergesort").reset_index(drop=True)
