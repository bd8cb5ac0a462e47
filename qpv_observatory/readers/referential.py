"""QPV referentials: which commune(s) and EPCI each QPV belongs to (ANCT lists)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

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
    # The levels whose every current territory is listed (communes: a COG or the EPCI composition was
    # read; EPCI: the EPCI composition): a code of these levels it does not know is then one that no
    # longer exists (merged since the data's year), not a typo.
    complete_levels: frozenset[str] = frozenset()


def spreadsheet_code(cell: object, width: int = 0) -> str:
    """A code as copies of published lists write it: ``="60057"`` (an Excel text formula),
    ``1053`` (a commune code whose leading zero a spreadsheet dropped: padded to ``width``)."""
    text = normalise_code(unwrap_text_formula(cell))
    if width and text.isdigit() and len(text) < width:
        text = text.zfill(width)
    return text


def unwrap_text_formula(cell: object) -> str:
    """``="60057"`` -> ``60057``: the formula a spreadsheet user writes to keep a code as text."""
    text = str(cell).strip()
    return text[2:-1].strip() if text.startswith('="') and text.endswith('"') else text


def split_cell(cell: str) -> list[str]:
    """The parts of a cell holding several communes (``"02571; 02691"``), or the cell itself."""
    return [part.strip() for part in str(cell).split(";") if part.strip()] or [str(cell).strip()]


def qpv_link_rows(records: Iterable[tuple[object, ...]], display_name: str, geography: int,
                  line_or_feature: str = "ligne") -> pd.DataFrame:
    """Links and names from (place, code_qp, lib_qp, insee_com, lib_com, siren_epci, lib_epci) records:
    one row per QPV and commune, codes checked, a multi-commune cell split into its communes."""
    rows = []
    for place, code_qp, lib_qp, insee_com, lib_com, siren_epci, lib_epci in records:
        where = {"line": place} if line_or_feature == "ligne" else {}
        prefix = "" if line_or_feature == "ligne" else f"entité n°{place} : "
        qpv = spreadsheet_code(code_qp)
        if not qpv:
            raise SourceFileError(display_name, f"{prefix}code_qp vide : chaque ligne ou entité doit nommer son QPV",
                                  column="code_qp", **where)
        if qpv_geography(qpv) != geography:
            raise SourceFileError(display_name, f"{prefix}{qpv!r} n'est pas un code QPV de la géographie {geography}",
                                  column="code_qp", **where)
        epci = spreadsheet_code(siren_epci, 9) if siren_epci is not None else ""
        if epci and not is_valid_code(epci, EPCI):
            raise SourceFileError(display_name, f"{prefix}{epci!r} n'est pas un code EPCI (SIREN)",
                                  column="siren_epci", **where)
        communes = [spreadsheet_code(part, 5) for part in split_cell(unwrap_text_formula(insee_com))]
        names = split_cell(lib_com)
        names = names if len(names) == len(communes) else [str(lib_com).strip()] * len(communes)
        for commune, name in zip(communes, names):
            if not is_valid_code(commune, COMMUNE):
                raise SourceFileError(display_name, f"{prefix}{commune!r} n'est pas un code commune",
                                      column="insee_com", **where)
            rows.append((qpv, str(lib_qp).strip(), commune, name, epci or None,
                         str(lib_epci or "").strip()))
    return pd.DataFrame(rows, columns=["qpv", "qpv_name", "commune", "commune_name", "epci", "epci_name"])


def referential_from_links(frame: pd.DataFrame, geography: int) -> Referential:
    with_epci = frame[frame["epci"].notna()]
    territories = pd.concat([
        frame[["qpv", "qpv_name"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=QPV),
        frame[["commune", "commune_name"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=COMMUNE),
        with_epci[["epci", "epci_name"]].set_axis(["territory_code", "name"], axis=1).assign(territory_level=EPCI),
    ])[TERRITORY_COLUMNS].drop_duplicates(["territory_code", "territory_level"])
    links = (frame[["qpv", "commune", "epci"]].set_axis(LINK_COLUMNS[:3], axis=1)
             .assign(geography=geography).drop_duplicates())
    return Referential(territories.reset_index(drop=True), links.reset_index(drop=True))


def read_anct_qpv_list(path: Path, display_name: str, geography: int) -> Referential:
    """ANCT list ``code_qp;lib_qp;[insee_reg;lib_reg;insee_dep;lib_dep;]insee_com;lib_com;siren_epci;lib_epci``
    (the 2024 list adds the region and département, and empty columns after): one row per QPV, or per
    QPV and commune; a cell may hold several communes (``02571; 02691``), a code may have lost its
    leading zero or be written ``="60057"``."""
    raw = read_delimited(path, display_name, ANCT_COLUMNS)
    records = zip(raw[LINE_COLUMN].astype(int), *(raw[c] for c in ANCT_COLUMNS))
    return referential_from_links(qpv_link_rows(records, display_name, geography), geography)


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
                       correspondence.sort_values(CORRESPONDENCE_COLUMNS).reset_index(drop=True).astype("str"),
                       complete_levels=frozenset().union(*(p.complete_levels for p in parts)))
