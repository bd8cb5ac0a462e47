"""QPV referentials: which commune(s) and EPCI each QPV belongs to (ANCT lists)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.territories import COMMUNE, EPCI, QPV, is_valid_code, normalise_code, qpv_geography

TERRITORY_COLUMNS = ["territory_code", "territory_level", "name"]
LINK_COLUMNS = ["qpv_code", "commune_code", "epci_code", "geography"]
COMMUNE_EPCI_COLUMNS = ["commune_code", "epci_code"]
CORRESPONDENCE_COLUMNS = ["qpv_2024", "qpv_2015", "status_2024"]

ANCT_COLUMNS = ("code_qp", "lib_qp", "insee_com", "lib_com", "siren_epci", "lib_epci")


@dataclass
class Referential:
    territories: pd.DataFrame  # territory_code, territory_level, name
    qpv_links: pd.DataFrame  # qpv_code, commune_code, epci_code, geography: many-to-many
    # INSEE EPCI composition: fills the EPCI of links whose list gave only the commune.
    commune_epci: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COMMUNE_EPCI_COLUMNS))
    # Official 2015 -> 2024 correspondence: one row per (2024 QPV, 2015 QPV) pair.
    qpv_correspondence: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CORRESPONDENCE_COLUMNS))


def read_anct_qpv_list(path: Path, display_name: str, geography: int) -> Referential:
    """ANCT list ``code_qp;lib_qp;insee_com;lib_com;siren_epci;lib_epci``: one row per QPV and commune."""
    raw = read_delimited(path, display_name, ANCT_COLUMNS)
    raw = raw.assign(**{c: raw[c].str.strip() for c in ANCT_COLUMNS})
    checks = (("code_qp", QPV), ("insee_com", COMMUNE), ("siren_epci", EPCI))
    for column, level in checks:
        raw[column] = raw[column].map(normalise_code)
        for code, line in zip(raw[column], raw[LINE_COLUMN]):
            if not is_valid_code(code, level) or (level == QPV and qpv_geography(code) != geography):
                expected = f"code QPV de la géographie {geography}" if level == QPV else f"code {level}"
                raise SourceFileError(display_name, f"{code!r} n'est pas un {expected}", line=int(line), column=column)
    territories = pd.concat([
        raw[["code_qp", "lib_qp"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=QPV),
        raw[["insee_com", "lib_com"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=COMMUNE),
        raw[["siren_epci", "lib_epci"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=EPCI),
    ])[TERRITORY_COLUMNS].drop_duplicates(["territory_code", "territory_level"])
    links = (raw[["code_qp", "insee_com", "siren_epci"]].set_axis(LINK_COLUMNS[:3], axis=1)
             .assign(geography=geography).drop_duplicates())
    return Referential(territories.reset_index(drop=True), links.reset_index(drop=True))


def combine_referentials(parts: list[Referential]) -> Referential:
    territories = pd.concat([p.territories for p in parts], ignore_index=True) if parts else pd.DataFrame(columns=TERRITORY_COLUMNS)
    links = pd.concat([p.qpv_links for p in parts], ignore_index=True) if parts else pd.DataFrame(columns=LINK_COLUMNS)
    territories = (territories.drop_duplicates(["territory_code", "territory_level"])
                   .sort_values(["territory_level", "territory_code"]).reset_index(drop=True))
    commune_epci = (pd.concat([p.commune_epci for p in parts], ignore_index=True) if parts
                    else pd.DataFrame(columns=COMMUNE_EPCI_COLUMNS)).drop_duplicates()
    correspondence = (pd.concat([p.qpv_correspondence for p in parts], ignore_index=True) if parts
                      else pd.DataFrame(columns=CORRESPONDENCE_COLUMNS)).drop_duplicates()
    if len(commune_epci):
        known_epci = links["commune_code"].map(commune_epci.set_index("commune_code")["epci_code"])
        links = links.assign(epci_code=links["epci_code"].where(links["epci_code"].notna(), known_epci))
    links = links.drop_duplicates().sort_values(LINK_COLUMNS).reset_index(drop=True)
    return Referential(territories.astype({"territory_code": "str", "territory_level": "str", "name": "str"}),
                       links.astype({"qpv_code": "str", "commune_code": "str", "epci_code": "str", "geography": "int64"}),
                       commune_epci.sort_values(COMMUNE_EPCI_COLUMNS).reset_index(drop=True).astype("str"),
                       correspondence.sort_values(CORRESPONDENCE_COLUMNS).reset_index(drop=True).astype("str"))
