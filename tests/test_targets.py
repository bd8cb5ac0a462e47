"""Contract targets: forms, refusals, representativity index and progress, on hand-computed fixtures."""

from __future__ import annotations


import pandas as pd
import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.aggregation import derive_comparison_territories
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.cli import main as cli_main
from qpv_observatory.errors import SourceFileError
from qpv_observatory.gaps import compute_gaps
from qpv_observatory.ingest import read_referentials
from qpv_observatory.manifest import load_manifest
from qpv_observatory.observations import conform
from qpv_observatory.readers.referential import Referential
from qpv_observatory.representativity import (POPULATION_COLUMNS, combine_reporting, compute_representativity,
                                              read_partner_reporting)
from qpv_observatory.target_templates import TEMPLATES
from qpv_observatory.targets import (CONTRACT_FORM, TARGET_FORM, TARGET_KINDS,
                                     compute_progress, contract_qpv_figures, load_contracts, load_partner_reporting,
                                     load_targets, read_contracts, read_targets)
from tests.conftest import DEMO_RAW, run_on_corrupted_copy

CATALOGUE = load_catalogue(PROJECT_ROOT / "data" / "catalogue")
CATALOGUE_IDS = set(CATALOGUE.indicators["indicator_id"])

REFERENTIAL = Referential(
    territories=pd.DataFrame({"territory_code": ["QP079001", "QP079002", "79191", "200041317", "QP086001", "86194"],
                              "territory_level": ["qpv", "qpv", "commune", "epci", "qpv", "commune"],
                              "name": ["Clou Bouchet", "Tour Chabot Gavacherie", "Niort", "CA du Niortais",
                                       "QPV de Poitiers", "Poitiers"]}),
    qpv_links=pd.DataFrame({"qpv_code": ["QP079001", "QP079002", "QP086001"],
                            "commune_code": ["79191", "79191", "86194"],
                            "epci_code": ["200041317", "200041317", "200069854"], "geography": [2015, 2015, 2015]}),
)


def observation(indicator, code, level, year, value, status="ok"):
    return {"indicator_id": indicator, "territory_code": code, "territory_level": level, "year": year,
            "value": value, "status": status, "marker": "s" if status == "secret" else None, "source": "test",
            "source_label": "Test", "vintage": year, "source_file": "test.csv", "source_row": 2}


# Two vintages (2015, 2020), so that progress can be measured.
OBSERVATIONS = conform(pd.DataFrame([
    observation("taux_chomage_rp", "QP079001", "qpv", 2015, 40.0),
    observation("taux_chomage_rp", "QP079001", "qpv", 2020, 34.0),
    observation("taux_chomage_rp", "79191", "commune", 2015, 15.0),
    observation("taux_chomage_rp", "79191", "commune", 2020, 14.0),
    observation("taux_emploi_1564", "QP079002", "qpv", 2015, 40.0),
    observation("taux_emploi_1564", "QP079002", "qpv", 2020, 41.0),
    observation("part_sans_diplome", "QP079002", "qpv", 2020, None, "secret"),
    # All QPV of the contract together, as a source would publish them, coded by the contract's territory.
    observation("taux_chomage_rp", "79191", "qpv_contrat", 2015, 38.0),
    observation("taux_chomage_rp", "79191", "qpv_contrat", 2020, 33.0),
    observation("population", "QP079001", "qpv", 2020, 2000.0),
    observation("population", "QP079002", "qpv", 2020, 1000.0),
    observation("population", "79191", "commune", 2020, 30000.0),
]))

