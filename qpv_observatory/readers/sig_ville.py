"""SIG Ville extracts (ANCT): a wide QPV file and the QPV contours that give each QPV's commune.

The wide file names the commune(s) only by name (``nom_commune``); the contours GeoJSON carries
the INSEE code (``code_commune``), so the referential comes from the contours.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import read_delimited
from qpv_observatory.readers.referential import (LINK_COLUMNS, TERRITORY_COLUMNS, Referential, qpv_link_rows,
                                                 referential_from_links)
from qpv_observatory.readers.wide import SIG_VILLE_WIDE, observations_from_wide
from qpv_observatory.territories import COMMUNE, QPV, is_valid_code, normalise_code, qpv_geography

CONTOUR_PROPERTIES = ("code_qp", "nom_qp", "code_commune", "commune_qp")


def read_sig_ville_wide(path: Path, display_name: str, source: str, vintage: int, source_label: str,
                        variables: dict[str, str], zero_not_available: frozenset[str] = frozenset()) -> pd.DataFrame:
    raw = read_delimited(path, display_name, SIG_VILLE_WIDE.id_columns, sep=SIG_VILLE_WIDE.sep)
    return observations_from_wide(raw, display_name, SIG_VILLE_WIDE, source, vintage, source_label, variables,
                                  zero_not_available)


def feature_properties(path: Path, display_name: str, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """Each feature's number and properties (geometry is not needed for a referential), every
    required property present."""
    try:
        features = json.loads(path.read_text(encoding="utf-8-sig"))["features"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise SourceFileError(display_name, f"GeoJSON attendu (FeatureCollection avec « features ») : {exc}") from None
    out = []
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") or {}
        missing = [p for p in required if p not in properties]
        if missing:
            raise SourceFileError(display_name, f"entité n°{number} : propriété(s) absente(s) {', '.join(missing)} ; "
                                                f"attendu : {', '.join(required)}")
        out.append((number, properties))
    return out


def read_sig_ville_contours(path: Path, display_name: str, geography: int) -> Referential:
    """QPV -> principal commune from the SIG Ville contours' properties."""
    rows = []
    for number, properties in feature_properties(path, display_name, CONTOUR_PROPERTIES):
        qpv, commune = normalise_code(properties["code_qp"]), normalise_code(properties["code_commune"])
        if qpv_geography(qpv) != geography:
            raise SourceFileError(display_name, f"entité n°{number} : {qpv!r} n'est pas un code QPV de la "
                                                f"géographie {geography}", column="code_qp")
        if not is_valid_code(commune, COMMUNE):
            raise SourceFileError(display_name, f"entité n°{number} : {commune!r} n'est pas un code commune",
                                  column="code_commune")
        rows.append((qpv, str(properties["nom_qp"]).strip(), commune, str(properties["commune_qp"]).strip()))
    frame = pd.DataFrame(rows, columns=["qpv", "qpv_name", "commune", "commune_name"])
    territories = pd.concat([
        frame[["qpv", "qpv_name"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=QPV),
        frame[["commune", "commune_name"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=COMMUNE),
    ])[TERRITORY_COLUMNS].drop_duplicates(["territory_code", "territory_level"])
    # No EPCI in the contours: the EPCI composition referential fills it in when declared.
    links = frame[["qpv", "commune"]].set_axis(LINK_COLUMNS[:2], axis=1).assign(epci_code=None, geography=geography)
    return Referential(territories.reset_index(drop=True), links.drop_duplicates().reset_index(drop=True))


ANCT_CONTOUR_PROPERTIES = ("code_qp", "lib_qp", "insee_com", "lib_com")


def read_anct_qpv_contours(path: Path, display_name: str, geography: int) -> Referential:
    """ANCT QPV contours (``QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson``): each QPV's communes
    from the properties ``code_qp, lib_qp, insee_com, lib_com`` and, when given, ``siren_epci``."""
    records = [(number, p["code_qp"], p["lib_qp"], p["insee_com"], p["lib_com"], p.get("siren_epci"), p.get("lib_epci"))
               for number, p in feature_properties(path, display_name, ANCT_CONTOUR_PROPERTIES)]
    return referential_from_links(qpv_link_rows(records, display_name, geography, "entité"), geography)
