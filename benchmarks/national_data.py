"""Synthetic national dataset for the benchmark, written in the real source layouts.

``python -m benchmarks.national_data OUT_DIR --scale 0.125 --vintages 10 --indicators 150 --seed 1``
writes ``OUT_DIR/raw/`` (referentials shared by every millésime, one folder per millésime with its
own ``sources.toml``) and ``OUT_DIR/catalogue/`` (the catalogue files describing the synthetic
indicators). ``--add-vintage`` adds the next millésime to an existing folder.

At scale 1: 35,000 communes in the 101 départements (2A, 2B and overseas included), 1,250 EPCI (a
few island communes outside any EPCI, as in the INSEE composition), 1,600 QPV in the 2015
geography (millésimes before 2024) and 1,600 in the 2024 one (statuses I/M/N about 70/20/10 %,
with the official correspondence), about 6 % of QPV spanning two communes.

Every figure comes from one synthetic "world": the counts of each QPV and of the rest of each
commune add up into communes and EPCI, so that the comparison values, and the derived territories
(commune hors QPV...), are coherent. QPV are worse off than their commune on average. About 2-3 %
of the published cells are secret (``s``, ``nd``, blank) and the catalogued "zero meaning not
available" CAF counts carry a few zeros.

Each source has one file per territory level and indicator: the INSEE RP gives a QPV file, a file
over all communes and an EPCI file; Filosofi (Windows-1252), Cnaf (CAF layout) and Cnam give one
file with the QPV, their communes and their EPCI; France Travail gives four quarters per commune.
INSEE's QPV files (RP, Filosofi, Cnam) end with three national rows, never secret: all the QPV of
the year's geography together (NIVGEO ``FRQP``), metropolitan France (``FRMETRO``) and France
(``FR``), so that each QPV is also compared with the national levels.

Deterministic: every draw comes from a numpy Generator seeded by (seed, purpose, ...), so that the
same arguments write byte-identical files and a millésime added later is the one the full
generation would have written.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
import time
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

PROJECT_ROOT = Path(__file__).resolve().parent.parent

BASE_YEAR = 2015  # populations and levels are given for this year, then drift
GEOGRAPHY_2024_FROM = 2024  # the 2024 QPV geography applies from this millésime on
LAST_YEAR = 2024  # the generated millésimes end here; --add-vintage goes on from the last one
FRANCE_TRAVAIL_REFORM_YEAR = 2025  # automatic registration of RSA beneficiaries: counts jump
NATIONAL_COMMUNES, NATIONAL_EPCI, NATIONAL_QPV, NATIONAL_ISLANDS = 35_000, 1_250, 1_600, 4
QPV_SPANNING_SHARE = 0.06
STATUS_SHARES_2024 = {"I": 0.7, "M": 0.2}  # the rest are new QPV (N)
STATUS_LABELS = {"I": "Inchangé", "M": "Modifié", "N": "Nouveau"}
MARKERS, MARKER_SHARES = np.array(["s", "nd", ""]), [0.6, 0.25, 0.15]
# Share of secret cells by row kind; small communes of the all-communes file more often.
SECRET_QPV, SECRET_COMPARISON, SECRET_COMMUNE, SECRET_SMALL_COMMUNE, SECRET_DEFM = 0.03, 0.005, 0.01, 0.10, 0.025
SMALL_COMMUNE = 150  # inhabitants
ZERO_NOT_AVAILABLE_SHARE = 0.015
GENERATION_FILE = "generation.json"
# National rows of INSEE's QPV files (NIVGEO, CODGEO, LIBGEO): the QPV of the year's geography taken
# together, metropolitan France, France.
NATIONAL = "national"
NATIONAL_ROWS = (("FRQP", "FRQP", "Ensemble des QPV de France"), ("FRMETRO", "FRMETRO", "France métropolitaine"),
                 ("FR", "FR", "France"))
NO_EPCI = "ZZZZZZZZZ"

# Départements by region (COG codes); the 3-character form of QPV codes pads metropolitan ones with 0.
_REGIONS = {
    "84": "01 03 07 15 26 38 42 43 63 69 73 74", "27": "21 25 39 58 70 71 89 90", "53": "22 29 35 56",
    "24": "18 28 36 37 41 45", "94": "2A 2B", "44": "08 10 51 52 54 55 57 67 68 88", "32": "02 59 60 62 80",
    "11": "75 77 78 91 92 93 94 95", "28": "14 27 50 61 76", "75": "16 17 19 23 24 33 40 47 64 79 86 87",
    "76": "09 11 12 30 31 32 34 46 48 65 66 81 82", "52": "44 49 53 72 85", "93": "04 05 06 13 83 84",
    "01": "971", "02": "972", "03": "973", "04": "974", "06": "976",
}
REGION_OF = {dep: region for region, deps in _REGIONS.items() for dep in deps.split()}
DEPARTEMENTS = tuple(sorted(REGION_OF))
OVERSEAS = ("971", "972", "973", "974", "976")
# Kept at every scale, so that Corsican and overseas code forms are always exercised.
ALWAYS_KEPT = ("2A", "2B", "971", "974")
ISLAND_DEPARTEMENTS = ("22", "29", "56", "85")  # Bréhat, Ouessant, Sein, Yeu: communes outside any EPCI

_PREFIXES = ["", "", "", "", "Saint-", "Sainte-", "Le ", "La ", "Les ", "Villeneuve-", "Notre-Dame-de-", "Mont-",
             "Bourg-", "Château-"]
_ROOTS = ["Étienne", "Mère", "Aubin", "Brieuc", "Genès", "Éloi", "Rémy", "Chênes", "Prés", "Champs", "Mûriers",
          "Noë", "Orée", "Hêtres", "Thénac", "Ardoise", "Fontaine", "Vallée", "Forêt", "Rivière", "Garenne",
          "Lande", "Côte", "Croix", "Moulin", "Pierre", "Ormeau", "Saulnières", "Bréval", "Égliseneuve",
          "Aÿ", "Œuilly", "Fenouillèdes", "Pénestin", "Quimperlé", "Lézignan", "Bédarieux", "Sérignan",
          "Gâtinais", "Rouvière"]
_SUFFIXES = ["", "", "", "", "", "-sur-Loire", "-en-Forêt", "-lès-Bains", "-d'Arrée", "-le-Château", "-sur-Mer",
             "-la-Rivière", "-en-Bray", "-près-Léon", "-aux-Bois", "-l'Évêque"]
_QPV_NAMES = ["Les Tilleuls", "La Source", "Le Clos Fleuri", "Les Hauts de Ville", "Cité des Fleurs", "Centre ancien",
              "Le Mirail", "Les Épinettes", "Saint-Éloi", "La Grande Borne", "Les Aubiers", "Bel-Air", "Les Provinces",
              "La Noë", "Les Coteaux", "Le Bourg-Neuf", "Beaulieu", "La Forêt", "Les Sablons", "Clos Bouchet",
              "Pré-Gauchet", "Les Mûriers", "Croix-Rouge", "Le Lac", "Quartier Nord", "Les Châtaigniers",
              "La Découverte", "Les Îlots", "Champ-de-Mars", "Pont-de-Bois"]
_NATURE_NAMES = {"ME": "Métropole de", "CU": "Communauté urbaine de", "CA": "Communauté d'agglomération de",
                 "CC": "Communauté de communes de"}


def _rng(seed: int, *purpose: int) -> np.random.Generator:
    """One generator per purpose: adding a draw somewhere never shifts the others."""
    return np.random.default_rng(np.random.SeedSequence([seed, *purpose]))


def geography_of(year: int) -> int:
    return 2024 if year >= GEOGRAPHY_2024_FROM else 2015


def qpv_departement(dep: str) -> str:
    """The 3-character département of QPV codes: 079, 02A, 971."""
    return dep if len(dep) == 3 else f"0{dep}"


# --- Sizes and territories ----------------------------------------------------------------------

@dataclass(frozen=True)
class Sizes:
    departements: int
    communes: int
    epci: int
    qpv: int  # in each geography
    islands: int


def sizes_for(scale: float) -> Sizes:
    if not 0 < scale <= 2:
        raise ValueError(f"échelle {scale} : une valeur entre 0 (exclu) et 2 est attendue (1 = France entière)")
    # Below a tenth of France, fewer départements, so that each still has towns hosting QPV.
    departements = len(DEPARTEMENTS) if scale >= 0.1 else max(6, round(len(DEPARTEMENTS) * scale * 10))
    return Sizes(departements=departements,
                 communes=max(departements * 8, round(NATIONAL_COMMUNES * scale)),
                 epci=max(departements, round(NATIONAL_EPCI * scale)),
                 qpv=max(8, round(NATIONAL_QPV * scale)),
                 islands=max(1, round(NATIONAL_ISLANDS * scale)))


@dataclass
class Geography:
    qpv: pd.DataFrame  # code, name, dep, pop, growth, main (index of the main commune)
    links: pd.DataFrame  # qpv (index), commune (index), share of the QPV's inhabitants living there


@dataclass
class Territories:
    communes: pd.DataFrame  # code, name, dep, pop, growth, epci (index, -1 outside any EPCI)
    delegated: pd.DataFrame  # communes déléguées of the COG: code, name, dep, parent (code)
    epci: pd.DataFrame  # code, name, nature
    geographies: dict[int, Geography]
    correspondence: pd.DataFrame  # code (2024), name, status (I/M/N), formers (tuple of 2015 codes)


def _allocate(total: int, weights: np.ndarray, low: np.ndarray | int, high: np.ndarray | int) -> np.ndarray:
    """Integers summing to ``total``, close to proportional to ``weights``, within [low, high]."""
    weights = np.asarray(weights, dtype=float)
    low = np.broadcast_to(np.asarray(low), weights.shape).astype(int)
    high = np.broadcast_to(np.asarray(high), weights.shape).astype(int)
    if not low.sum() <= total <= high.sum():
        raise ValueError(f"impossible de répartir {total} entre {low.sum()} et {high.sum()}")
    target = total * weights / weights.sum()
    counts = np.clip(np.floor(target).astype(int), low, high)
    while counts.sum() < total:
        deficit = np.where(counts < high, target - counts, -np.inf)
        counts[int(np.argmax(deficit))] += 1
    while counts.sum() > total:
        excess = np.where(counts > low, counts - target, -np.inf)
        counts[int(np.argmax(excess))] -= 1
    return counts


def _names(rng: np.random.Generator, size: int) -> np.ndarray:
    parts = [np.array(words, dtype=object)[rng.integers(0, len(words), size)] for words in (_PREFIXES, _ROOTS, _SUFFIXES)]
    return parts[0] + parts[1] + parts[2]


def _siren(base8: str) -> str:
    """A SIREN: eight digits and the Luhn check digit."""
    for check in "0123456789":
        total = 0
        for position, digit in enumerate(reversed(base8 + check)):
            value = int(digit) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return base8 + check
    raise AssertionError("unreachable: one check digit always completes a Luhn number")


def _choose_departements(sizes: Sizes, rng: np.random.Generator) -> list[str]:
    if sizes.departements >= len(DEPARTEMENTS):
        return list(DEPARTEMENTS)
    others = [d for d in DEPARTEMENTS if d not in ALWAYS_KEPT and d not in OVERSEAS]
    chosen = rng.choice(others, sizes.departements - len(ALWAYS_KEPT), replace=False)
    return sorted([*ALWAYS_KEPT, *chosen])


def _communes(sizes: Sizes, departements: list[str], rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    overseas = np.array([d in OVERSEAS for d in departements])
    weights = np.where(overseas, 0.07, rng.lognormal(0.0, 0.45, len(departements)))
    # Commune numbers: 3 digits in metropolitan départements (with room for communes déléguées),
    # 2 digits after the 3-digit overseas département.
    counts = _allocate(sizes.communes, weights, 2, np.where(overseas, 99, 950))
    rows, delegated = [], []
    for dep, count, is_overseas in zip(departements, counts, overseas):
        n_delegated = 0 if is_overseas else int(rng.binomial(count, 0.015))
        numbers = np.sort(rng.choice(np.arange(1, 100 if is_overseas else 1000), count + n_delegated, replace=False))
        is_delegated = np.zeros(len(numbers), dtype=bool)
        is_delegated[rng.choice(len(numbers), n_delegated, replace=False)] = True
        width = 2 if is_overseas else 3
        codes = np.array([f"{dep}{n:0{width}d}" for n in numbers])
        pop = rng.lognormal(9.3, 0.8, count) if is_overseas else rng.lognormal(6.0, 1.25, count)
        towns = rng.choice(count, min(count, 4), replace=False)
        pop[towns[0]] = rng.lognormal(11.0, 0.6)  # the préfecture
        pop[towns[1:]] = rng.lognormal(9.6, 0.5, len(towns) - 1)
        names = _names(rng, count + n_delegated)
        rows.append(pd.DataFrame({"code": codes[~is_delegated], "name": names[:count], "dep": dep,
                                  "pop": np.maximum(20, np.rint(pop)).astype(np.int64)}))
        if n_delegated:
            parents = rng.choice(codes[~is_delegated], n_delegated)
            delegated.append(pd.DataFrame({"code": codes[is_delegated], "name": names[count:], "dep": dep,
                                           "parent": parents}))
    communes = pd.concat(rows, ignore_index=True)
    communes["growth"] = np.clip(rng.normal(0.003, 0.004, len(communes)), -0.01, 0.015)
    delegated = (pd.concat(delegated, ignore_index=True) if delegated
                 else pd.DataFrame(columns=["code", "name", "dep", "parent"]))
    return communes, delegated


def _epci(sizes: Sizes, communes: pd.DataFrame, departements: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """EPCI as runs of neighbouring communes (in code order) within a département; a few islands outside any."""
    per_dep = communes.groupby("dep", sort=False).size().reindex(departements).to_numpy()
    counts = _allocate(sizes.epci, per_dep, 1, per_dep - 1)
    epci_of = np.empty(len(communes), dtype=np.int64)
    start, next_epci = 0, 0
    for n_communes, n_epci in zip(per_dep, counts):
        cuts = np.sort(rng.choice(np.arange(1, n_communes), n_epci - 1, replace=False))
        epci_of[start:start + n_communes] = next_epci + np.searchsorted(cuts, np.arange(n_communes), side="right")
        start, next_epci = start + n_communes, next_epci + n_epci
    communes["epci"] = epci_of
    # Islands: small communes of an EPCI that keeps other members, preferably in Brittany and Vendée.
    members = np.bincount(epci_of)
    candidates = communes[(members[epci_of] > 2) & (communes["pop"] < 2_000)]
    preferred = candidates[candidates["dep"].isin(ISLAND_DEPARTEMENTS)]
    pool = preferred if len(preferred) >= sizes.islands else candidates
    islands = rng.choice(pool.index.to_numpy(), sizes.islands, replace=False)
    communes.loc[islands, "epci"] = -1

    deps = communes.groupby("epci")["dep"].first().drop(-1, errors="ignore")
    pop = communes[communes["epci"] >= 0].groupby("epci")["pop"].sum()
    largest = communes[communes["epci"] >= 0].sort_values("pop", ascending=False).groupby("epci")["name"].first()
    nature = np.select([pop >= 400_000, pop >= 250_000, pop >= 50_000], ["ME", "CU", "CA"], "CC")
    codes, serial_200, serial_24 = [], 10_000, {}
    for dep, recent in zip(deps, rng.random(len(deps)) < 0.6):
        if recent:  # created since 2009: 200 and a serial number
            serial_200 += int(rng.integers(1, 100))  # 750 EPCI at most stay within eight digits
            codes.append(_siren(f"200{serial_200:05d}"))
        else:  # 24, the département, a serial number
            serial_24[dep] = serial_24.get(dep, 0) + int(rng.integers(1, 40))
            prefix = f"2497{dep[2]}{serial_24[dep]:03d}" if dep in OVERSEAS else \
                f"24{'20' if dep in ('2A', '2B') else dep}{serial_24[dep]:04d}"
            codes.append(_siren(prefix))
    return pd.DataFrame({"code": codes, "name": [f"{_NATURE_NAMES[n]} {name}" for n, name in zip(nature, largest)],
                         "nature": nature}, index=deps.index).reset_index(drop=True)


def _spanning_links(mains: np.ndarray, communes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Links of QPV to their main commune, and for a few to a second commune of the same EPCI."""
    rows = []
    epci = communes["epci"].to_numpy()
    by_epci = communes[epci >= 0].groupby("epci").groups
    spans = rng.random(len(mains)) < QPV_SPANNING_SHARE
    for index, (main, span) in enumerate(zip(mains, spans)):
        others = [] if not span or epci[main] < 0 else [c for c in by_epci[epci[main]] if c != main]
        if others:
            weights = communes.loc[others, "pop"].to_numpy(dtype=float)
            second = int(rng.choice(others, p=weights / weights.sum()))
            rows += [(index, int(main), 0.7), (index, second, 0.3)]
        else:
            rows.append((index, int(main), 1.0))
    return pd.DataFrame(rows, columns=["qpv", "commune", "share"]).astype(
        {"qpv": "int64", "commune": "int64", "share": "float64"})


