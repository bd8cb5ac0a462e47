"""From the manifest to canonical frames: picks the reader named for each raw file."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

import pandas as pd

from qpv_observatory.catalogue import Catalogue
from qpv_observatory.counts import count_column_ids, fold_counts
from qpv_observatory.errors import SourceFileError
from qpv_observatory.manifest import MANIFEST_NAME, Manifest, RawFile, display_path
from qpv_observatory.observations import combine_observations
from qpv_observatory.readers.france_travail import read_defm_communes
from qpv_observatory.readers.insee_referentials import read_cog_communes, read_epci_composition, read_qpv_correspondence
from qpv_observatory.readers.insee_qpv import read_insee_qpv
from qpv_observatory.readers.insee_xlsx import read_insee_wide_xlsx
from qpv_observatory.readers.referential import Referential, combine_referentials, read_anct_qpv_list
from qpv_observatory.readers.sig_ville import read_anct_qpv_contours, read_sig_ville_contours, read_sig_ville_wide
from qpv_observatory.readers.wide import (CAF_WIDE, INSEE_COMMUNAL, INSEE_POPULATIONS, INSEE_WIDE, WideLayout,
                                         read_wide_observations)
from qpv_observatory.territories import MANIFEST_LEVELS

INSEE_QPV_READER = "insee_qpv"  # reads its catalogue table itself (one file, several sources)
WIDE_LAYOUTS = {"insee_wide_csv": INSEE_WIDE, "caf_wide_csv": CAF_WIDE, "insee_commune_csv": INSEE_COMMUNAL,
                "insee_populations_legales_csv": INSEE_POPULATIONS}


def _wide_csv(layout: WideLayout, path: Path, display_name: str, entry: RawFile, variables: dict[str, str],
              zero_not_available: frozenset[str]) -> pd.DataFrame:
    if layout.level_column and entry.level:
        raise SourceFileError(display_name, f"le lecteur {entry.reader} lit le niveau de chaque ligne dans la colonne "
                                            f"{layout.level_column} : retirer la clé level du bloc [[file]]")
    if not layout.level_column and not entry.level:
        raise SourceFileError(display_name, f"le lecteur {entry.reader} lit un fichier d'un seul niveau : préciser "
                                            f"level = \"…\" dans le bloc [[file]] ({', '.join(MANIFEST_LEVELS)})")
    if entry.level and entry.level not in MANIFEST_LEVELS:
        raise SourceFileError(display_name, f"level = {entry.level!r} inconnu ; niveaux admis : "
                                            f"{', '.join(MANIFEST_LEVELS)}")
    return read_wide_observations(path, display_name, layout, entry.source, entry.vintage, entry.label, variables,
                                  zero_not_available, level=entry.level)


# The manifest's `reader` name -> function(path, display name, manifest entry, variables, zero-not-available set).
ObservationReader = Callable[[Path, str, RawFile, dict[str, str], frozenset[str]], pd.DataFrame]
OBSERVATION_READERS: dict[str, ObservationReader] = {
    **{name: partial(_wide_csv, layout) for name, layout in WIDE_LAYOUTS.items()},
    "insee_wide_xlsx": lambda path, display, e, variables, zeros: read_insee_wide_xlsx(
        path, display, e.source, e.vintage, e.label, variables, zeros),
    "sig_ville_wide_csv": lambda path, display, e, variables, zeros: read_sig_ville_wide(
        path, display, e.source, e.vintage, e.label, variables, zeros),
    "france_travail_defm_csv": lambda path, display, e, variables, zeros: read_defm_communes(
        path, display, e.source, e.vintage, e.label, variables, e.period),
}
REFERENTIAL_READERS = {
    "anct_qpv_list": read_anct_qpv_list,
    "insee_cog_communes": read_cog_communes,
    "insee_epci_composition": read_epci_composition,
    "anct_qpv_correspondence": read_qpv_correspondence,
    "sig_ville_qpv_contours": read_sig_ville_contours,
    "anct_qpv_contours": read_anct_qpv_contours,
}


def read_observation_file(raw_dir: Path, entry: RawFile, catalogue: Catalogue) -> pd.DataFrame:
    if entry.reader == INSEE_QPV_READER:
        frame = read_insee_qpv(raw_dir / entry.path, entry.display, catalogue, entry.vintage, entry.label, entry.table)
        return fold_counts(frame, entry.display)
    reader = OBSERVATION_READERS.get(entry.reader)
    if reader is None:
        raise SourceFileError(entry.display, f"lecteur {entry.reader!r} inconnu ; lecteurs disponibles : "
                                               f"{', '.join(sorted([*OBSERVATION_READERS, INSEE_QPV_READER]))}")
    known = set(catalogue.sources["source"])
    if entry.source not in known:
        raise SourceFileError(entry.display, f"source {entry.source!r} absente de data/catalogue/sources.csv ; "
                                               f"sources connues : {', '.join(sorted(known))}")
    variables = catalogue.variables_for(entry.source, entry.vintage)
    if not variables:
        raise SourceFileError(entry.display, f"le catalogue ne décrit aucune variable pour la source "
                                               f"{entry.source} millésime {entry.vintage} (data/catalogue/source_variables.csv)")
    variables = {**variables, **count_column_ids(catalogue.count_variables_for(entry.source, entry.vintage))}
    frame = reader(raw_dir / entry.path, entry.display, entry, variables,
                   catalogue.zero_not_available_for(entry.source, entry.vintage))
    return fold_counts(frame, entry.display)


def read_millesime_observations(raw_dir: Path, manifest: Manifest, catalogue: Catalogue) -> pd.DataFrame:
    """Every file of the manifest's millésimes, whatever their sources, as one checked frame of observations."""
    return combine_observations([read_observation_file(raw_dir, e, catalogue) for e in manifest.files])


def refuse_empty_millesime(observations: pd.DataFrame, vintage: int) -> pd.DataFrame:
    """A millésime with no row left would be published empty: refused, naming its manifest."""
    if observations.empty:
        raise SourceFileError(display_path(f"{vintage}/{MANIFEST_NAME}"), f"le millésime {vintage} ne donne aucune "
                              "ligne (fichiers sans valeur connue du catalogue, ou toutes hors du périmètre)")
    return observations


def read_referentials(raw_dir: Path, manifest: Manifest) -> Referential:
    parts = []
    for entry in manifest.referentials:
        reader = REFERENTIAL_READERS.get(entry.reader)
        if reader is None:
            raise SourceFileError(entry.display, f"lecteur de référentiel {entry.reader!r} inconnu ; "
                                                   f"lecteurs disponibles : {', '.join(sorted(REFERENTIAL_READERS))}")
        parts.append(reader(raw_dir / entry.path, entry.display, entry.geography))
    return combine_referentials(parts)
