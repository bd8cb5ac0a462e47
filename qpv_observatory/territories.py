"""Territory codes: QPV (2015 and 2024 geographies), communes (COG) and EPCI (SIREN).

Codes are strings everywhere: département codes keep their leading zero and Corsica's letters.
"""

from __future__ import annotations

import re

QPV = "qpv"
COMMUNE = "commune"
EPCI = "epci"
# Levels read from sources.
UNITE_URBAINE = "unite_urbaine"
QPV_FRANCE = "qpv_france"  # ensemble des QPV de France (national QPV average)
FRANCE_METRO = "france_metro"
FRANCE = "france"
DEPARTEMENT = "departement"
REGION = "region"
# Levels derived by the observatory from the ones above.
COMMUNE_HORS_QPV = "commune_hors_qpv"
EPCI_HORS_QPV = "epci_hors_qpv"
QPV_CONTRACT = "qpv_contrat"  # ensemble des QPV d'un contrat de ville

# French labels for the levels, as a person reads them.
LEVEL_LABELS_FR = {
    QPV: "QPV",
    COMMUNE: "Commune",
    EPCI: "EPCI",
    UNITE_URBAINE: "Unité urbaine",
    QPV_FRANCE: "Ensemble des QPV de France",
    FRANCE_METRO: "France métropolitaine",
    FRANCE: "France",
    DEPARTEMENT: "Département",
    REGION: "Région",
    COMMUNE_HORS_QPV: "Commune hors QPV",
    EPCI_HORS_QPV: "EPCI hors QPV",
    QPV_CONTRACT: "Ensemble des QPV du contrat",
}

# The département is written on three characters: 079, 02A, 972.
_DEPARTEMENT_3 = r"(?:0\d{2}|02[AB]|97\d)"
QPV_2015_RE = re.compile(rf"^QP{_DEPARTEMENT_3}\d{{3}}$")
QPV_2024_RE = re.compile(rf"^QN{_DEPARTEMENT_3}\d{{2}}[NMI]$")
COMMUNE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
EPCI_RE = re.compile(r"^\d{9}$")
DEPARTEMENT_RE = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")
REGION_RE = re.compile(r"^\d{2}$")
# Levels a [[file]] block may declare (level = "…") for a file whose rows are all of one level.
MANIFEST_LEVELS = (QPV, COMMUNE, EPCI, DEPARTEMENT, REGION, FRANCE_METRO, FRANCE)


def qpv_geography(code: str) -> int | None:
    """2015 or 2024 for a well-formed QPV code, None otherwise."""
    if QPV_2015_RE.match(code):
        return 2015
    if QPV_2024_RE.match(code):
        return 2024
    return None


def is_valid_code(code: str, level: str) -> bool:
    if level == QPV:
        return qpv_geography(code) is not None
    if level == COMMUNE:
        return bool(COMMUNE_RE.match(code))
    if level == EPCI:
        return bool(EPCI_RE.match(code))
    if level == DEPARTEMENT:
        return bool(DEPARTEMENT_RE.match(code))
    if level == REGION:
        return bool(REGION_RE.match(code))
    return bool(code)


def normalise_code(raw: object) -> str:
    """Strip the stray spaces referentials carry; keep leading zeros (never via int)."""
    return str(raw).strip().upper()


def level_from_code(code: str) -> str | None:
    """The level a code's form implies, for files without a level column; None if unrecognised."""
    for level in (QPV, COMMUNE, EPCI):
        if is_valid_code(code, level):
            return level
    return None