def _qpv_population(rng: np.random.Generator, size: int) -> np.ndarray:
    return (1_000 + np.rint(rng.lognormal(7.5, 0.8, size))).astype(np.int64)  # 1,000 inhabitants at least


def _host_candidates(communes: pd.DataFrame) -> pd.Series:
    """Communes that can host a QPV: towns of 5,000 inhabitants or more, else each département's largest."""
    eligible = communes[communes["epci"] >= 0]
    towns = eligible[eligible["pop"] >= 5_000]
    largest = eligible.loc[eligible.groupby("dep")["pop"].idxmax()]
    return pd.concat([towns, largest[~largest.index.isin(towns.index)]]).sort_index()["dep"]


def _geography_2015(sizes: Sizes, communes: pd.DataFrame, departements: list[str],
                    rng: np.random.Generator) -> Geography:
    hosts = _host_candidates(communes)
    urban = communes.loc[hosts.index].groupby("dep")["pop"].sum().reindex(departements, fill_value=0)
    required = np.array([d in ALWAYS_KEPT or d in OVERSEAS for d in departements], dtype=int)
    counts = _allocate(sizes.qpv, urban.to_numpy() + 1.0, required, 90)
    mains, deps, numbers = [], [], []
    for dep, count in zip(departements, counts):
        candidates = hosts[hosts == dep].index.to_numpy()
        weights = communes.loc[candidates, "pop"].to_numpy(dtype=float)
        mains += list(rng.choice(candidates, count, p=weights / weights.sum()))
        deps += [dep] * count
        numbers += range(1, count + 1)
    qpv = pd.DataFrame({"code": [f"QP{qpv_departement(d)}{n:03d}" for d, n in zip(deps, numbers)],
                        "name": np.array(_QPV_NAMES, dtype=object)[rng.integers(0, len(_QPV_NAMES), len(deps))],
                        "dep": deps, "pop": _qpv_population(rng, len(deps)),
                        "growth": np.clip(rng.normal(0.002, 0.006, len(deps)), -0.015, 0.015),
                        "main": np.array(mains, dtype=np.int64)})
    return Geography(qpv, _spanning_links(qpv["main"].to_numpy(), communes, rng))


