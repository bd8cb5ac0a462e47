"""Partner reporting and the "droit commun" representativity index.

A partner (PLIE, culture service, CAF...) reports, per scheme and year, how many people benefited
and how many of them live in a QPV. The representativity index is the QPV share among the
beneficiaries divided by the QPV share of the population of the territory the scheme covers:
1 means the QPV residents get their population share, below 1 they are under-represented.

The population share is computed from published populations only; when the territory's or a
QPV's population is missing the index is left empty with the reason, never filled with a constant.
"""

from __future__ import annotations

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN
from qpv_observatory.readers.forms import form_year, read_form
from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import COMMUNE, EPCI, normalise_code
from qpv_observatory.values import MISSING, OK, STATUS_LABELS_FR, ValueParseError, parse_value

# Column -> what a partner writes in it (French: this is the form's notice).
PARTNER_FORM = {
    "contrat": "Identifiant du contrat (fichier des contrats).",
    "dispositif": "Identifiant court du dispositif (ex. plie_accompagnes), repris comme indicateur dans les cibles.",
    "libelle": "Nom du dispositif tel qu'il sera cité.",
    "partenaire": "Signataire qui fait la remontée (ex. PLIE, service culture).",
    "territoire": "Code INSEE de la commune ou SIREN de l'EPCI couvert par le dispositif.",
    "annee": "Année de la remontée.",
    "beneficiaires": "Nombre de bénéficiaires (entier) ; s, nd si non communiqué, jamais 0 à la place.",
    "dont_qpv": "Dont bénéficiaires résidant en QPV (entier) ; s, nd si non communiqué.",
}
PARTNER_COLUMNS = tuple(PARTNER_FORM)
POPULATION_INDICATOR = "population"
# The columns of the observations that the population shares read.
POPULATION_COLUMNS = ("indicator_id", "territory_code", "year", "value", "status")
NO_DATA = "no_data"

REPORTING_COLUMNS = [
    "contract_id", "scheme_id", "scheme_label", "partner", "territory_code", "territory_level", "year",
    "beneficiaries", "beneficiaries_qpv", "counts_status", "source_file", "source_row",
]
REPRESENTATIVITY_COLUMNS = [
    "contract_id", "scheme_id", "scheme_label", "partner", "territory_code", "territory_level", "year",
    "beneficiaries", "beneficiaries_qpv", "counts_status", "qpv_share_beneficiaries",
    "population_year", "qpv_population", "territory_population", "qpv_share_population",
    "representativity_index", "status", "status_reason", "source_file", "source_row",
]


def empty_reporting() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in REPORTING_COLUMNS}).astype(
        {"year": "int64", "beneficiaries": "Float64", "beneficiaries_qpv": "Float64", "source_row": "int64"})


def _count(cell: str, display_name: str, line: int, column: str) -> tuple[float | None, str]:
    """A head count, or a secrecy marker kept as a status (never a zero)."""
    try:
        parsed = parse_value(cell)
    except ValueParseError as exc:
        raise SourceFileError(display_name, f"effectif attendu : {exc}", line=line, column=column) from None
    if parsed.status == OK and (parsed.value < 0 or not float(parsed.value).is_integer()):
        raise SourceFileError(display_name, f"{cell!r} n'est pas un effectif (entier positif ou nul)",
                              line=line, column=column)
    return parsed.value, parsed.status


def read_partner_reporting(path, display_name: str, contract_ids: set[str], referential: Referential,
                           catalogue_ids: set[str]) -> pd.DataFrame:
    """Read one partner reporting file (CSV ';' or XLSX), refusing unknown contracts and territories."""
    raw = read_form(path, display_name, PARTNER_COLUMNS)
    levels = dict(zip(referential.territories["territory_code"], referential.territories["territory_level"]))
    records = []
    for row in raw.to_dict("records"):
        line = int(row[LINE_COLUMN])
        if row["contrat"] not in contract_ids:
            raise SourceFileError(display_name, f"contrat {row['contrat']!r} inconnu ; contrats déclarés : "
                                                f"{', '.join(sorted(contract_ids)) or 'aucun'}", line=line, column="contrat")
        scheme = row["dispositif"]
        if not scheme:
            raise SourceFileError(display_name, "identifiant de dispositif obligatoire", line=line, column="dispositif")
        if scheme in catalogue_ids:
            raise SourceFileError(display_name, f"le dispositif {scheme!r} porte l'identifiant d'un indicateur du "
                                                "catalogue ; choisir un autre identifiant", line=line, column="dispositif")
        territory = normalise_code(row["territoire"])
        level = levels.get(territory)
        if level not in (COMMUNE, EPCI):
            raise SourceFileError(display_name, f"territoire {row['territoire']!r} inconnu du référentiel : code de "
                                                "commune ou SIREN d'EPCI attendu", line=line, column="territoire")
        beneficiaries, status_all = _count(row["beneficiaires"], display_name, line, "beneficiaires")
        in_qpv, status_qpv = _count(row["dont_qpv"], display_name, line, "dont_qpv")
        if status_all == OK and status_qpv == OK and in_qpv > beneficiaries:
            raise SourceFileError(display_name, f"{row['dont_qpv']} bénéficiaires en QPV pour {row['beneficiaires']} "
                                                "bénéficiaires au total", line=line, column="dont_qpv")
        records.append({
            "contract_id": row["contrat"], "scheme_id": scheme, "scheme_label": row["libelle"] or scheme,
            "partner": row["partenaire"], "territory_code": territory, "territory_level": level,
            "year": form_year(row["annee"], display_name, line, "annee"),
            "beneficiaries": beneficiaries, "beneficiaries_qpv": in_qpv,
            "counts_status": status_all if status_all != OK else status_qpv,
            "source_file": display_name, "source_row": line,
        })
    frame = pd.DataFrame.from_records(records, columns=REPORTING_COLUMNS)
    key = ["contract_id", "scheme_id", "territory_code", "year"]
    repeated = frame[frame.duplicated(key, keep="first")]
    if len(repeated):
        row = repeated.iloc[0]
        raise SourceFileError(display_name, f"remontée en double pour le dispositif {row.scheme_id}, le territoire "
                                            f"{row.territory_code} et l'année {row.year}", line=int(row.source_row))
    return frame.astype(empty_reporting().dtypes.to_dict())


