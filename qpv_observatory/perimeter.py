"""The observatory's territory, declared once in data/raw/sources.toml::

    [perimetre]
    epci = ["200041317"]          # or communes = [...], departements = [...], or france = true

National files (INSEE's QPV tables, Filosofi for every commune...) are read as published; their
rows outside the territory are left out and counted, never errors. Inside it, an unknown code is
still an error: a code the referential does not know is kept (and refused by the source suite)
when it lies in a département of the territory. So the referential lists every QPV of these
départements (the ANCT list does), and a mistyped QPV code is refused, not left out. Rows of the
national levels are always kept.

When the referential lists every commune (a COG or the EPCI composition is declared) or every EPCI
(the EPCI composition), a code of that level it does not know has ceased to exist since the data's
year (merged communes, EPCI): its rows are left out and their codes listed as a warning, so that a
national millésime is not blocked by them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.formatting import format_fr
from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import (COMMUNE, DEPARTEMENT, EPCI, QPV, LEVEL_LABELS_FR, is_valid_code,
                                         qpv_geography)

PERIMETER_KEY = "perimetre"
MAX_CODES_SHOWN = 20
LEFT_OUT_COLUMNS = ["source_file", "reason", "territory_level", "territories", "rows", "codes"]


@dataclass(frozen=True)
class Perimeter:
    epci: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    france: bool = False

    @property
    def limited(self) -> bool:
        """Whether rows may fall outside it (not declared, or all of France: every row is inside)."""
        return not self.france and bool(self.epci or self.communes or self.departements)


def perimeter_from_manifest(content: dict, display: str) -> Perimeter:
    """The [perimetre] table of the shared manifest; none declared: every row must be known."""
    table = content.get(PERIMETER_KEY)
    if table is None:
        return Perimeter()
    if not isinstance(table, dict):
        raise SourceFileError(display, "[perimetre] doit être une table : epci = [...], communes = [...], "
                                       "departements = [...] ou france = true")
    unknown = sorted(set(table) - {"epci", "communes", "departements", "france"})
    if unknown:
        raise SourceFileError(display, f"[perimetre] : clé(s) inconnue(s) {', '.join(unknown)} ; admises : epci, "
                                       "communes, departements, france")
    if "france" in table and not isinstance(table["france"], bool):
        raise SourceFileError(display, "[perimetre] : france = true ou false")
    lists = {}
    for key, level, example in (("epci", EPCI, "200041317"), ("communes", COMMUNE, "79191"),
                                ("departements", DEPARTEMENT, "79")):
        values = table.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise SourceFileError(display, f"[perimetre] : {key} = une liste de codes entre guillemets "
                                           f"(ex. {key} = [\"{example}\"])")
        bad = [v for v in values if not is_valid_code(v.strip().upper(), level)]
        if bad:
            raise SourceFileError(display, f"[perimetre] : {', '.join(map(repr, bad))} n'est pas un code {level}")
        lists[key] = tuple(v.strip().upper() for v in values)
    perimeter = Perimeter(**lists, france=table.get("france", False))
    if not perimeter.france and not perimeter.limited:
        raise SourceFileError(display, "[perimetre] vide : déclarer epci, communes, departements ou france = true")
    return perimeter


def departement_of_commune(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def departement_of_qpv(code: str) -> str:
    """QP079001 -> 79, QN02A01M -> 2A, QP971001 -> 971."""
    written = code[2:5]
    return written if written.startswith("97") else written[1:]


@dataclass(frozen=True)
class Territory:
    """The codes inside a perimeter, as the referential knows them."""
    qpv: frozenset[str]
    communes: frozenset[str]
    epci: frozenset[str]
    departements: frozenset[str]


def known_codes(referential: Referential) -> dict[str, frozenset[str]]:
    """Every QPV, commune and EPCI code the referential knows, by level."""
    territories, links, composition = referential.territories, referential.qpv_links, referential.commune_epci

    def listed(level: str) -> set[str]:
        return set(territories.loc[territories["territory_level"] == level, "territory_code"])

    return {QPV: frozenset(listed(QPV) | set(links["qpv_code"])),
            COMMUNE: frozenset(listed(COMMUNE) | set(links["commune_code"].dropna())
                               | set(composition["commune_code"].dropna())),
            EPCI: frozenset(listed(EPCI) | set(composition["epci_code"]))}


def territory_of(perimeter: Perimeter, referential: Referential,
                 known: dict[str, frozenset[str]] | None = None) -> Territory:
    links, composition = referential.qpv_links, referential.commune_epci
    known_communes = (known or known_codes(referential))[COMMUNE]
    communes = set(perimeter.communes)
    communes |= set(composition.loc[composition["epci_code"].isin(perimeter.epci), "commune_code"])
    communes |= set(links.loc[links["epci_code"].isin(perimeter.epci), "commune_code"].dropna())
    communes |= {c for c in known_communes if departement_of_commune(c) in perimeter.departements}
    epci = set(perimeter.epci) | set(composition.loc[composition["commune_code"].isin(communes), "epci_code"])
    epci |= set(links.loc[links["commune_code"].isin(communes), "epci_code"].dropna())
    qpv = set(links.loc[links["commune_code"].isin(communes), "qpv_code"])
    departements = set(perimeter.departements) | {departement_of_commune(c) for c in communes}
    return Territory(frozenset(qpv), frozenset(communes), frozenset(epci), frozenset(departements))


INSIDE, OUTSIDE, NO_LONGER_EXISTS = "inside", "outside", "no_longer_exists"


def qpv_links_inside(perimeter: Perimeter, referential: Referential) -> pd.DataFrame:
    """The referential's QPV links inside the perimeter (all of them without one): the QPV whose
    contracts the observatory reports on (the referential may list the département's other QPV)."""
    links = referential.qpv_links
    if not perimeter.limited:
        return links
    return links[links["qpv_code"].isin(territory_of(perimeter, referential).qpv)].reset_index(drop=True)


def _placement(code: str, level: str, territory: Territory | None, known: dict[str, frozenset[str]],
               complete_levels: frozenset[str]) -> str:
    """Where a row's territory stands: inside, outside the perimeter, or a commune or EPCI that the
    referential no longer has (``territory`` None: all of France)."""
    if level in complete_levels and code not in known[level] and is_valid_code(code, level):
        return NO_LONGER_EXISTS
    if territory is None:
        return INSIDE
    if level == QPV:
        if code in known[QPV]:
            return INSIDE if code in territory.qpv else OUTSIDE
        # A malformed code is kept: the source suite names it.
        return INSIDE if qpv_geography(code) is None or departement_of_qpv(code) in territory.departements else OUTSIDE
    if level == COMMUNE:
        if code in known[COMMUNE]:
            return INSIDE if code in territory.communes else OUTSIDE
        return (INSIDE if not is_valid_code(code, COMMUNE) or departement_of_commune(code) in territory.departements
                else OUTSIDE)
    if level == EPCI:
        return INSIDE if code in territory.epci else OUTSIDE
    if level == DEPARTEMENT:
        return INSIDE if code in territory.departements else OUTSIDE
    return INSIDE  # regions, unités urbaines, the national levels


def within_perimeter(observations: pd.DataFrame, perimeter: Perimeter,
                     referential: Referential) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The observations inside the perimeter, and what was left out (LEFT_OUT_COLUMNS): per file, reason
    (outside the perimeter, or a commune that no longer exists in the referential's COG) and level, how
    many territories and rows, and their codes."""
    complete = referential.complete_levels
    if observations.empty or not (perimeter.limited or (perimeter.france and complete)):
        return observations, pd.DataFrame(columns=LEFT_OUT_COLUMNS)
    known = known_codes(referential)
    territory = territory_of(perimeter, referential, known) if perimeter.limited else None
    # Decided once per distinct (code, level): national files repeat each code for every variable.
    pairs = observations[["territory_code", "territory_level"]].astype(str)
    keys = pairs["territory_level"] + "\x1f" + pairs["territory_code"]
    codes, distinct = pd.factorize(keys)
    placed = np.array([_placement(code, level, territory, known, complete)
                       for level, _, code in (d.partition("\x1f") for d in distinct)], dtype=object)[codes]
    keep = placed == INSIDE
    if keep.all():
        return observations, pd.DataFrame(columns=LEFT_OUT_COLUMNS)
    out = observations.loc[~keep, ["source_file", "territory_level", "territory_code"]].assign(reason=placed[~keep])
    left_out = (out.groupby(["source_file", "reason", "territory_level"], sort=True)
                .agg(territories=("territory_code", "nunique"), rows=("territory_code", "size"),
                     codes=("territory_code", lambda c: sorted(set(c)))).reset_index())
    return observations[keep].reset_index(drop=True), left_out[LEFT_OUT_COLUMNS]


GONE_LABELS_FR = {COMMUNE: "communes absentes du COG du référentiel (fusionnées depuis ?)",
                  EPCI: "EPCI absents de la composition des EPCI du référentiel (fusionnés depuis ?)"}
COUNT_LABELS_FR = {QPV: ("QPV", "QPV"), COMMUNE: ("commune", "communes"), EPCI: ("EPCI", "EPCI"),
                   DEPARTEMENT: ("département", "départements")}


def left_out_summary_fr(left_out: pd.DataFrame) -> dict[str, str]:
    """Per file, what a person reads: « hors périmètre : 1 342 QPV, 34 800 communes » ; « communes
    absentes du COG du référentiel (fusionnées depuis ?) : 2 (01015, 01080) »."""
    summary = {}
    for file, rows in left_out.groupby("source_file", sort=True):
        texts = []
        outside = rows[rows["reason"] == OUTSIDE]
        if len(outside):
            parts = []
            for level, count in zip(outside["territory_level"], outside["territories"]):
                one, many = COUNT_LABELS_FR.get(level, (LEVEL_LABELS_FR.get(level, level),) * 2)
                parts.append(f"{format_fr(count, 0)} {one if count == 1 else many}")
            texts.append("hors périmètre : " + ", ".join(parts))
        gone = rows[rows["reason"] == NO_LONGER_EXISTS]
        for level, count, codes in zip(gone["territory_level"], gone["territories"], gone["codes"]):
            shown = ", ".join(codes[:MAX_CODES_SHOWN]) + (", …" if len(codes) > MAX_CODES_SHOWN else "")
            texts.append(f"{GONE_LABELS_FR.get(level, level)} : {format_fr(count, 0)} ({shown})")
        summary[file] = " ; ".join(texts)
    return summary