def _geography_2024(sizes: Sizes, communes: pd.DataFrame, old: Geography,
                    rng: np.random.Generator) -> tuple[Geography, pd.DataFrame]:
    """The 2024 QPV: unchanged (I) or modified (M, sometimes merging two 2015 QPV of the same
    commune) successors of 2015 QPV, and new ones (N); the other 2015 QPV leave the policy."""
    total = sizes.qpv
    n_unchanged = round(total * STATUS_SHARES_2024["I"])
    n_modified = min(round(total * STATUS_SHARES_2024["M"]), len(old.qpv) - n_unchanged)
    old_main, old_dep, old_code = list(old.qpv["main"]), list(old.qpv["dep"]), list(old.qpv["code"])
    old_name, old_pop, old_growth = list(old.qpv["name"]), list(old.qpv["pop"]), list(old.qpv["growth"])
    order = [int(i) for i in rng.permutation(len(old.qpv))]
    leaving: dict[int, list[int]] = {}
    for index in order[n_unchanged + n_modified:]:
        leaving.setdefault(old_main[index], []).append(index)
    successors = [("I", [index], old_main[index]) for index in order[:n_unchanged]]  # (status, formers, main)
    for index in order[n_unchanged:n_unchanged + n_modified]:
        formers = [index]
        if rng.random() < 0.3 and leaving.get(old_main[index]):
            formers.append(leaving[old_main[index]].pop(0))  # merged with a neighbour of the same commune
        successors.append(("M", formers, old_main[index]))
    per_dep: dict[str, int] = {}
    for _, formers, _ in successors:
        per_dep[old_dep[formers[0]]] = per_dep.get(old_dep[formers[0]], 0) + 1
    hosts = _host_candidates(communes).index.to_numpy()
    weights = communes.loc[hosts, "pop"].to_numpy(dtype=float)
    commune_dep = list(communes["dep"])
    while len(successors) < total:
        main = int(rng.choice(hosts, p=weights / weights.sum()))
        if per_dep.get(commune_dep[main], 0) < 99:  # two digits per département in 2024 codes
            per_dep[commune_dep[main]] = per_dep.get(commune_dep[main], 0) + 1
            successors.append(("N", [], main))

    new_names = np.array(_QPV_NAMES, dtype=object)[rng.integers(0, len(_QPV_NAMES), total)]
    rows = []
    for (status, formers, main), new_name, factor in zip(successors, new_names, rng.uniform(0.9, 1.2, total)):
        if formers:
            first = formers[0]
            rows.append({"sort": old_code[first], "status": status, "formers": tuple(old_code[f] for f in formers),
                         "first_former": first, "name": " - ".join(old_name[f] for f in formers),
                         "dep": old_dep[first], "pop": round(sum(old_pop[f] for f in formers) * factor),
                         "growth": old_growth[first], "main": main})
        else:
            rows.append({"sort": "~", "status": status, "formers": (), "first_former": -1, "name": new_name,
                         "dep": commune_dep[main], "pop": int(_qpv_population(rng, 1)[0]),
                         "growth": float(np.clip(rng.normal(0.002, 0.006), -0.015, 0.015)), "main": main})
    qpv = pd.DataFrame(rows).sort_values(["dep", "sort"], kind="mergesort").reset_index(drop=True)
    number = qpv.groupby("dep").cumcount() + 1
    qpv["code"] = [f"QN{qpv_departement(d)}{n:02d}{s}" for d, n, s in zip(qpv["dep"], number, qpv["status"])]
    # Successors keep the communes of their (first) 2015 QPV; new ones get their own links.
    inherited = old.links.merge(qpv.reset_index()[["index", "first_former"]], left_on="qpv", right_on="first_former")
    inherited = inherited.assign(qpv=inherited["index"])[["qpv", "commune", "share"]]
    new = qpv.index[qpv["first_former"] < 0].to_numpy()
    fresh = _spanning_links(qpv.loc[new, "main"].to_numpy(), communes, rng)
    fresh["qpv"] = new[fresh["qpv"].to_numpy()]
    links = pd.concat([inherited, fresh]).sort_values(["qpv", "commune"]).reset_index(drop=True)
    correspondence = qpv[["code", "name", "status", "formers"]]
    qpv = qpv[["code", "name", "dep", "pop", "growth", "main"]].astype({"pop": "int64", "main": "int64"})
    return Geography(qpv, links), correspondence


def build_territories(scale: float, seed: int) -> Territories:
    sizes = sizes_for(scale)
    rng = _rng(seed, 0)
    departements = _choose_departements(sizes, rng)
    communes, delegated = _communes(sizes, departements, rng)
    epci = _epci(sizes, communes, departements, rng)
    geography_2015 = _geography_2015(sizes, communes, departements, rng)
    geography_2024, correspondence = _geography_2024(sizes, communes, geography_2015, rng)
    # A commune holds more people than its QPV: at most 60 % of it lives in QPV, in either geography.
    for geography in (geography_2015, geography_2024):
        load = np.zeros(len(communes))
        np.add.at(load, geography.links["commune"].to_numpy(),
                  geography.links["share"].to_numpy() * geography.qpv["pop"].to_numpy()[geography.links["qpv"].to_numpy()])
        communes["pop"] = np.maximum(communes["pop"].to_numpy(), np.ceil(load / 0.6)).astype(np.int64)
    return Territories(communes, delegated, epci, {2015: geography_2015, 2024: geography_2024}, correspondence)


