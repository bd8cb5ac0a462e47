"""From the manifest to canonical frames: picks the reader named for each raw file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qpv_observatory.catalogue import Catalogue
from qpv_observatory.counts import count_column_ids, fold_counts
from qpv_observatory.errors import SourceFileError
from qpv_observatory.manifest import Manifest, RawFile
from qpv_observatory.observations import combine_observations
from qpv_observatory.readers.referential import Referential, combine_referentials, read_anct_qpv_list
from qpv_observatory.readers.wide import CAF_WIDE, INSEE_WIDE, read_wide_observations

WIDE_LAYOUTS = {"insee_wide_csv": INSEE_WIDE, "caf_wide_csv": CAF_WIDE}
REFERENTIAL_READERS = {"anct_qpv_list": read_anct_qpv_list}


def _display(entry: RawFile) -> str:
    return f"data/raw/{entry.path}"


def read_observation_file(raw_dir: Path, entry: RawFile, catalogue: Catalogue) -> pd.DataFrame:
    layout = WIDE_LAYOUTS.get(entry.reader)
    if layout is None:
        raise SourceFileError(_display(entry), f"lecteur {entry.reader!r} inconnu ; lecteurs disponibles : "
                                               f"{', '.join(sorted(WIDE_LAYOUTS))}")
    variables = catalogue.variables_for(entry.source, entry.vintage)
    if not variables:
        raise SourceFileError(_display(entry), f"le catalogue ne décrit aucune variable pour la source "
                                               f"{entry.source} millésime {entry.vintage} (data/catalogue/source_variables.csv)")
    variables = {**variables, **count_column_ids(catalogue.count_variables_for(entry.source, entry.vintage))}
    frame = read_wide_observations(raw_dir / entry.path, _display(entry), layout, entry.source, entry.vintage,
                                   entry.label, variables)
    return fold_counts(frame, _display(entry))


def read_source_observations(raw_dir: Path, manifest: Manifest, source: str, catalogue: Catalogue) -> pd.DataFrame:
    """Every file of one source, as one checked frame of observations."""
    return combine_observations([read_observation_file(raw_dir, e, catalogue) for e in manifest.files_for(source)])


def read_referentials(raw_dir: Path, manifest: Manifest) -> Referential:
    parts = []
    for entry in manifest.referentials:
        reader = REFERENTIAL_READERS.get(entry.reader)
        if reader is None:
            raise SourceFileError(_display(entry), f"lecteur de référentiel {entry.reader!r} inconnu ; "
                                                   f"lecteurs disponibles : {', '.join(sorted(REFERENTIAL_READERS))}")
        parts.append(reader(raw_dir / entry.path, _display(entry), entry.geography))
    return combine_referentials(parts)