CONTRACTS_CSV = """contrat;libelle;territoire;debut;fin
c1;Contrat test;79191;2015;2022
"""
PARTNERS_CSV = """contrat;dispositif;libelle;partenaire;territoire;annee;beneficiaires;dont_qpv
c1;plie;PLIE accompagnés;PLIE;79191;2019;100;5
c1;plie;PLIE accompagnés;PLIE;79191;2020;200;16
c1;culture;Crédits culture;Ville;79191;2020;nd;s
"""
HEADER = ";".join(TARGET_FORM)
# objective ; indicator ; territory ; kind ; baseline year ; baseline value ; target year ; target ; direction ; status
TARGET_ROWS = {
    "value_behind": "1.3.10;taux_chomage_rp;QP079001;valeur;2015;;2022;30;baisse;fixée",
    "value_reached": "1.3.11;taux_chomage_rp;QP079001;valeur;2015;;2022;35;baisse;fixée",
    "value_on_track": "3-1;taux_emploi_1564;QP079002;valeur;2015;;2022;41,2;hausse;fixée",
    "gap_reached": "2.1;taux_chomage_rp;QP079001;ecart_commune;2015;;2022;5;;fixée",
    "gap_behind": "2.2;taux_chomage_rp;QP079001;ecart_commune;2015;;2022;10;;fixée",
    "share_on_track": "4.1;plie;79191;part_population;2019;;2022;;;fixée",
    "partner_value_reached": "4.2;plie;79191;valeur;2019;;2022;7;hausse;fixée",
    "all_contract_qpv": "1.5;taux_chomage_rp;QPV_CONTRAT;valeur;2015;;2022;30;baisse;fixée",
    "to_specify": "1.4;taux_chomage_rp;QPV_CONTRAT;valeur;2015;;2022;;baisse;à préciser",
    "secret_no_data": "5.1;part_sans_diplome;QP079002;valeur;2020;;2022;10;baisse;fixée",
    "one_vintage_no_data": "5.2;taux_emploi_1564;QP079002;valeur;2020;;2022;50;hausse;fixée",
    "baseline_from_file": "5.3;taux_emploi_1564;QP079002;valeur;2015;38;2022;44;hausse;fixée",
    "share_without_population": "6.1;culture;79191;part_population;2020;;2022;;;fixée",
}


def target_line(spec: str) -> str:
    objective, indicator, territory, kind, b_year, b_value, t_year, t_value, direction, status = spec.split(";")
    return ";".join(["c1", "Pilier", objective, indicator, territory, kind, b_year, b_value, t_year, t_value,
                     direction, "Fournisseur", status, ""])