# --- Indicators and catalogue -------------------------------------------------------------------

RATE, COUNT, MEDIAN, MEAN = "rate", "count", "median", "mean"


@dataclass(frozen=True)
class SourceSpec:
    source: str
    prefix: str  # of indicator ids
    short_label: str
    share: float  # of the indicators (France Travail apart)
    kinds: tuple[str, ...]  # cycled through, indicator after indicator
    count_unit: str
    themes: tuple[str, ...]


SOURCE_SPECS = (
    SourceSpec("insee_rp", "rp", "RP", 0.12, (RATE, COUNT, RATE, MEAN, RATE, RATE, RATE, COUNT), "habitants",
               ("Démographie", "Emploi", "Éducation", "Logement", "Mobilité")),
    SourceSpec("insee_filosofi", "filo", "Filosofi", 0.20, (MEDIAN, RATE, MEDIAN, RATE, COUNT), "ménages", ("Revenus",)),
    SourceSpec("cnaf", "caf", "Cnaf", 0.36, (RATE, COUNT, RATE, RATE), "allocataires", ("Prestations sociales", "Famille")),
    SourceSpec("cnam", "cnam", "Cnam", 0.32, (RATE, MEAN, RATE, RATE, COUNT), "assurés", ("Santé", "Prestations sociales")),
)
FRANCE_TRAVAIL = "france_travail"
# Job-seeker categories and their share of the population; one category below 30 indicators.
DEFM_CATEGORIES = {"A": 0.035, "ABC": 0.06, "ABCDE": 0.075}
SOURCE_ORDER = tuple(s.source for s in SOURCE_SPECS) + (FRANCE_TRAVAIL,)
# Means: (unit, level, QPV factor, weight per inhabitant).
MEAN_KINDS = (("ans", 39.0, 0.82, 1.0), ("m²", 78.0, 0.8, 0.45), ("pièces", 4.1, 0.8, 0.45))


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    source: str
    kind: str
    number: int  # within its source, from 1
    label_fr: str
    unit: str
    theme: str
    polarity: str
    aggregation: str
    level: float  # national level in the base year: rate (%), median (€), mean (unit)
    trend: float  # yearly relative change of the level
    share: float  # denominator (or count) per inhabitant
    qpv_factor: float  # QPV figure / commune figure, on average
    zero_not_available: bool = False


_KIND_WORDS = {RATE: ("taux", "Part synthétique"), COUNT: ("effectif", "Effectif synthétique"),
               MEDIAN: ("mediane", "Revenu médian synthétique"), MEAN: ("moyenne", "Moyenne synthétique")}
_KIND_DEFINITIONS = {
    RATE: "un taux, recalculé pour un ensemble de territoires comme somme des numérateurs sur somme des dénominateurs",
    COUNT: "un effectif, qui s'additionne",
    MEDIAN: "une médiane par unité de consommation, jamais moyennée",
    MEAN: "une moyenne, agrégée en la pondérant par son dénominateur",
}
_AGGREGATIONS = {RATE: "ratio_of_sums", COUNT: "sum", MEDIAN: "not_aggregable", MEAN: "weighted_mean"}


