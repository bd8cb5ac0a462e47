"""Contract targets ("situation de référence", "situation visée") and where each QPV stands.

Three hand-filled forms, CSV (';') or XLSX, documented in docs/architecture.md and written empty by
``qpv-observatory targets-template``:

- contrats: each contrat de ville, its territory and period;
- cibles: one target per line (contract, pillar, objective, indicator, territory, kind, baseline,
  target, direction, provider, status). "À préciser" targets are valid: they show as
  ``target_not_set`` in the progress table;
- remontees_partenaires: see ``representativity``.

Target kinds:
- ``valeur``: reach a value in the target year (e.g. 25 % of PLIE participants living in a QPV);
- ``ecart_commune``: reduce the QPV's gap to its commune by N points (``valeur_cible`` = N);
  gaps are read in absolute value from the gaps table;
- ``part_population``: QPV share among a scheme's beneficiaries at least equal to the QPV share of
  the population (the target value is computed, never typed).

Progress status, for a set target with a baseline and a value after the baseline year:
``reached`` when the latest value meets the target; ``on_track`` when the share of the way done
(latest - baseline) / (target - baseline) is at least the share of time elapsed between the baseline
year and the target year at the latest value's year; ``behind`` otherwise. ``no_data`` when a
figure is missing (no value after the baseline, no population share...), ``target_not_set`` for
"à préciser".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.manifest import Manifest, RawFile
from qpv_observatory.readers.delimited import LINE_COLUMN
from qpv_observatory.readers.forms import form_number, form_year, normalise_choice, read_form
from qpv_observatory.readers.referential import Referential
from qpv_observatory.representativity import combine_reporting, read_partner_reporting
from qpv_observatory.territories import COMMUNE, EPCI, QPV, QPV_CONTRACT, normalise_code
from qpv_observatory.values import OK

# --- The forms -----------------------------------------------------------------------------------

# Column -> what a chargé de mission writes in it (French: this is the form's notice).
CONTRACT_FORM = {
    "contrat": "Identifiant court du contrat, repris dans les autres fichiers (ex. niort_2024_2030).",
    "libelle": "Nom du contrat tel qu'il sera cité.",
    "territoire": "Code INSEE de la commune ou SIREN de l'EPCI signataire ; ses QPV sont ceux du contrat.",
    "debut": "Première année du contrat (ex. 2024).",
    "fin": "Dernière année du contrat (ex. 2030) ; les années cibles doivent être dans la période.",
}
TARGET_FORM = {
    "contrat": "Identifiant du contrat (fichier des contrats).",
    "pilier": "Pilier ou axe du contrat (texte libre, ex. Emploi et développement économique).",
    "objectif": "Code de l'objectif, en texte (ex. 1.3.10 ou 3-1).",
    "indicateur": "Identifiant d'un indicateur du catalogue (data/catalogue/indicators.csv) ou d'un dispositif "
                  "des remontées partenaires.",
    "territoire": "Code du QPV (QP079001, QN07902I), code de la commune, SIREN de l'EPCI, "
                  "ou QPV_CONTRAT pour l'ensemble des QPV du contrat.",
    "type_cible": "valeur (valeur à atteindre) ; ecart_commune (écart à la commune réduit de N points) ; "
                  "part_population (part des QPV parmi les bénéficiaires au moins égale à leur part dans la population).",
    "annee_reference": "Année de la situation de référence (obligatoire si la cible est fixée).",
    "valeur_reference": "Valeur de référence ; vide : lue dans les données (écart en points pour ecart_commune).",
    "annee_cible": "Année de la situation visée, dans la période du contrat (obligatoire si la cible est fixée).",
    "valeur_cible": "valeur : la valeur visée ; ecart_commune : N, les points de réduction de l'écart ; "
                    "part_population : vide (calculée).",
    "sens": "hausse ou baisse (obligatoire pour le type valeur).",
    "fournisseur": "Qui fournit la donnée (INSEE, PLIE, service culture...).",
    "statut": "fixée ou à préciser ; une cible à préciser n'est pas une erreur.",
    "commentaire": "Facultatif : origine de la cible, précisions.",
}
TARGET_REQUIRED = tuple(c for c in TARGET_FORM if c != "commentaire")

ALL_CONTRACT_QPV = "QPV_CONTRAT"
VALUE, GAP_TO_COMMUNE, POPULATION_SHARE = "valeur", "ecart_commune", "part_population"
TARGET_KINDS = (VALUE, GAP_TO_COMMUNE, POPULATION_SHARE)
TARGET_STATUS = {"fixee": "set", "a preciser": "to_specify"}
DIRECTIONS = {"hausse": "increase", "baisse": "decrease", "": None}

CONTRACT_COLUMNS = ["contract_id", "label", "territory_code", "territory_level", "start_year", "end_year",
                    "source_file", "source_row"]
TARGET_COLUMNS = ["contract_id", "pillar", "objective_code", "indicator_id", "territory_code", "territory_level",
                  "target_kind", "baseline_year", "baseline_value", "target_year", "target_value", "direction",
                  "provider", "target_status", "comment", "source_file", "source_row"]
TARGET_DTYPES = {"baseline_year": "Int64", "baseline_value": "Float64", "target_year": "Int64",
                 "target_value": "Float64", "source_row": "int64"}


def empty_contracts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in CONTRACT_COLUMNS}).astype(
        {"start_year": "int64", "end_year": "int64", "source_row": "int64"})


def empty_targets() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in TARGET_COLUMNS}).astype(TARGET_DTYPES)


def _levels(referential: Referential) -> dict[str, str]:
    return dict(zip(referential.territories["territory_code"], referential.territories["territory_level"]))


def read_contracts(path: Path, display_name: str, referential: Referential) -> pd.DataFrame:
    raw = read_form(path, display_name, tuple(CONTRACT_FORM))
    levels = _levels(referential)
    records = []
    for row in raw.to_dict("records"):
        line = int(row[LINE_COLUMN])
        if not row["contrat"]:
            raise SourceFileError(display_name, "identifiant de contrat obligatoire", line=line, column="contrat")
        territory = normalise_code(row["territoire"])
        if levels.get(territory) not in (COMMUNE, EPCI):
            raise SourceFileError(display_name, f"territoire {row['territoire']!r} inconnu du référentiel : code de "
                                                "commune ou SIREN d'EPCI attendu", line=line, column="territoire")
        start = form_year(row["debut"], display_name, line, "debut")
        end = form_year(row["fin"], display_name, line, "fin")
        if end < start:
            raise SourceFileError(display_name, f"fin du contrat ({end}) avant son début ({start})", line=line, column="fin")
        records.append({"contract_id": row["contrat"], "label": row["libelle"] or row["contrat"],
                        "territory_code": territory, "territory_level": levels[territory],
                        "start_year": start, "end_year": end, "source_file": display_name, "source_row": line})
    frame = pd.DataFrame.from_records(records, columns=CONTRACT_COLUMNS)
    repeated = frame[frame.duplicated("contract_id")]
    if len(repeated):
        raise SourceFileError(display_name, f"contrat {repeated.iloc[0].contract_id!r} déclaré deux fois",
                              line=int(repeated.iloc[0].source_row), column="contrat")
    return frame.astype(empty_contracts().dtypes.to_dict())


def _choice(row: dict, column: str, allowed: dict | tuple, display_name: str, line: int) -> str:
    key = normalise_choice(row[column])
    if key not in allowed:
        shown = ", ".join(repr(a) for a in allowed if a)
        raise SourceFileError(display_name, f"{row[column]!r} n'est pas une valeur admise ({shown})",
                              line=line, column=column)
    return allowed[key] if isinstance(allowed, dict) else key


def read_targets(path: Path, display_name: str, contracts: pd.DataFrame, referential: Referential,
                 catalogue_ids: set[str], scheme_ids: set[str]) -> pd.DataFrame:
    """Read and check one targets form; every refusal names the file, the line and the column."""
    raw = read_form(path, display_name, TARGET_REQUIRED)
    periods = {c: (s, e) for c, s, e in zip(contracts["contract_id"], contracts["start_year"], contracts["end_year"])}
    levels = _levels(referential)
    links = referential.qpv_links
    contract_qpv = {c: set(links.loc[(links["commune_code"] == t) | (links["epci_code"] == t), "qpv_code"])
                    for c, t in zip(contracts["contract_id"], contracts["territory_code"])}
    records = []
    for row in raw.to_dict("records"):
        line = int(row[LINE_COLUMN])

        def refuse(message: str, column: str) -> SourceFileError:
            return SourceFileError(display_name, message, line=line, column=column)

        contract = row["contrat"]
        if contract not in periods:
            raise refuse(f"contrat {contract!r} inconnu ; contrats déclarés : {', '.join(sorted(periods)) or 'aucun'}",
                         "contrat")
        indicator = row["indicateur"]
        if indicator not in catalogue_ids and indicator not in scheme_ids:
            raise refuse(f"indicateur {indicator!r} inconnu : ni dans le catalogue (data/catalogue/indicators.csv), "
                         "ni parmi les dispositifs des remontées partenaires", "indicateur")
        territory = normalise_code(row["territoire"])
        level = QPV_CONTRACT if territory == ALL_CONTRACT_QPV else levels.get(territory)
        if level is None:
            raise refuse(f"territoire {row['territoire']!r} inconnu du référentiel (code de QPV, de commune, "
                         f"SIREN d'EPCI ou {ALL_CONTRACT_QPV} attendu)", "territoire")
        if level == QPV and territory not in contract_qpv[contract]:
            raise refuse(f"le QPV {territory} n'est pas rattaché au territoire du contrat {contract} "
                         "dans le référentiel", "territoire")
        kind = _choice(row, "type_cible", TARGET_KINDS, display_name, line)
        status = _choice(row, "statut", TARGET_STATUS, display_name, line)
        direction = _choice(row, "sens", DIRECTIONS, display_name, line)
        is_set = status == "set"
        baseline_year = form_year(row["annee_reference"], display_name, line, "annee_reference", required=is_set)
        target_year = form_year(row["annee_cible"], display_name, line, "annee_cible", required=is_set)
        baseline_value = form_number(row["valeur_reference"], display_name, line, "valeur_reference")
        target_value = form_number(row["valeur_cible"], display_name, line, "valeur_cible")
        start, end = periods[contract]
        if target_year is not None and not start <= target_year <= end:
            raise refuse(f"année cible {target_year} hors de la période du contrat {contract} ({start}-{end})",
                         "annee_cible")
        if baseline_year is not None and target_year is not None and baseline_year > target_year:
            raise refuse(f"année de référence {baseline_year} postérieure à l'année cible {target_year}",
                         "annee_reference")
        if kind == GAP_TO_COMMUNE:
            if level != QPV or indicator not in catalogue_ids:
                raise refuse("un objectif d'écart à la commune porte sur un QPV et un indicateur du catalogue",
                             "territoire" if level != QPV else "indicateur")
            if target_value is not None and target_value <= 0:
                raise refuse("valeur_cible : nombre de points de réduction de l'écart, positif attendu", "valeur_cible")
            direction = "decrease"
        elif kind == POPULATION_SHARE:
            if indicator not in scheme_ids:
                raise refuse("la cible part_population porte sur un dispositif des remontées partenaires",
                             "indicateur")
            if target_value is not None:
                raise refuse("la cible part_population est calculée (part des QPV dans la population) : "
                             "laisser valeur_cible vide", "valeur_cible")
            direction = "increase"
        elif is_set and direction is None:
            raise refuse("sens obligatoire pour une cible de type valeur (hausse ou baisse)", "sens")
        if is_set and kind != POPULATION_SHARE and target_value is None:
            raise refuse("valeur cible obligatoire pour une cible fixée (ou statut « à préciser »)", "valeur_cible")
        records.append({
            "contract_id": contract, "pillar": row["pilier"], "objective_code": row["objectif"],
            "indicator_id": indicator, "territory_code": territory, "territory_level": level, "target_kind": kind,
            "baseline_year": baseline_year, "baseline_value": baseline_value, "target_year": target_year,
            "target_value": target_value, "direction": direction, "provider": row["fournisseur"],
            "target_status": status, "comment": row.get("commentaire", "") or None,
            "source_file": display_name, "source_row": line,
        })
    return pd.DataFrame.from_records(records, columns=TARGET_COLUMNS).astype(TARGET_DTYPES)


def combine_frames(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty


# --- Progress -------------------------------------------------------------------------------------

REACHED, ON_TRACK, BEHIND, NO_DATA, TARGET_NOT_SET = "reached", "on_track", "behind", "no_data", "target_not_set"
PROGRESS_LABELS_FR = {
    REACHED: "cible atteinte",
    ON_TRACK: "en bonne voie",
    BEHIND: "en retard",
    NO_DATA: "pas de donnée",
    TARGET_NOT_SET: "cible à préciser",
}
PROGRESS_COLUMNS = [
    "contract_id", "pillar", "objective_code", "indicator_id", "territory_code", "territory_level", "target_kind",
    "direction", "provider", "target_status", "unit",
    "baseline_year", "baseline_value", "baseline_origin", "latest_year", "latest_value",
    "target_year", "target_value", "gap_reduction_points", "share_done", "elapsed_share",
    "status", "status_label_fr", "status_reason", "comment", "source_file", "source_row",
]
PROGRESS_DTYPES = {"baseline_year": "Int64", "baseline_value": "Float64", "latest_year": "Int64",
                   "latest_value": "Float64", "target_year": "Int64", "target_value": "Float64",
                   "gap_reduction_points": "Float64", "share_done": "Float64", "elapsed_share": "Float64",
                   "source_row": "int64"}
PRECISION = 6  # as in gaps: removes float noise, far below any published precision


def _series(years, values, statuses) -> dict[int, float]:
    """Year -> published number; markers and blanks are left out, never read as zero."""
    return {int(y): float(v) for y, v, s in zip(years, values, statuses) if s == OK and pd.notna(v)}


class _Figures:
    """The figures a target is measured against: observations, gaps and partner shares."""

    def __init__(self, contracts, observations, gaps, representativity):
        self.contract_territory = dict(zip(contracts["contract_id"], contracts["territory_code"]))
        self.observations = observations.groupby(["indicator_id", "territory_code", "territory_level"])
        commune_gaps = gaps[gaps["comparison_level"] == COMMUNE].sort_values("comparison_code", kind="mergesort")
        self.gaps = commune_gaps.drop_duplicates(["qpv_code", "indicator_id", "year", "source"]).groupby(
            ["indicator_id", "qpv_code"])
        self.partners = representativity.groupby(["contract_id", "scheme_id", "territory_code"])

    @staticmethod
    def _get(groups, key):
        try:
            return groups.get_group(key)
        except KeyError:
            return None

    def values(self, target: dict) -> dict[int, float]:
        if target["target_kind"] == GAP_TO_COMMUNE:
            rows = self._get(self.gaps, (target["indicator_id"], target["territory_code"]))
            if rows is None:
                return {}
            # The gap in absolute value: reducing it means moving towards the commune.
            return {y: abs(v) for y, v in _series(rows["year"], rows["gap"], [OK] * len(rows)).items()}
        rows = self.partner_rows(target)
        if rows is not None:
            return _series(rows["year"], rows["qpv_share_beneficiaries"], [OK] * len(rows))
        code, level = target["territory_code"], target["territory_level"]
        if level == QPV_CONTRACT:  # the contract's QPV taken together, derived upstream per contract territory
            code = self.contract_territory[target["contract_id"]]
        rows = self._get(self.observations, (target["indicator_id"], code, level))
        return {} if rows is None else _series(rows["year"], rows["value"], rows["status"])

    def partner_rows(self, target: dict):
        territory = (self.contract_territory[target["contract_id"]] if target["territory_level"] == QPV_CONTRACT
                     else target["territory_code"])
        return self._get(self.partners, (target["contract_id"], target["indicator_id"], territory))

    def population_share(self, target: dict, year: int | None) -> tuple[float | None, str | None]:
        """The QPV share of the population that a part_population target aims at, at ``year``."""
        rows = self.partner_rows(target)
        if rows is None:
            return None, "aucune remontée du dispositif"
        row = rows[rows["year"] == (year if year is not None else rows["year"].max())].iloc[0]
        share = row["qpv_share_population"]
        if pd.isna(share):
            return None, f"part des QPV dans la population non disponible ({row['status_reason']})"
        return float(share), None


def _reached(latest: float, target: float, direction: str) -> bool:
    return latest >= target if direction == "increase" else latest <= target


def _assess(target: dict, figures: _Figures) -> dict:
    kind, direction = target["target_kind"], target["direction"]
    baseline_year = None if pd.isna(target["baseline_year"]) else int(target["baseline_year"])
    target_year = None if pd.isna(target["target_year"]) else int(target["target_year"])
    series = figures.values(target)
    out = {"baseline_value": None, "baseline_origin": None, "latest_year": None, "latest_value": None,
           "target_value": None, "gap_reduction_points": None, "share_done": None, "elapsed_share": None}
    # Baseline: the contract's own figure when the form gives it, else the published one.
    if pd.notna(target["baseline_value"]):
        out["baseline_value"], out["baseline_origin"] = float(target["baseline_value"]), "fichier des cibles"
    elif baseline_year in series:
        out["baseline_value"], out["baseline_origin"] = series[baseline_year], "données publiées"
    eligible = [y for y in series if baseline_year is None or y >= baseline_year]
    if eligible:
        out["latest_year"] = max(eligible)
        out["latest_value"] = series[out["latest_year"]]

    def result(status: str, reason: str | None = None) -> dict:
        return {**out, "status": status, "status_reason": reason}

    if target["target_status"] == "to_specify":
        if kind == VALUE and pd.notna(target["target_value"]):
            out["target_value"] = float(target["target_value"])
        return result(TARGET_NOT_SET, "cible « à préciser » dans le contrat")
    if kind == GAP_TO_COMMUNE:
        points = float(target["target_value"])
        out["gap_reduction_points"] = points
        if out["baseline_value"] is not None:
            out["baseline_value"] = abs(out["baseline_value"])
            out["target_value"] = out["baseline_value"] - points
    elif kind == POPULATION_SHARE:
        if out["latest_value"] is None:
            return result(NO_DATA, f"aucune valeur publiée depuis l'année de référence {baseline_year}")
        out["target_value"], reason = figures.population_share(target, out["latest_year"])
        if out["target_value"] is None:
            return result(NO_DATA, reason)
    else:
        out["target_value"] = float(target["target_value"])
    if out["latest_value"] is None:
        return result(NO_DATA, f"aucune valeur publiée depuis l'année de référence {baseline_year}")
    if out["baseline_value"] is None:
        return result(NO_DATA, f"valeur de référence {baseline_year} non disponible")
    if out["latest_year"] > baseline_year:
        way = out["target_value"] - out["baseline_value"]
        if way:
            out["share_done"] = round((out["latest_value"] - out["baseline_value"]) / way, PRECISION)
        span = target_year - baseline_year
        out["elapsed_share"] = round(min(1.0, (out["latest_year"] - baseline_year) / span) if span else 1.0, PRECISION)
    if _reached(out["latest_value"], out["target_value"], direction):
        return result(REACHED)
    if out["latest_year"] <= baseline_year:
        return result(NO_DATA, f"aucune valeur postérieure à l'année de référence {baseline_year}")
    if out["latest_year"] < target_year and out["share_done"] is not None \
            and out["share_done"] >= out["elapsed_share"]:
        return result(ON_TRACK)
    return result(BEHIND)


# Columns of the derived territories (aggregation.py) that contract_qpv_figures reads.
CONTRACT_QPV_COLUMNS = ("indicator_id", "year", "source", "territory_level", "parent_code", "qpv_codes", "value",
                        "status")


def contract_qpv_figures(contracts: pd.DataFrame, derived: pd.DataFrame, qpv_links: pd.DataFrame) -> pd.DataFrame:
    """The figures of each contract's QPV taken together, as observations of the contract's territory at level
    ``qpv_contrat`` (where a target on ``QPV_CONTRAT`` looks for them).

    aggregation.py derives "l'ensemble des QPV du contrat" once per EPCI, from all the EPCI's QPV (table
    comparison_territories, code ``<EPCI>-QPV``). It is the figure of a contract signed by that EPCI, or by a
    commune that every one of these QPV lies in (wholly or in part). A commune holding only some of the EPCI's
    QPV gets no figure: the EPCI's would not be its own.
    """
    rows = derived[derived["territory_level"] == QPV_CONTRACT]
    communes_of = qpv_links.groupby("qpv_code")["commune_code"].agg(set).to_dict()
    parts = []
    for code, level in zip(contracts["territory_code"], contracts["territory_level"]):
        if level == EPCI:
            mine = rows["parent_code"] == code
        else:
            mine = rows["qpv_codes"].map(lambda codes: isinstance(codes, str) and all(
                code in communes_of.get(qpv, ()) for qpv in codes.split(",")))
        parts.append(rows[mine.astype(bool)].assign(territory_code=code))
    columns = ["indicator_id", "territory_code", "territory_level", "year", "source", "value", "status"]
    return pd.concat([rows.iloc[:0], *parts], ignore_index=True).reindex(columns=columns)


def compute_progress(targets: pd.DataFrame, contracts: pd.DataFrame, observations: pd.DataFrame,
                     gaps: pd.DataFrame, representativity: pd.DataFrame, indicators: pd.DataFrame,
                     contract_figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """The progress table: one row per target, with baseline, latest value, target and status.

    ``contract_figures`` (contract_qpv_figures): the contracts' QPV taken together, read before the observations so
    that a figure a source publishes for the same year is the one kept."""
    if contract_figures is not None and len(contract_figures):
        observations = pd.concat([contract_figures, observations], ignore_index=True)
    figures = _Figures(contracts, observations, gaps, representativity)
    units = dict(zip(indicators["indicator_id"], indicators["unit"]))
    rows = []
    for target in targets.to_dict("records"):
        assessed = _assess(target, figures)
        unit = "points" if target["target_kind"] == GAP_TO_COMMUNE else units.get(target["indicator_id"], "%")
        rows.append({**target, **assessed, "unit": unit,
                     "status_label_fr": PROGRESS_LABELS_FR[assessed["status"]]})
    frame = pd.DataFrame.from_records(rows, columns=PROGRESS_COLUMNS)
    for column in ("baseline_value", "latest_value", "target_value"):
        frame[column] = pd.to_numeric(frame[column]).round(PRECISION)
    return frame.astype(PROGRESS_DTYPES).reset_index(drop=True)


# --- From the manifest ([[targets]] blocks of data/raw/sources.toml) -----------------------------

CONTRACTS_READER, TARGETS_READER, PARTNERS_READER = "contrats", "cibles", "remontees_partenaires"
FORM_READERS = (CONTRACTS_READER, TARGETS_READER, PARTNERS_READER)


def _forms(manifest: Manifest, reader: str) -> list[RawFile]:
    for entry in manifest.targets:
        if entry.reader not in FORM_READERS:
            raise SourceFileError(entry.display, f"lecteur {entry.reader!r} inconnu pour un bloc [[targets]] ; "
                                                            f"lecteurs disponibles : {', '.join(FORM_READERS)}")
    return [e for e in manifest.targets if e.reader == reader]


def load_contracts(raw_dir: Path, manifest: Manifest, referential: Referential) -> pd.DataFrame:
    frames = [read_contracts(raw_dir / e.path, e.display, referential)
              for e in _forms(manifest, CONTRACTS_READER)]
    contracts = combine_frames(frames, empty_contracts())
    repeated = contracts[contracts.duplicated("contract_id")]
    if len(repeated):
        row = repeated.iloc[0]
        raise SourceFileError(row.source_file, f"contrat {row.contract_id!r} déjà déclaré dans un autre fichier",
                              line=int(row.source_row), column="contrat")
    return contracts.sort_values("contract_id", kind="mergesort").reset_index(drop=True)


def load_partner_reporting(raw_dir: Path, manifest: Manifest, contracts: pd.DataFrame, referential: Referential,
                           catalogue_ids: set[str]) -> pd.DataFrame:
    return combine_reporting([
        read_partner_reporting(raw_dir / e.path, e.display, set(contracts["contract_id"]), referential,
                               catalogue_ids)
        for e in _forms(manifest, PARTNERS_READER)])


def load_targets(raw_dir: Path, manifest: Manifest, contracts: pd.DataFrame, referential: Referential,
                 catalogue_ids: set[str], scheme_ids: set[str]) -> pd.DataFrame:
    frames = [read_targets(raw_dir / e.path, e.display, contracts, referential, catalogue_ids, scheme_ids)
              for e in _forms(manifest, TARGETS_READER)]
    return combine_frames(frames, empty_targets())
