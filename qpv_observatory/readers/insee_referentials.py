"""INSEE and ANCT referentials beyond the QPV lists: COG communes, EPCI composition, and the
official correspondence between the 2015 and 2024 QPV geographies."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited
from qpv_observatory.readers.referential import (COMMUNE_EPCI_COLUMNS, CORRESPONDENCE_COLUMNS, LINK_COLUMNS,
                                                 TERRITORY_COLUMNS, Referential)
from qpv_observatory.readers.xlsx import read_xlsx_table
from qpv_observatory.territories import COMMUNE, EPCI, QPV, is_valid_code, normalise_code, qpv_geography

COG_COLUMNS = ("TYPECOM", "COM", "LIBELLE")
COG_COMMUNE_TYPES = ("COM", "ARM")  # communes and municipal arrondissements
EPCI_COMPOSITION_COLUMNS = ("EPCI", "LIBEPCI", "CODGEO", "LIBGEO")
EPCI_COMPOSITION_SHEET = "Composition_communale"
NO_EPCI = "ZZZZZZZZZ"  # commune outside any EPCI (îles mono-communales)
CORRESPONDENCE_ID_COLUMNS = ("QP2024", "Label_QP2024", "Statut")


def _empty_links() -> pd.DataFrame:
    return pd.DataFrame(columns=LINK_COLUMNS)


def _check_codes(frame: pd.DataFrame, column: str, level: str, where: str) -> pd.Series:
    codes = frame[column].map(normalise_code)
    for code, line in zip(codes, frame[LINE_COLUMN]):
        if not is_valid_code(code, level):
            raise SourceFileError(where, f"{code!r} n'est pas un code {level}", line=int(line), column=column)
    return codes


def read_cog_communes(path: Path, display_name: str, geography: int = 0) -> Referential:
    """COG ``TYPECOM,COM,...,LIBELLE``: current communes (TYPECOM = COM) and the municipal
    arrondissements of Paris, Lyon and Marseille (ARM), in which INSEE publishes their figures and
    their QPV lie; delegated and associated communes share their codes with a commune: left out."""
    raw = read_delimited(path, display_name, COG_COLUMNS, sep=",")
    communes = raw[raw["TYPECOM"].str.strip().isin(COG_COMMUNE_TYPES)]
    codes = _check_codes(communes, "COM", COMMUNE, display_name)
    territories = pd.DataFrame({"territory_code": codes, "territory_level": COMMUNE,
                                "name": communes["LIBELLE"].str.strip()})[TERRITORY_COLUMNS]
    return Referential(territories.reset_index(drop=True), _empty_links(), complete_levels=frozenset({COMMUNE}))


def read_epci_composition(path: Path, display_name: str, geography: int = 0) -> Referential:
    """INSEE EPCI composition workbook, sheet ``Composition_communale`` (title block above)."""
    # Codes and names only (an empty code is refused): calamine reads it, many times faster than openpyxl.
    raw, sheet = read_xlsx_table(path, display_name, EPCI_COMPOSITION_COLUMNS, preferred_sheet=EPCI_COMPOSITION_SHEET,
                                 engine="calamine")
    where = f"{display_name}, feuille {sheet}"
    raw = raw[raw["EPCI"].str.strip().str.upper() != NO_EPCI]
    communes = _check_codes(raw, "CODGEO", COMMUNE, where)
    epcis = _check_codes(raw, "EPCI", EPCI, where)
    territories = pd.concat([
        pd.DataFrame({"territory_code": epcis, "territory_level": EPCI, "name": raw["LIBEPCI"].str.strip()}),
        pd.DataFrame({"territory_code": communes, "territory_level": COMMUNE, "name": raw["LIBGEO"].str.strip()}),
    ])[TERRITORY_COLUMNS].drop_duplicates(["territory_code", "territory_level"])
    commune_epci = pd.DataFrame({"commune_code": communes, "epci_code": epcis})[COMMUNE_EPCI_COLUMNS]
    return Referential(territories.reset_index(drop=True), _empty_links(), commune_epci.reset_index(drop=True),
                       complete_levels=frozenset({COMMUNE, EPCI}))


def read_qpv_correspondence(path: Path, display_name: str, geography: int = 2024) -> Referential:
    """``QP2024;Label_QP2024;Statut;QP2015_1;QP2015_2;...``: each 2024 QPV with the 2015 QPV it
    takes over (none for a new QPV, several when QPV were merged)."""
    raw = read_delimited(path, display_name, CORRESPONDENCE_ID_COLUMNS)
    former_columns = [c for c in raw.columns if c.startswith("QP2015_")]
    if not former_columns:
        raise SourceFileError(display_name, "colonnes QP2015_1, QP2015_2… attendues après "
                                            f"{', '.join(CORRESPONDENCE_ID_COLUMNS)}", line=1)
    pairs = []
    for row in raw.to_dict("records"):
        line = int(row[LINE_COLUMN])
        new = normalise_code(row["QP2024"])
        if qpv_geography(new) != 2024:
            raise SourceFileError(display_name, f"{new!r} n'est pas un code QPV de la géographie 2024",
                                  line=line, column="QP2024")
        formers = [normalise_code(row[c]) for c in former_columns if row[c].strip()]
        for column, old in zip([c for c in former_columns if row[c].strip()], formers):
            if qpv_geography(old) != 2015:
                raise SourceFileError(display_name, f"{old!r} n'est pas un code QPV de la géographie 2015",
                                      line=line, column=column)
        pairs += [(new, old, row["Statut"].strip()) for old in formers] or [(new, None, row["Statut"].strip())]
    correspondence = pd.DataFrame(pairs, columns=CORRESPONDENCE_COLUMNS)
    territories = pd.DataFrame({"territory_code": raw["QP2024"].map(normalise_code), "territory_level": QPV,
                                "name": raw["Label_QP2024"].str.strip()})[TERRITORY_COLUMNS]
    return Referential(territories.drop_duplicates().reset_index(drop=True), _empty_links(),
                       qpv_correspondence=correspondence)