def build_indicators(total: int, seed: int) -> list[Indicator]:
    if total < 6:
        raise ValueError(f"{total} indicateurs : au moins 6 sont attendus (un par source et deux pour la Cnaf)")
    rng = _rng(seed, 1)
    categories = list(DEFM_CATEGORIES) if total >= 30 else ["ABC"]
    per_source = _allocate(total - len(categories), [s.share for s in SOURCE_SPECS], 1, total)
    indicators = []
    for spec, count in zip(SOURCE_SPECS, per_source):
        for number in range(1, count + 1):
            kind = spec.kinds[(number - 1) % len(spec.kinds)]
            word, label = _KIND_WORDS[kind]
            unit, level, factor, share = spec.count_unit, 0.0, 1.0, 1.0
            polarity = "neutral"
            trend = float(rng.uniform(-0.015, 0.015))
            if kind == RATE:
                polarity = str(rng.choice(["higher_is_worse", "higher_is_better", "neutral"], p=[0.6, 0.25, 0.15]))
                unit, share = "%", float(rng.uniform(0.1, 0.9))
                level, factor = {"higher_is_worse": (rng.uniform(3, 30), rng.uniform(1.3, 2.2)),
                                 "higher_is_better": (rng.uniform(20, 60), rng.uniform(0.55, 0.85)),
                                 "neutral": (rng.uniform(5, 50), rng.uniform(0.85, 1.2))}[polarity]
            elif kind == COUNT:
                share, factor = float(rng.uniform(0.02, 0.4)), float(rng.uniform(1.0, 2.0))
            elif kind == MEDIAN:
                polarity, unit = "higher_is_better", "€"
                level, factor, trend = rng.uniform(16_000, 26_000), rng.uniform(0.55, 0.8), rng.uniform(0.005, 0.02)
            else:
                unit, base, factor, share = MEAN_KINDS[(number // len(spec.kinds)) % len(MEAN_KINDS)]
                level, trend = base * rng.uniform(0.95, 1.05), float(rng.uniform(-0.003, 0.003))
            suffix = f", {unit}" if kind == MEAN else ""
            indicators.append(Indicator(
                indicator_id=f"{spec.prefix}_{word}_{number:02d}", source=spec.source, kind=kind, number=number,
                label_fr=f"{label} n° {number} ({spec.short_label}{suffix})", unit=unit,
                theme=spec.themes[(number - 1) % len(spec.themes)], polarity=polarity,
                aggregation=_AGGREGATIONS[kind], level=round(float(level), 6), trend=round(float(trend), 6),
                share=round(float(share), 6), qpv_factor=round(float(factor), 6),
                zero_not_available=spec.source == "cnaf" and kind == COUNT))
    for number, category in enumerate(categories, start=1):
        indicators.append(Indicator(
            indicator_id=f"ft_demandeurs_{category.lower()}", source=FRANCE_TRAVAIL, kind=COUNT, number=number,
            label_fr=f"Demandeurs d'emploi en catégorie{'s' if len(category) > 1 else ''} {', '.join(category)} "
                     "(synthétique)",
            unit="personnes", theme="Emploi", polarity="neutral", aggregation="sum", level=0.0,
            trend=round(float(rng.uniform(-0.02, 0.01)), 6), share=DEFM_CATEGORIES[category], qpv_factor=2.0))
    return indicators


def variables(indicator: Indicator, year: int) -> dict[str, str]:
    """File columns of an indicator in one millésime: role (value, numerator, denominator) -> column.

    Names change between millésimes as the producers' do: year prefix of the RP, Filosofi
    suffix changing form in 2018 (method change), fixed names at the Cnaf and the Cnam.
    """
    k, yy = f"{indicator.number:02d}", f"{year % 100:02d}"
    source, kind = indicator.source, indicator.kind
    if source == FRANCE_TRAVAIL:
        return {"value": indicator.indicator_id.removeprefix("ft_demandeurs_").upper()}
    stems = {
        "insee_rp": {RATE: "TX", COUNT: "NB", MEAN: "MOY", "numerator": "N", "denominator": "D"},
        "insee_filosofi": {RATE: "TP", COUNT: "NBMEN", MEDIAN: "DISP_MED", "numerator": "NBPAU", "denominator": "NBPERS"},
        "cnaf": {RATE: "PART", COUNT: "NBALLOC", "numerator": "NUMPART", "denominator": "DENPART"},
        "cnam": {RATE: "TX", COUNT: "NB", MEAN: "MOY", "numerator": "N", "denominator": "D"},
    }[source]
    roles = {"value": stems[kind]}
    if kind == RATE:
        roles.update(numerator=stems["numerator"], denominator=stems["denominator"])
    elif kind == MEAN:
        roles["denominator"] = stems["denominator"]
    if source == "insee_rp":
        return {role: f"P{yy}_{stem}{k}" for role, stem in roles.items()}
    if source == "insee_filosofi":
        return {role: f"{stem}{k}_{'A' if year >= 2018 else ''}{yy}" for role, stem in roles.items()}
    return {role: f"{stem}{k}" for role, stem in roles.items()}


def _write_table(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=";", index=False, lineterminator="\n", encoding="utf-8")


def write_catalogue(folder: Path, indicators: list[Indicator], years: list[int]) -> None:
    """The catalogue files, with the same columns as data/catalogue/."""
    definitions = [f"Indicateur synthétique du banc d'essai national (benchmarks/national_data.py) : "
                   f"{_KIND_DEFINITIONS[i.kind]}." for i in indicators]
    _write_table(folder / "indicators.csv", pd.DataFrame({
        "indicator_id": [i.indicator_id for i in indicators], "label_fr": [i.label_fr for i in indicators],
        "unit": [i.unit for i in indicators], "theme": [i.theme for i in indicators],
        "source": [i.source for i in indicators], "polarity": [i.polarity for i in indicators],
        "aggregation": [i.aggregation for i in indicators], "definition": definitions}))
    rows, zeros = [], []
    for source in SOURCE_ORDER:
        for year in years:
            for indicator in (i for i in indicators if i.source == source):
                for role, variable in variables(indicator, year).items():
                    rows.append((source, year, variable, indicator.indicator_id, role))
                    if indicator.zero_not_available:
                        zeros.append((source, year, variable, "Effectif CAF : un zéro publié signifie « non disponible »"))
    _write_table(folder / "source_variables.csv",
                 pd.DataFrame(rows, columns=["source", "vintage", "variable", "indicator_id", "role"]))
    _write_table(folder / "zero_not_available.csv",
                 pd.DataFrame(zeros, columns=["source", "vintage", "variable", "reason"]))
    # The project's own list of sources: the benchmark exercises the same source ids,
    shutil.copyfile(PROJECT_ROOT / "data" / "catalogue" / "sources.csv", folder / "sources.csv")
    # and its method breaks (Cnaf 2016, France Travail 2025), which the synthetic series cross.
    shutil.copyfile(PROJECT_ROOT / "data" / "catalogue" / "method_breaks.csv", folder / "method_breaks.csv")
    ranges = [(i.indicator_id, "*", 0, 95, 10, "Plage plausible synthétique d'un taux") if i.kind == RATE else
              (i.indicator_id, "*", 5000, 60000, 3000, "Plage plausible synthétique d'un revenu médian")
              for i in indicators if i.kind in (RATE, MEDIAN)]
    _write_table(folder / "plausible_ranges.csv", pd.DataFrame(
        ranges, columns=["indicator_id", "territory_level", "min", "max", "max_change_per_year", "note"]))


# --- The synthetic world: figures of every territory, one source and one year ------------------

@dataclass
class Figures:
    """Per territory (rows) and indicator (columns); NaN where the indicator has no such count."""

    value: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray

    def rows(self, index: np.ndarray) -> Figures:
        return Figures(self.value[index], self.numerator[index], self.denominator[index])


def _parameters(indicators: list[Indicator], name: str) -> np.ndarray:
    return np.array([getattr(i, name) for i in indicators], dtype=float)


def source_figures(territories: Territories, indicators: list[Indicator], year: int, seed: int) -> dict[str, Figures]:
    """Figures of the QPV of the year's geography, of every commune and of every EPCI.

    Communes add up the rest of the commune and the part of each QPV living there; EPCI add up
    their communes. Medians have no parts: the QPV's follows its commune's, the EPCI's is the
    population-weighted mean of its communes'.
    """
    source = SOURCE_ORDER.index(indicators[0].source)
    geography = territories.geographies[geography_of(year)]
    communes, qpv, links = territories.communes, geography.qpv, geography.links
    n_communes, n_indicators = len(communes), len(indicators)
    elapsed = year - BASE_YEAR
    pop_c = communes["pop"].to_numpy() * (1 + communes["growth"].to_numpy()) ** elapsed
    pop_q = qpv["pop"].to_numpy() * (1 + qpv["growth"].to_numpy()) ** elapsed
    link_q, link_c, link_share = links["qpv"].to_numpy(), links["commune"].to_numpy(), links["share"].to_numpy()
    main = qpv["main"].to_numpy()
    epci = communes["epci"].to_numpy()
    in_epci = epci >= 0
    n_epci = len(territories.epci)

    def spread(per_qpv: np.ndarray) -> np.ndarray:
        out = np.zeros((n_communes, n_indicators))
        np.add.at(out, link_c, per_qpv[link_q] * link_share[:, None])
        return out

    def to_epci(per_commune: np.ndarray) -> np.ndarray:
        out = np.zeros((n_epci, n_indicators))
        np.add.at(out, epci[in_epci], per_commune[in_epci])
        return out

    rest_pop = pop_c.copy()
    np.subtract.at(rest_pop, link_c, pop_q[link_q] * link_share)
    # Lasting differences between territories, then this year's noise.
    effects = _rng(seed, 2, source)
    effect_c = effects.lognormal(0.0, 0.2, (n_communes, n_indicators))
    effect_q = _rng(seed, 2, source, geography_of(year)).lognormal(0.0, 0.15, (len(qpv), n_indicators))
    noise = _rng(seed, 3, source, year)
    noise_c, noise_q = noise.lognormal(0.0, 0.03, (n_communes, n_indicators)), noise.lognormal(0.0, 0.04, (len(qpv), n_indicators))

    level = _parameters(indicators, "level") * (1 + _parameters(indicators, "trend")) ** elapsed
    share, factor = _parameters(indicators, "share"), _parameters(indicators, "qpv_factor")
    if indicators[0].source == FRANCE_TRAVAIL and year >= FRANCE_TRAVAIL_REFORM_YEAR:
        share = share * 1.12
    kind = np.array([i.kind for i in indicators])
    empty_c, empty_q = np.full((n_communes, n_indicators), np.nan), np.full((len(qpv), n_indicators), np.nan)
    value_q, value_c = empty_q.copy(), empty_c.copy()
    num_q, num_c, den_q, den_c = empty_q.copy(), empty_c.copy(), empty_q.copy(), empty_c.copy()

    rate, count, median, mean = (kind == k for k in (RATE, COUNT, MEDIAN, MEAN))
    # Rates: integer counts in each part, the rate from the counts.
    d_q = np.maximum(1, np.rint(pop_q[:, None] * share * noise_q))
    r_q = np.clip(level * effect_c[main] * factor * effect_q * noise_q, 0.1, 97)
    n_q = np.rint(d_q * r_q / 100)
    d_rest = np.maximum(1, np.rint(rest_pop[:, None] * share * noise_c))
    n_rest = np.rint(d_rest * np.clip(level * effect_c * noise_c, 0.1, 95) / 100)
    d_c, n_c = np.rint(d_rest + spread(d_q)), np.rint(n_rest + spread(n_q))
    num_q[:, rate], den_q[:, rate], num_c[:, rate], den_c[:, rate] = n_q[:, rate], d_q[:, rate], n_c[:, rate], d_c[:, rate]
    # Counts.
    v_q = np.maximum(1, np.rint(pop_q[:, None] * share * factor * effect_q * noise_q))
    v_c = np.rint(np.rint(rest_pop[:, None] * share * effect_c * noise_c) + spread(v_q))
    value_q[:, count], value_c[:, count] = v_q[:, count], v_c[:, count]
    # Medians, rounded to ten euros as published.
    m_c = np.rint(level * effect_c * noise_c / 10) * 10
    value_c[:, median] = m_c[:, median]
    value_q[:, median] = (np.rint(m_c[main] * factor * effect_q * noise_q / 10) * 10)[:, median]
    # Means, weighted by a denominator (inhabitants, households).
    w_q, w_rest = pop_q[:, None] * share, rest_pop[:, None] * share
    mean_q = level * factor * effect_q ** 0.25 * noise_q ** 0.3
    w_c = w_rest + spread(w_q)
    mean_c = (level * effect_c ** 0.25 * noise_c ** 0.3 * w_rest + spread(mean_q * w_q)) / w_c
    value_q[:, mean], den_q[:, mean] = mean_q[:, mean], np.rint(w_q)[:, mean]
    value_c[:, mean], den_c[:, mean] = mean_c[:, mean], np.rint(w_c)[:, mean]

    num_e, den_e = to_epci(num_c), to_epci(den_c)
    value_e = to_epci(value_c)  # counts
    pop_e = np.bincount(epci[in_epci], weights=pop_c[in_epci], minlength=n_epci)[:, None]
    value_e[:, median] = (np.rint(to_epci(value_c * pop_c[:, None]) / pop_e / 10) * 10)[:, median]
    value_e[:, mean] = (to_epci(value_c * den_c) / den_e)[:, mean]
    # National rows: every QPV of the geography, the metropolitan communes, every commune.
    metro = ~communes["code"].str.startswith("97").to_numpy()
    wholes = [(np.ones(len(qpv), dtype=bool), value_q, num_q, den_q, pop_q),
              (metro, value_c, num_c, den_c, pop_c), (np.ones(n_communes, dtype=bool), value_c, num_c, den_c, pop_c)]
    value_n, num_n, den_n = (np.full((len(wholes), n_indicators), np.nan) for _ in range(3))
    for row, (kept, values, numerators, denominators, pop) in enumerate(wholes):
        num_n[row], den_n[row] = numerators[kept].sum(axis=0), denominators[kept].sum(axis=0)
        value_n[row, count] = values[kept][:, count].sum(axis=0)
        value_n[row, median] = (np.rint((values[kept] * pop[kept, None]).sum(axis=0) / pop[kept].sum() / 10) * 10)[median]
        value_n[row, mean] = ((values[kept] * denominators[kept]).sum(axis=0) / den_n[row])[mean]
    for values, numerators, denominators in ((value_q, num_q, den_q), (value_c, num_c, den_c), (value_e, num_e, den_e),
                                             (value_n, num_n, den_n)):
        values[:, rate] = 100 * numerators[:, rate] / denominators[:, rate]
    return {"qpv": Figures(value_q, num_q, den_q), "commune": Figures(value_c, num_c, den_c),
            "epci": Figures(value_e, num_e, den_e), NATIONAL: Figures(value_n, num_n, den_n)}


# --- Published files ----------------------------------------------------------------------------

def _decimal_text(values: np.ndarray, decimals: int) -> pa.Array:
    """Numbers as INSEE writes them: decimal comma, no thousands separator."""
    scaled = np.rint(values * 10 ** decimals).astype(np.int64)
    if decimals == 0:
        return pc.cast(pa.array(scaled), pa.string())
    whole = pc.cast(pa.array(scaled // 10 ** decimals), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(scaled % 10 ** decimals), pa.string()), decimals, "0")
    return pc.binary_join_element_wise(whole, fraction, ",")


def _value_decimals(indicator: Indicator) -> int:
    return 1 if indicator.kind in (RATE, MEAN) else 0


@dataclass
class Tally:
    """What was written: files, bytes, data rows, published cells and how many are not numbers."""

    files: int = 0
    bytes: int = 0
    rows: int = 0
    cells: int = 0
    secret_cells: int = 0
    observations: int = 0  # figures the pipeline reads (value cells of the read rows)

    def add(self, other: Tally) -> None:
        for name in asdict(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _write_csv(path: Path, columns: dict[str, pa.Array], encoding: str, sep: str = ";", eol: str = "\r\n") -> int:
    """Write text columns without quotes (no value holds a separator); returns the size in bytes."""
    buffer = io.BytesIO()
    pa_csv.write_csv(pa.table(columns), buffer, pa_csv.WriteOptions(
        delimiter=sep, eol=eol, quoting_style="none", quoting_header="none"))
    data = buffer.getvalue()
    if encoding == "cp1252":
        data = data.decode("utf-8").encode("cp1252")
    elif encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def _value_columns(indicators: list[Indicator], year: int, figures: Figures, secret_share: np.ndarray,
                   rng: np.random.Generator, zeros: bool, tally: Tally) -> dict[str, pa.Array]:
    """Each indicator's value column, and its count columns; a secret value hides its counts too."""
    rows = len(secret_share)
    secret = rng.random((rows, len(indicators))) < secret_share[:, None]
    markers = MARKERS[rng.choice(len(MARKERS), (rows, len(indicators)), p=MARKER_SHARES)]
    zero = rng.random((rows, len(indicators))) < ZERO_NOT_AVAILABLE_SHARE
    columns = {}
    for k, indicator in enumerate(indicators):
        hidden, marker = pa.array(secret[:, k]), pa.array(markers[:, k])
        for role, variable in variables(indicator, year).items():
            numbers = {"value": figures.value, "numerator": figures.numerator, "denominator": figures.denominator}[role]
            text = _decimal_text(numbers[:, k], _value_decimals(indicator) if role == "value" else 0)
            if role == "value" and zeros and indicator.zero_not_available:
                text = pc.if_else(pa.array(zero[:, k] & ~secret[:, k]), "0", text)
            columns[variable] = pc.if_else(hidden, marker, text)
            tally.cells += rows
            tally.secret_cells += int(secret[:, k].sum())
        tally.observations += rows
    return columns


def _level_rows(territories: Territories, year: int) -> dict[str, np.ndarray]:
    """Row indexes of the QPV of the year, of the communes hosting them and of their EPCI."""
    geography = territories.geographies[geography_of(year)]
    communes = np.unique(geography.links["commune"].to_numpy())
    epci = territories.communes["epci"].to_numpy()[communes]
    return {"qpv": np.arange(len(geography.qpv)), "commune": communes, "epci": np.unique(epci[epci >= 0])}


def _territory_columns(territories: Territories, year: int, level: str, rows: np.ndarray) -> tuple[list[str], list[str]]:
    if level == NATIONAL:
        return [NATIONAL_ROWS[row][1] for row in rows], [NATIONAL_ROWS[row][2] for row in rows]
    frame = {"qpv": territories.geographies[geography_of(year)].qpv, "commune": territories.communes,
             "epci": territories.epci}[level]
    return list(frame["code"].to_numpy()[rows]), list(frame["name"].to_numpy()[rows])


@dataclass(frozen=True)
class FileBlock:
    """One [[file]] block of a millésime's sources.toml."""

    path: str
    reader: str
    source: str
    vintage: int
    label: str
    period: str = ""
    level: str = ""  # files of one level (insee_commune_csv)


def _wide_file(path: Path, territories: Territories, indicators: list[Indicator], year: int,
               figures: dict[str, Figures], rows: dict[str, np.ndarray], layout: str, encoding: str,
               rng: np.random.Generator) -> Tally:
    """One wide file: insee (CODGEO;LIBGEO;NIVGEO), insee_commune (CODGEO;LIBGEO) or caf layout."""
    tally = Tally(files=1)
    levels = {"insee": {"qpv": "QP", "commune": "COM", "epci": "EPCI"},
              "caf": {"qpv": "QPV", "commune": "Commune", "epci": "EPCI"}}.get(layout, {})
    if layout == "insee" and "qpv" in rows:  # INSEE's QPV files end with the national rows
        rows = {**rows, NATIONAL: np.arange(len(NATIONAL_ROWS))}
    parts = []
    for level, index in rows.items():
        codes, names = _territory_columns(territories, year, level, index)
        if level == NATIONAL:
            share = np.zeros(len(index))  # national figures are always published
        elif level == "qpv":
            share = np.full(len(index), SECRET_QPV)
        elif layout == "insee_commune":
            pop = territories.communes["pop"].to_numpy()[index]
            share = SECRET_COMMUNE + SECRET_SMALL_COMMUNE * (pop < SMALL_COMMUNE)
        else:
            share = np.full(len(index), SECRET_COMPARISON)
        values = _value_columns(indicators, year, figures[level].rows(index), share, rng, level == "qpv", tally)
        if layout == "caf":
            ids = {"Date_Ref": [f"31/12/{year}"] * len(index), "Type_Territoire": [levels[level]] * len(index),
                   "Code_Territoire": codes, "Libelle_Territoire": names}
        elif layout == "insee":
            nivgeo = [NATIONAL_ROWS[row][0] for row in index] if level == NATIONAL else [levels[level]] * len(index)
            ids = {"CODGEO": codes, "LIBGEO": names, "NIVGEO": nivgeo}
        else:
            ids = {"CODGEO": codes, "LIBGEO": names}
        parts.append(pa.table({**{k: pa.array(v, pa.string()) for k, v in ids.items()}, **values}))
        tally.rows += len(index)
    table = pa.concat_tables(parts)
    tally.bytes = _write_csv(path, {name: table[name].combine_chunks() for name in table.column_names}, encoding)
    return tally


def _defm_file(path: Path, territories: Territories, indicators: list[Indicator], year: int,
               figures: Figures, rng: np.random.Generator) -> Tally:
    """France Travail / Dares: Date;Code_commune;Libelle_commune;Categorie;Nombre, four quarters of the
    year for every commune and category, counts rounded to 5, then the Total rows."""
    communes = territories.communes
    n_communes, categories = len(communes), [variables(i, year)["value"] for i in indicators]
    season = np.array([1.03, 0.98, 0.99, 1.0])
    tally = Tally(files=1)
    dates, codes, names, cats, numbers = [], [], [], [], []
    for quarter in range(4):
        drift = season[quarter] * (1 if quarter == 3 else rng.lognormal(0.0, 0.02, (n_communes, len(categories))))
        counts = np.rint(figures.value * drift / 5) * 5
        text = _decimal_text(counts.ravel(), 0)
        secret = rng.random(counts.size) < SECRET_DEFM
        marker = MARKERS[rng.choice(len(MARKERS), counts.size, p=MARKER_SHARES)]
        numbers.append(pc.if_else(pa.array(secret), pa.array(marker), text))
        dates.append(np.full(counts.size, f"{year}-T{quarter + 1}", dtype=object))
        codes.append(np.repeat(communes["code"].to_numpy(), len(categories)))
        names.append(np.repeat(communes["name"].to_numpy(), len(categories)))
        cats.append(np.tile(np.array(categories, dtype=object), n_communes))
        tally.rows += counts.size
        tally.cells += counts.size
        tally.secret_cells += int(secret.sum())
        totals = counts.sum(axis=0)
        dates.append(np.full(len(categories), f"{year}-T{quarter + 1}", dtype=object))
        codes.append(np.full(len(categories), "Total", dtype=object))
        names.append(np.full(len(categories), "Total", dtype=object))
        cats.append(np.array(categories, dtype=object))
        numbers.append(_decimal_text(totals, 0))
        tally.rows += len(categories)
    tally.observations = n_communes * len(categories)  # the pipeline reads one quarter
    columns = {"Date": pa.array(np.concatenate(dates), pa.string()),
               "Code_commune": pa.array(np.concatenate(codes), pa.string()),
               "Libelle_commune": pa.array(np.concatenate(names), pa.string()),
               "Categorie": pa.array(np.concatenate(cats), pa.string()),
               "Nombre": pa.concat_arrays([a.cast(pa.string()) for a in numbers])}
    tally.bytes = _write_csv(path, columns, "utf-8", eol="\n")
    return tally


def write_vintage(raw_dir: Path, territories: Territories, indicators: list[Indicator], year: int,
                  seed: int) -> Tally:
    """Every source file of one millésime and its sources.toml."""
    folder = raw_dir / str(year)
    rows = _level_rows(territories, year)
    everywhere = {"commune": np.arange(len(territories.communes)), "epci": np.arange(len(territories.epci))}
    blocks, tally = [], Tally()
    for source_index, source in enumerate(SOURCE_ORDER):
        chosen = [i for i in indicators if i.source == source]
        figures = source_figures(territories, chosen, year, seed)
        rng = _rng(seed, 4, source_index, year)
        if source == "insee_rp":
            label = f"INSEE, RP {year}"
            files = ((f"insee_rp/rp{year}_qpv.csv", "insee_wide_csv", "insee", {"qpv": rows["qpv"]}),
                     (f"insee_rp/rp{year}_communes.csv", "insee_commune_csv", "insee_commune",
                      {"commune": everywhere["commune"]}),
                     (f"insee_rp/rp{year}_epci.csv", "insee_wide_csv", "insee", {"epci": everywhere["epci"]}))
            for path, reader, layout, selection in files:
                tally.add(_wide_file(folder / path, territories, chosen, year, figures, selection, layout,
                                     "utf-8-sig", rng))
                blocks.append(FileBlock(path, reader, source, year, label,
                                        level="commune" if reader == "insee_commune_csv" else ""))
        elif source == FRANCE_TRAVAIL:
            path = f"france_travail/defm_communes_{year}.csv"
            tally.add(_defm_file(folder / path, territories, chosen, year, figures["commune"], rng))
            reform = " (après la réforme de 2025)" if year >= FRANCE_TRAVAIL_REFORM_YEAR else ""
            blocks.append(FileBlock(path, "france_travail_defm_csv", source, year,
                                    f"France Travail - Dares, 4e trimestre {year}{reform}", period=f"{year}-T4"))
        else:
            path, reader, layout, encoding, label = {
                "insee_filosofi": (f"insee_filosofi/filosofi{year}_qpv.csv", "insee_wide_csv", "insee", "cp1252",
                                   f"INSEE, Filosofi {year}"),
                "cnaf": (f"cnaf/cnaf{year}_allocataires_qpv.csv", "caf_wide_csv", "caf", "utf-8", f"Cnaf {year}"),
                "cnam": (f"cnam/cnam{year}_qpv.csv", "insee_wide_csv", "insee", "utf-8-sig", f"Cnam {year}"),
            }[source]
            tally.add(_wide_file(folder / path, territories, chosen, year, figures, rows, layout, encoding, rng))
            blocks.append(FileBlock(path, reader, source, year, label))
    manifest = [f"# Millésime {year} du jeu national synthétique (benchmarks/national_data.py).",
                "# Paths are relative to this folder; the referentials are declared in ../sources.toml.", ""]
    for block in blocks:
        manifest += ["[[file]]", f'path = "{block.path}"', f'reader = "{block.reader}"', f'source = "{block.source}"',
                     f"vintage = {block.vintage}", f'label = "{block.label}"']
        manifest += [f'period = "{block.period}"'] if block.period else []
        manifest += [f'level = "{block.level}"'] if block.level else []
        manifest.append("")
    (folder / "sources.toml").write_text("\n".join(manifest), encoding="utf-8")
    return tally


# --- Referentials -------------------------------------------------------------------------------

def _ascii_upper(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.replace("Œ", "OE").replace("œ", "oe"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _deterministic_xlsx(data: bytes) -> bytes:
    """openpyxl stamps the workbook and its zip entries with the time of saving: fix both."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _epci_workbook(path: Path, territories: Territories) -> None:
    """INSEE « Intercommunalité - Métropole »: sheets EPCI and Composition_communale under a title block."""
    communes, epci = territories.communes, territories.epci
    title = [["Intercommunalité - Métropole au 1er janvier 2024"],
             ["Source : Insee, Code officiel géographique (données synthétiques du banc d'essai national)"], [],
             ["Champ : France"], []]
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("EPCI")
    for row in title + [["EPCI", "LIBEPCI", "NATURE_EPCI", "NB_COM"]]:
        sheet.append(row)
    members = np.bincount(communes["epci"][communes["epci"] >= 0], minlength=len(epci))
    for code, name, nature, count in zip(epci["code"], epci["name"], epci["nature"], members):
        sheet.append([code, name, nature, int(count)])
    sheet = workbook.create_sheet("Composition_communale")
    for row in title + [["EPCI", "LIBEPCI", "CODGEO", "LIBGEO", "DEP", "REG"]]:
        sheet.append(row)
    epci_codes = np.append(epci["code"].to_numpy(), NO_EPCI)  # index -1: outside any EPCI
    epci_names = np.append(epci["name"].to_numpy(), "Sans objet")
    for code, name, dep, index in zip(communes["code"], communes["name"], communes["dep"], communes["epci"]):
        sheet.append([epci_codes[index], epci_names[index], code, name, dep, REGION_OF[dep]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_deterministic_xlsx(buffer.getvalue()))


def write_referentials(raw_dir: Path, territories: Territories) -> None:
    folder = raw_dir / "referentiels"
    folder.mkdir(parents=True, exist_ok=True)
    communes, epci = territories.communes, territories.epci
    for geography, encoding in ((2015, "utf-8"), (2024, "cp1252")):
        qpv, links = territories.geographies[geography].qpv, territories.geographies[geography].links
        epci_index = communes["epci"].to_numpy()[links["commune"]]
        _write_csv(folder / f"qpv_{geography}_anct.csv", {
            "code_qp": pa.array(qpv["code"].to_numpy()[links["qpv"]], pa.string()),
            "lib_qp": pa.array(qpv["name"].to_numpy()[links["qpv"]], pa.string()),
            "insee_com": pa.array(communes["code"].to_numpy()[links["commune"]], pa.string()),
            "lib_com": pa.array(communes["name"].to_numpy()[links["commune"]], pa.string()),
            "siren_epci": pa.array(epci["code"].to_numpy()[epci_index], pa.string()),
            "lib_epci": pa.array(epci["name"].to_numpy()[epci_index], pa.string())}, encoding)
    correspondence = territories.correspondence
    width = max(2, int(correspondence["formers"].map(len).max()))
    _write_csv(folder / "correspondance_qpv_2024_2015.csv", {
        "QP2024": pa.array(correspondence["code"], pa.string()),
        "Label_QP2024": pa.array(correspondence["name"], pa.string()),
        "Statut": pa.array(correspondence["status"].map(STATUS_LABELS), pa.string()),
        **{f"QP2015_{n + 1}": pa.array([f[n] if n < len(f) else "" for f in correspondence["formers"]], pa.string())
           for n in range(width)}}, "utf-8-sig")
    # COG: comma-separated, current communes (COM) and communes déléguées (COMD).
    delegated = territories.delegated
    cog = pd.concat([communes.assign(type="COM", parent=""), delegated.assign(type="COMD")], ignore_index=True)
    cog = cog.sort_values("code", kind="mergesort")
    dep = cog["dep"]
    _write_csv(folder / "v_commune_2024.csv", {
        "TYPECOM": pa.array(cog["type"], pa.string()), "COM": pa.array(cog["code"], pa.string()),
        "REG": pa.array(dep.map(REGION_OF), pa.string()), "DEP": pa.array(dep, pa.string()),
        "CTCD": pa.array(np.where(dep.isin(["2A", "2B"]), "20R", dep + "D"), pa.string()),
        "ARR": pa.array(dep + "1", pa.string()), "TNCC": pa.array(np.full(len(cog), "0"), pa.string()),
        "NCC": pa.array(cog["name"].map(_ascii_upper), pa.string()), "NCCENR": pa.array(cog["name"], pa.string()),
        "LIBELLE": pa.array(cog["name"], pa.string()),
        "CAN": pa.array(np.where(cog["type"] == "COM", dep + "99", ""), pa.string()),
        "COMPARENT": pa.array(cog["parent"], pa.string())}, "utf-8", sep=",", eol="\n")
    _epci_workbook(folder / "epci_composition_2024.xlsx", territories)
    manifest = """# Referentials shared by every millésime of the synthetic national dataset
# (benchmarks/national_data.py); each millésime folder (2015/, 2016/...) has its own sources.toml.

[[referential]]
path = "referentiels/qpv_2015_anct.csv"
reader = "anct_qpv_list"
geography = 2015

[[referential]]
path = "referentiels/qpv_2024_anct.csv"
reader = "anct_qpv_list"
geography = 2024

[[referential]]
path = "referentiels/correspondance_qpv_2024_2015.csv"
reader = "anct_qpv_correspondence"
geography = 2024

[[referential]]
path = "referentiels/v_commune_2024.csv"
reader = "insee_cog_communes"
geography = 0

[[referential]]
path = "referentiels/epci_composition_2024.xlsx"
reader = "insee_epci_composition"
geography = 0
"""
    (raw_dir / "sources.toml").write_text(manifest, encoding="utf-8")


# --- Entry points -------------------------------------------------------------------------------

@dataclass
class Generation:
    """The arguments of a generation and what it wrote (generation.json: read back to add a millésime)."""

    scale: float
    seed: int
    indicators: int
    vintages: list[int]
    communes: int = 0
    epci: int = 0
    qpv_2015: int = 0
    qpv_2024: int = 0
    qpv_spanning_2015: int = 0
    written: dict[str, dict[str, int]] = field(default_factory=dict)  # millésime -> Tally

    @property
    def total(self) -> Tally:
        total = Tally()
        for counts in self.written.values():
            total.add(Tally(**counts))
        return total

    def save(self, out_dir: Path) -> None:
        (out_dir / GENERATION_FILE).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, out_dir: Path) -> Generation:
        path = out_dir / GENERATION_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path} introuvable : le dossier n'a pas été écrit par benchmarks.national_data")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def generate(out_dir: Path, scale: float = 1.0, vintages: int = 10, indicators: int = 150, seed: int = 1) -> Generation:
    """Write OUT_DIR/raw/ and OUT_DIR/catalogue/ for ``vintages`` millésimes ending in 2024."""
    out_dir = Path(out_dir)
    if vintages < 1:
        raise ValueError("au moins un millésime est attendu")
    if (out_dir / "raw").exists() or (out_dir / "catalogue").exists():
        raise FileExistsError(f"{out_dir} contient déjà raw/ ou catalogue/ : choisir un dossier neuf")
    years = list(range(LAST_YEAR - vintages + 1, LAST_YEAR + 1))
    territories = build_territories(scale, seed)
    chosen = build_indicators(indicators, seed)
    generation = Generation(scale=scale, seed=seed, indicators=indicators, vintages=years,
                            communes=len(territories.communes), epci=len(territories.epci),
                            qpv_2015=len(territories.geographies[2015].qpv),
                            qpv_2024=len(territories.geographies[2024].qpv),
                            qpv_spanning_2015=int(territories.geographies[2015].links["qpv"].duplicated().sum()))
    raw = out_dir / "raw"
    write_referentials(raw, territories)
    for year in years:
        generation.written[str(year)] = asdict(write_vintage(raw, territories, chosen, year, seed))
    write_catalogue(out_dir / "catalogue", chosen, years)
    generation.save(out_dir)
    return generation


def add_vintage(out_dir: Path, year: int | None = None) -> Generation:
    """Add one millésime (by default the one after the last) to a generated folder, and its catalogue rows."""
    out_dir = Path(out_dir)
    generation = Generation.load(out_dir)
    year = year or max(generation.vintages) + 1
    if year in generation.vintages:
        raise FileExistsError(f"le millésime {year} existe déjà dans {out_dir}")
    territories = build_territories(generation.scale, generation.seed)
    chosen = build_indicators(generation.indicators, generation.seed)
    generation.written[str(year)] = asdict(write_vintage(out_dir / "raw", territories, chosen, year, generation.seed))
    generation.vintages = sorted([*generation.vintages, year])
    write_catalogue(out_dir / "catalogue", chosen, generation.vintages)
    generation.save(out_dir)
    return generation


def describe(generation: Generation, out_dir: Path, seconds: float) -> str:
    total = generation.total
    years = generation.vintages
    secret = 100 * total.secret_cells / max(1, total.cells)
    return (f"Jeu national synthétique (échelle {generation.scale:g}, graine {generation.seed}) écrit dans {out_dir} "
            f"en {seconds:.1f} s :\n"
            f"  {generation.communes} communes, {generation.epci} EPCI, {generation.qpv_2015} QPV 2015 "
            f"({generation.qpv_spanning_2015} sur deux communes), {generation.qpv_2024} QPV 2024\n"
            f"  {len(years)} millésime(s) ({years[0]}-{years[-1]}), {generation.indicators} indicateurs\n"
            f"  {total.files} fichiers de données, {total.rows} lignes, {total.bytes / 2**20:.1f} Mio, "
            f"{total.observations} valeurs lues par le pipeline, {secret:.1f} % de cellules non publiées")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.national_data",
                                     description="Écrit un jeu de données national synthétique dans les formats réels des sources.")
    parser.add_argument("out_dir", type=Path, help="dossier de sortie (raw/ et catalogue/ y sont écrits)")
    parser.add_argument("--scale", type=float, default=1.0, help="taille relative à la France entière (1 = national)")
    parser.add_argument("--vintages", type=int, default=10, help="nombre de millésimes, jusqu'à 2024 (10 : 2015-2024)")
    parser.add_argument("--indicators", type=int, default=150, help="nombre d'indicateurs du catalogue")
    parser.add_argument("--seed", type=int, default=1, help="graine : mêmes arguments, mêmes fichiers")
    parser.add_argument("--add-vintage", nargs="?", const=0, type=int, metavar="ANNEE",
                        help="ajoute un millésime (par défaut le suivant) à un dossier déjà généré")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        if args.add_vintage is not None:
            generation = add_vintage(args.out_dir, args.add_vintage or None)
        else:
            generation = generate(args.out_dir, args.scale, args.vintages, args.indicators, args.seed)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"Échec : {exc}", file=sys.stderr)
        return 1
    print(describe(generation, args.out_dir, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
