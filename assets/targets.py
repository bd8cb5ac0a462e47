"""Contract targets: contracts, partner reporting, representativity index and progress table."""


import dagster as dg
import pandas as pd

from pipelines.resources import ObservatoryPaths
from qpv_observatory.catalogue import Catalogue
from qpv_observatory.manifest import load_manifest
from qpv_observatory.readers.referential import Referential
from qpv_observatory.representativity import POPULATION_COLUMNS, POPULATION_INDICATOR, compute_representativity
from qpv_observatory.territories import COMMUNE, QPV_CONTRACT
from qpv_observatory.targets import (CONTRACT_QPV_COLUMNS, compute_progress, contract_qpv_figures, load_contracts,
                                     load_partner_reporting, load_targets)


@dg.asset(group_name="targets", description="Contrats de ville : territoire signataire et période.")
def contracts(paths: ObservatoryPaths, qpv_referential: Referential) -> pd.DataFrame:
    return load_contracts(paths.raw, load_manifest(paths.raw, vintages=()), qpv_referential)


@dg.asset(group_name="targets", description="Remontées des partenaires : bénéficiaires d'un dispositif, dont résidents en QPV.")
def partner_reporting(paths: ObservatoryPaths, contracts: pd.DataFrame, qpv_referential: Referential,
                      indicator_catalogue: Catalogue) -> pd.DataFrame:
    return load_partner_reporting(paths.raw, load_manifest(paths.raw, vintages=()), contracts, qpv_referential,
                                  set(indicator_catalogue.indicators["indicator_id"]))


@dg.asset(group_name="targets", description="Cibles des contrats (situation de référence, situation visée), contrôlées.")
def contract_targets(context: dg.AssetExecutionContext, paths: ObservatoryPaths, contracts: pd.DataFrame,
                     partner_reporting: pd.DataFrame, qpv_referential: Referential,
                     indicator_catalogue: Catalogue) -> pd.DataFrame:
    targets = load_targets(paths.raw, load_manifest(paths.raw, vintages=()), contracts, qpv_referential,
                           set(indicator_catalogue.indicators["indicator_id"]), set(partner_reporting["scheme_id"]))
    context.add_output_metadata({"targets": len(targets),
                                 "to_specify": int((targets["target_status"] == "to_specify").sum())})
    return targets


@dg.asset(group_name="targets", deps=["promoted_millesime"],
          description="Indice de représentativité : part des QPV parmi les bénéficiaires / "
                      "part des QPV dans la population.")
def partner_representativity(paths: ObservatoryPaths, partner_reporting: pd.DataFrame,
                             qpv_referential: Referential) -> pd.DataFrame:
    # Only the populations are needed: never the whole national table in memory.
    observations = paths.store.read_table("observations", paths.published_vintages(), columns=POPULATION_COLUMNS,
                                          filters=[("indicator_id", "==", POPULATION_INDICATOR)])
    return compute_representativity(partner_reporting, observations, qpv_referential)


@dg.asset(group_name="targets", deps=["promoted_millesime"],
          description="Avancement de chaque cible : référence, dernière valeur, cible, statut.")
def target_progress(context: dg.AssetExecutionContext, paths: ObservatoryPaths, contract_targets: pd.DataFrame,
                    contracts: pd.DataFrame, partner_representativity: pd.DataFrame,
                    indicator_catalogue: Catalogue, qpv_referential: Referential) -> pd.DataFrame:
    vintages = paths.published_vintages()
    # Only the targets' indicators (none without targets): never the whole national tables in memory.
    targeted = [("indicator_id", "in", sorted(set(contract_targets["indicator_id"].dropna())) or [""])]
    observations = paths.store.read_table("observations", vintages, filters=targeted)
    gaps = paths.store.read_table("gaps", vintages, filters=[*targeted, ("comparison_level", "==", COMMUNE)])
    derived = paths.store.read_table("comparison_territories", vintages, columns=CONTRACT_QPV_COLUMNS,
                                     filters=[*targeted, ("territory_level", "==", QPV_CONTRACT)])
    progress = compute_progress(contract_targets, contracts, observations, gaps, partner_representativity,
                                indicator_catalogue.indicators,
                                contract_qpv_figures(contracts, derived, qpv_referential.qpv_links))
    context.add_output_metadata({"by_status": progress["status"].value_counts().sort_index().to_dict()})
    return progress