@pytest.fixture
def forms(tmp_path):
    (tmp_path / "contrats.csv").write_text(CONTRACTS_CSV, encoding="utf-8")
    (tmp_path / "partenaires.csv").write_text(PARTNERS_CSV, encoding="utf-8")
    lines = [HEADER] + [target_line(spec) for spec in TARGET_ROWS.values()]
    (tmp_path / "cibles.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def read_all(folder, targets_name="cibles.csv"):
    contracts = read_contracts(folder / "contrats.csv", "contrats.csv", REFERENTIAL)
    reporting = read_partner_reporting(folder / "partenaires.csv", "partenaires.csv", {"c1"}, REFERENTIAL,
                                       CATALOGUE_IDS)
    targets = read_targets(folder / targets_name, targets_name, contracts, REFERENTIAL, CATALOGUE_IDS,
                           set(reporting["scheme_id"]))
    return contracts, reporting, targets


@pytest.fixture
def progress(forms):
    contracts, reporting, targets = read_all(forms)
    representativity = compute_representativity(reporting, OBSERVATIONS, REFERENTIAL)
    gaps = compute_gaps(OBSERVATIONS, REFERENTIAL, CATALOGUE.indicators)
    table = compute_progress(targets, contracts, OBSERVATIONS, gaps, representativity, CATALOGUE.indicators)
    return table.set_index(pd.Index(list(TARGET_ROWS)))


def test_representativity_index_is_the_ratio_of_the_two_shares(forms):
    _, reporting, _ = read_all(forms)
    table = compute_representativity(reporting, OBSERVATIONS, REFERENTIAL).set_index(["scheme_id", "year"])
    plie_2020 = table.loc[("plie", 2020)]
    assert plie_2020["qpv_share_beneficiaries"] == pytest.approx(8.0)  # 16 / 200
    assert plie_2020["qpv_share_population"] == pytest.approx(10.0)  # (2000 + 1000) / 30000
    assert plie_2020["representativity_index"] == pytest.approx(0.8)
    assert plie_2020["status"] == "ok"
    # 2019: no census population at or before 2019 -> no index, and no constant put in its place.
    plie_2019 = table.loc[("plie", 2019)]
    assert plie_2019["qpv_share_beneficiaries"] == pytest.approx(5.0)
    assert pd.isna(plie_2019["representativity_index"]) and plie_2019["status"] == "no_data"
    # Markers stay statuses: no share is computed from 'nd' or 's'.
    culture = table.loc[("culture", 2020)]
    assert culture["counts_status"] == "not_available" and pd.isna(culture["beneficiaries"])
    assert pd.isna(culture["qpv_share_beneficiaries"]) and culture["status"] == "no_data"
    # The pipeline reads only POPULATION_COLUMNS of the observations: same table.
    lean = compute_representativity(reporting, OBSERVATIONS[list(POPULATION_COLUMNS)], REFERENTIAL)
    pd.testing.assert_frame_equal(lean.set_index(["scheme_id", "year"]), table)


def test_value_targets(progress):
    behind = progress.loc["value_behind"]
    assert (behind.baseline_value, behind.latest_year, behind.latest_value) == (40.0, 2020, 34.0)
    assert behind.share_done == pytest.approx(0.6)  # (34 - 40) / (30 - 40)
    assert behind.elapsed_share == pytest.approx(5 / 7)  # 2015 -> 2020 of 2015 -> 2022
    assert behind.status == "behind" and behind.status_label_fr == "en retard"
    reached = progress.loc["value_reached"]
    assert reached.status == "reached" and reached.share_done == pytest.approx(1.2)
    on_track = progress.loc["value_on_track"]
    assert on_track.target_value == pytest.approx(41.2)  # decimal comma in the form
    assert on_track.share_done == pytest.approx(1 / 1.2) and on_track.status == "on_track"
    from_file = progress.loc["baseline_from_file"]
    assert from_file.baseline_value == 38.0 and from_file.baseline_origin == "fichier des cibles"
    assert from_file.share_done == pytest.approx((41 - 38) / (44 - 38)) and from_file.status == "behind"


def test_all_qpv_of_the_contract_read_from_observations_of_the_contract_territory(progress):
    together = progress.loc["all_contract_qpv"]
    assert (together.baseline_value, together.latest_value) == (38.0, 33.0)
    assert together.share_done == pytest.approx(0.625) and together.status == "behind"  # 5 / 8 < 5 / 7


def test_all_qpv_of_the_contract_read_from_the_derived_territories(tmp_path):
    # Three QPV in the CA du Niortais, two of them in Niort: the derived "ensemble des QPV du contrat" (computed per
    # EPCI) is the figure of the EPCI's contract, not of a contract of Niort alone.
    referential = Referential(
        territories=pd.DataFrame({
            "territory_code": ["QP079001", "QP079002", "QP079003", "79191", "79003", "200041317"],
            "territory_level": ["qpv", "qpv", "qpv", "commune", "commune", "epci"],
            "name": ["Clou Bouchet", "Tour Chabot Gavacherie", "Pontreau Colline Saint-André", "Niort",
                     "Aiffres", "CA du Niortais"]}),
        qpv_links=pd.DataFrame({"qpv_code": ["QP079001", "QP079002", "QP079003"],
                                "commune_code": ["79191", "79191", "79003"],
                                "epci_code": ["200041317"] * 3, "geography": [2015] * 3}))
    observations = conform(pd.DataFrame([
        observation("population", code, "qpv", year, value)
        for year, values in ((2015, (2100.0, 1100.0, 900.0)), (2020, (2000.0, 1000.0, 800.0)))
        for code, value in zip(("QP079001", "QP079002", "QP079003"), values)]))
    derived = derive_comparison_territories(observations, referential, CATALOGUE.indicators)
    (tmp_path / "contrats.csv").write_text("contrat;libelle;territoire;debut;fin\n"
                                           "agglo;Contrat de l'agglomération;200041317;2015;2022\n"
                                           "ville;Contrat de la ville;79191;2015;2022\n", encoding="utf-8")
    (tmp_path / "cibles.csv").write_text("\n".join([HEADER] + [
        f"{contract};Pilier;1.1;population;QPV_CONTRAT;valeur;2015;;2022;3500;baisse;Fournisseur;fixée;"
        for contract in ("agglo", "ville")]) + "\n", encoding="utf-8")
    contracts = read_contracts(tmp_path / "contrats.csv", "contrats.csv", referential)
    targets = read_targets(tmp_path / "cibles.csv", "cibles.csv", contracts, referential, CATALOGUE_IDS, set())

    figures = contract_qpv_figures(contracts, derived, referential.qpv_links)
    assert set(figures["territory_code"]) == {"200041317"}
    assert dict(zip(figures["year"], figures["value"])) == {2015: 4100.0, 2020: 3800.0}

    progress = compute_progress(targets, contracts, observations, compute_gaps(observations, referential,
                                CATALOGUE.indicators), combine_reporting([]), CATALOGUE.indicators, figures)
    agglo, ville = (progress[progress["contract_id"] == c].iloc[0] for c in ("agglo", "ville"))
    assert (agglo.baseline_value, agglo.latest_year, agglo.latest_value) == (4100.0, 2020, 3800.0)
    assert agglo.share_done == pytest.approx(0.5) and agglo.status == "behind"  # 300 of 600, in 5 years of 7
    assert ville.status == "no_data" and pd.isna(ville.latest_value)


def test_gap_to_commune_targets(progress):
    reached = progress.loc["gap_reached"]
    # Gap 40 - 15 = 25 points in 2015, 34 - 14 = 20 in 2020: reduced by 5 points.
    assert (reached.baseline_value, reached.latest_value, reached.target_value) == (25.0, 20.0, 20.0)
    assert reached.gap_reduction_points == 5.0 and reached.unit == "points"
    assert reached.status == "reached" and reached.share_done == pytest.approx(1.0)
    behind = progress.loc["gap_behind"]
    assert behind.target_value == 15.0 and behind.share_done == pytest.approx(0.5)
    assert behind.status == "behind"


def test_population_share_targets(progress):
    share = progress.loc["share_on_track"]
    assert (share.baseline_value, share.latest_value) == (5.0, 8.0)
    assert share.target_value == pytest.approx(10.0)  # the QPV share of the population, computed
    assert share.share_done == pytest.approx(0.6)  # (8 - 5) / (10 - 5)
    assert share.elapsed_share == pytest.approx(1 / 3)  # 2019 -> 2020 of 2019 -> 2022
    assert share.status == "on_track"
    assert progress.loc["partner_value_reached"].status == "reached"
    missing = progress.loc["share_without_population"]
    assert missing.status == "no_data" and pd.isna(missing.target_value)


def test_to_specify_and_missing_figures_are_statuses_not_errors(progress):
    to_specify = progress.loc["to_specify"]
    assert to_specify.status == "target_not_set" and to_specify.status_label_fr == "cible à préciser"
    assert to_specify.territory_level == "qpv_contrat"
    secret = progress.loc["secret_no_data"]
    assert secret.status == "no_data" and pd.isna(secret.baseline_value) and pd.isna(secret.latest_value)
    one_vintage = progress.loc["one_vintage_no_data"]
    assert one_vintage.latest_year == 2020 and one_vintage.latest_value == 41.0  # equals the baseline
    assert one_vintage.status == "no_data" and "postérieure" in one_vintage.status_reason
    assert set(progress["status"]) == {"reached", "on_track", "behind", "no_data", "target_not_set"}


def test_objective_codes_stay_text(progress):
    assert progress.loc["value_on_track"].objective_code == "3-1"
    assert progress.loc["value_behind"].objective_code == "1.3.10"


def test_xlsx_form_reads_like_the_csv(forms):
    csv_targets = read_all(forms)[2]
    frame = pd.read_csv(forms / "cibles.csv", sep=";", dtype=str, keep_default_na=False)
    frame.to_excel(forms / "cibles.xlsx", index=False)
    xlsx_targets = read_all(forms, "cibles.xlsx")[2]
    pd.testing.assert_frame_equal(csv_targets.drop(columns="source_file"), xlsx_targets.drop(columns="source_file"))


@pytest.mark.parametrize("spec, line_column, reason", [
    ("1.1;indicateur_inconnu;QP079001;valeur;2015;;2022;30;baisse;fixée", "colonne indicateur", "inconnu"),
    ("1.1;taux_chomage_rp;QP099999;valeur;2015;;2022;30;baisse;fixée", "colonne territoire", "inconnu du référentiel"),
    ("1.1;taux_chomage_rp;QP086001;valeur;2015;;2022;30;baisse;fixée", "colonne territoire",
     "n'est pas rattaché au territoire du contrat c1"),
    ("1.1;taux_chomage_rp;QP079001;valeur;2015;;2026;30;baisse;fixée", "colonne annee_cible",
     "hors de la période du contrat c1 (2015-2022)"),
    ("1.1;taux_chomage_rp;QP079001;valeur;2015;;2022;trente;baisse;fixée", "colonne valeur_cible", "n'est pas un nombre"),
    ("1.1;taux_chomage_rp;QP079001;valeur;2015;;2022;30;;fixée", "colonne sens", "sens obligatoire"),
    ("1.1;taux_chomage_rp;QP079001;valeur;2015;;2022;30;baisse;voté", "colonne statut", "n'est pas une valeur admise"),
    ("1.1;taux_chomage_rp;79191;ecart_commune;2015;;2022;5;;fixée", "colonne territoire", "porte sur un QPV"),
    ("1.1;taux_chomage_rp;QP079001;part_population;2015;;2022;;;fixée", "colonne indicateur", "dispositif"),
])
def test_bad_targets_are_refused_naming_file_line_and_column(forms, spec, line_column, reason):
    lines = [HEADER, target_line(TARGET_ROWS["value_reached"]), target_line(spec)]
    (forms / "bad.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceFileError) as error:
        read_all(forms, "bad.csv")
    assert f"fichier bad.csv, ligne 3, {line_column}" in str(error.value)
    assert reason in str(error.value)


def test_bad_partner_counts_are_refused(forms):
    (forms / "partenaires.csv").write_text(PARTNERS_CSV + "c1;plie;PLIE;PLIE;79191;2021;10;12\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="ligne 5, colonne dont_qpv"):
        read_all(forms)


def test_niort_demo_forms_cover_every_target_kind():
    manifest = load_manifest(DEMO_RAW)
    referential = read_referentials(DEMO_RAW, manifest)
    contracts = load_contracts(DEMO_RAW, manifest, referential)
    reporting = load_partner_reporting(DEMO_RAW, manifest, contracts, referential, CATALOGUE_IDS)
    targets = load_targets(DEMO_RAW, manifest, contracts, referential, CATALOGUE_IDS, set(reporting["scheme_id"]))
    assert set(targets["target_kind"]) == set(TARGET_KINDS)
    assert {"set", "to_specify"} == set(targets["target_status"])
    # Targets stated in the 2024 Niort contract: culture credits 11 %, PLIE 25 % and 28 %.
    stated = targets[targets["contract_id"] == "niort_2024_2030"].set_index("indicator_id")
    assert stated.loc["plie_accompagnes", "target_value"] == 25.0
    assert stated.loc["plie_touches", "target_value"] == 28.0


def test_niort_progress_table_is_published(warehouse):
    rows = warehouse.execute("SELECT indicator_id, territory_code, target_kind, target_status, status, latest_year, "
                             "baseline_year FROM target_progress").fetchall()
    assert len(rows) == len(pd.read_csv(DEMO_RAW / "targets" / "cibles_niort.csv", sep=";"))
    for indicator, territory, kind, target_status, status, latest_year, baseline_year in rows:
        if target_status == "to_specify":
            assert status == "target_not_set"
        else:
            # One vintage per indicator in the 2019 evaluation, no partner figure: nothing to measure yet.
            assert status == "no_data"
            assert latest_year is None or latest_year == baseline_year
    index = warehouse.execute("SELECT count(*) FROM partner_representativity WHERE representativity_index IS NOT NULL")
    assert index.fetchone()[0] == 0


def test_bad_targets_file_fails_the_run_and_keeps_published_outputs(demo_curated, tmp_path):
    result, unchanged = run_on_corrupted_copy(demo_curated, tmp_path, "targets/cibles_niort.csv",
                                              b";2030;25;", b";2035;25;")
    assert not result.success and unchanged


def test_templates_are_written_and_never_overwrite(tmp_path, capsys):
    assert cli_main(["targets-template", str(tmp_path)]) == 0
    header = (tmp_path / "cibles.csv").read_text(encoding="utf-8-sig").strip().split(";")
    assert header == list(TARGET_FORM)
    assert (tmp_path / "contrats.csv").read_text(encoding="utf-8-sig").strip().split(";") == list(CONTRACT_FORM)
    assert cli_main(["targets-template", str(tmp_path)]) == 1
    assert cli_main(["targets-template", str(tmp_path / "x"), "--format", "xlsx"]) == 0
    notice = pd.read_excel(tmp_path / "x" / "remontees_partenaires.xlsx", sheet_name="notice", engine="openpyxl")
    assert list(notice["colonne"]) == list(TEMPLATES["remontees_partenaires"])
