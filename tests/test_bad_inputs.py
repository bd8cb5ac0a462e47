"""Bad-input corpus: each file of tests/bad_inputs/ replaces one demo raw file; the run must stop with
a message naming the file, the line and the rule, and the published DuckDB/Parquet stay byte-identical."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest

from qpv_observatory.validation_report import REPORT_DIR, REPORT_PAGE
from tests.conftest import DEMO_RAW, digest_tree, failure_messages, run_pipeline

BAD_INPUTS = Path(__file__).parent / "bad_inputs"
RP2015 = "2015/insee_rp/rp2015_qpv_indicateurs_niort.csv"

# bad file -> (demo file it replaces, fragments the failure message must contain: file, line, rule)
CASES = {
    "wrong_separator.csv": (RP2015, ["ligne 1", "séparateur « ; » attendu", "« , »"]),
    "wrong_encoding.csv": ("2015/insee_filosofi/filosofi2015_qpv_niort.csv", ["ligne 4", "encodage incohérent"]),
    "missing_column.csv": (RP2015, ["ligne 1", "colonne(s) obligatoire(s) absente(s) : NIVGEO"]),
    "text_in_numeric_column.csv": (RP2015, ["ligne 5", "colonne P15_TXCHOM1564", "'seize' n'est ni un nombre"]),
    "duplicate_rows.csv": ("2017/cnaf/cnaf2017_allocataires_qpv_niort.csv", ["ligne 7", "valeur en double", "ligne 3"]),
    "unknown_qpv_code.csv": ("2018/cnam/cnam2018_qpv_niort.csv", ["ligne 3", "connu du référentiel", "QP079009"]),
    "rate_140.csv": ("2016/cnaf/cnaf2016_allocataires_qpv_niort.csv", ["ligne 3", "compris entre 0 et 100", "140"]),
    "empty_file.csv": ("2018/cnam/cnam2018_qpv_niort.csv", ["fichier vide"]),
    "truncated_file.csv": (RP2015, ["ligne 3", "ligne tronquée"]),
    # 3.590 or 3,590? A dot is no decimal separator in INSEE's files: refused, never read as 3.59.
    "decimal_dot.csv": (RP2015, ["ligne 4", "colonne P15_TXCHOM1564", "'3.590' : un point dans un fichier à virgule"]),
    "nan_value.csv": (RP2015, ["ligne 3", "colonne P15_TXCHOM1564", "'NaN' n'est pas un nombre fini"]),
    "control_character.csv": (RP2015, ["ligne 2", "colonne LIBGEO", "caractère de contrôle U+0007"]),
    # A finite number, but no population: refused before any sum could turn two of them into inf.
    "absurd_number.csv": ("2013/insee_rp/rp2013_qpv_population_niort.csv",
                          ["ligne 3", "une valeur reste entre -1 et 1 milliard", "1e+308"]),
}


def test_corpus_covers_every_file():
    assert sorted(p.name for p in BAD_INPUTS.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("bad_file", sorted(CASES))
def test_bad_input_stops_publication_with_a_clear_message(bad_file, demo_curated, tmp_path):
    target, fragments = CASES[bad_file]
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    published = digest_tree(curated)
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, raw)
    shutil.copyfile(BAD_INPUTS / bad_file, raw / target)

    result = run_pipeline(curated, raw)

    assert not result.success
    message = failure_messages(result)
    assert f"data/raw/{target}" in message
    for fragment in fragments:
        assert fragment in message
    assert digest_tree(curated) == published  # DuckDB, Parquet and charts untouched
    page = (curated / REPORT_DIR / REPORT_PAGE).read_text(encoding="utf-8")
    assert f"data/raw/{target}" in page and "bloquant" in page


def _empty_manifest(raw: Path) -> str:
    (raw / "2015" / "sources.toml").write_text("", encoding="utf-8")
    return "data/raw/2015/sources.toml : aucun bloc [[file]]"


def _path_out_of_the_raw_folder(raw: Path) -> str:
    manifest = raw / "2016" / "sources.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        'path = "cnaf/cnaf2016_allocataires_qpv_niort.csv"', 'path = "../../../../etc/passwd"'), encoding="utf-8")
    return "chemin '../../../../etc/passwd' refusé"


def _link_out_of_the_raw_folder(raw: Path) -> str:
    target = raw / "2017" / "cnaf" / "cnaf2017_allocataires_qpv_niort.csv"
    outside = raw.parent / "ailleurs.csv"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    return "cnaf2017_allocataires_qpv_niort.csv est un lien qui mène hors de data/raw"


@pytest.mark.parametrize("spoil", [_empty_manifest, _path_out_of_the_raw_folder, _link_out_of_the_raw_folder])
def test_a_refused_manifest_leaves_the_published_release_as_it_was(spoil, demo_curated, tmp_path):
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    published = digest_tree(curated)
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, raw)
    expected = spoil(raw)
    result = run_pipeline(curated, raw)
    assert not result.success and expected in failure_messages(result)
    assert digest_tree(curated) == published
    assert expected in html.unescape((curated / REPORT_DIR / REPORT_PAGE).read_text(encoding="utf-8"))