def combine_reporting(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_reporting()
    return (pd.concat(frames, ignore_index=True)
            .sort_values(["contract_id", "scheme_id", "territory_code", "year"], kind="mergesort")
            .reset_index(drop=True))


def qpv_population_share(observations: pd.DataFrame, referential: Referential, territory_code: str,
                         territory_level: str, year: int) -> dict:
    """QPV share (%) of the territory's population, from the latest census year not after ``year``.

    Uses the QPV of one geography (2024 codes first) and needs every one of them, and the
    territory, to have a published population that year. A QPV spanning several communes is not
    wholly inside one commune: the share is then left empty rather than overstated.
    """
    link_column = "commune_code" if territory_level == COMMUNE else "epci_code"
    links = referential.qpv_links[referential.qpv_links[link_column] == territory_code]
    population = observations[(observations["indicator_id"] == POPULATION_INDICATOR) & (observations["status"] == OK)]
    values = {(c, int(y)): float(v) for c, y, v in
              zip(population["territory_code"], population["year"], population["value"])}
    empty = {"population_year": None, "qpv_population": None, "territory_population": None, "qpv_share_population": None}
    if links.empty:
        return {**empty, "reason": "aucun QPV rattaché à ce territoire dans le référentiel"}
    if territory_level == COMMUNE:
        spanning = referential.qpv_links[referential.qpv_links["qpv_code"].isin(links["qpv_code"])]
        if spanning.groupby("qpv_code")["commune_code"].nunique().gt(1).any():
            return {**empty, "reason": "un QPV du territoire s'étend sur plusieurs communes"}
    years = sorted({y for (c, y) in values if c == territory_code and y <= year}, reverse=True)
    for census_year in years:
        for geography in sorted(links["geography"].unique(), reverse=True):
            qpv_codes = sorted(set(links.loc[links["geography"] == geography, "qpv_code"]))
            if all((q, census_year) in values for q in qpv_codes):
                qpv_pop = sum(values[(q, census_year)] for q in qpv_codes)
                territory_pop = values[(territory_code, census_year)]
                return {"population_year": census_year, "qpv_population": qpv_pop,
                        "territory_population": territory_pop,
                        "qpv_share_population": 100.0 * qpv_pop / territory_pop if territory_pop else None,
                        "reason": None}
    return {**empty, "reason": f"population du territoire {territory_code} ou de ses QPV non publiée "
                               f"pour une année antérieure ou égale à {year}"}


def compute_representativity(reporting: pd.DataFrame, observations: pd.DataFrame,
                             referential: Referential) -> pd.DataFrame:
    """One row per reporting row: QPV share among beneficiaries, QPV share of population, index."""
    rows = []
    for row in reporting.to_dict("records"):
        share = None
        reason = None
        if row["counts_status"] != OK:
            label = STATUS_LABELS_FR.get(row["counts_status"], row["counts_status"])
            reason = f"effectifs non communiqués ({label})" if row["counts_status"] != MISSING else "effectifs non renseignés"
        elif row["beneficiaries"] == 0:
            reason = "aucun bénéficiaire"
        else:
            share = 100.0 * float(row["beneficiaries_qpv"]) / float(row["beneficiaries"])
        population = qpv_population_share(observations, referential, row["territory_code"], row["territory_level"],
                                          int(row["year"]))
        index = None
        if share is not None and population["qpv_share_population"]:
            index = share / population["qpv_share_population"]
        elif share is not None:
            reason = population["reason"]
        rows.append({**row, "qpv_share_beneficiaries": share,
                     **{k: v for k, v in population.items() if k != "reason"},
                     "representativity_index": index, "status": OK if index is not None else NO_DATA,
                     "status_reason": reason})
    frame = pd.DataFrame.from_records(rows, columns=REPRESENTATIVITY_COLUMNS)
    return frame.astype({"year": "int64", "beneficiaries": "Float64", "beneficiaries_qpv": "Float64",
                         "qpv_share_beneficiaries": "Float64", "population_year": "Int64",
                         "qpv_population": "Float64", "territory_population": "Float64",
                         "qpv_share_population": "Float64", "representativity_index": "Float64",
                         "source_row": "int64", "status_reason": "str"}).reset_index(drop=True)
