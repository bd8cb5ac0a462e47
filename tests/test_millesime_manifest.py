"""The raw folder's manifests per millésime, the raw file table and the fingerprints that decide a refresh."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys

import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.errors import SourceFileError
from qpv_observatory.ingest import refuse_empty_millesime
from qpv_observatory.manifest import discover_vintages, load_manifest, raw_file_table
from qpv_observatory.observations import empty_observations
from qpv_observatory.store import vintage_fingerprint
from tests.conftest import DEMO_RAW

CATALOGUE = PROJECT_ROOT / "data" / "catalogue"
EXPECTATIONS = PROJECT_ROOT / "expectations"


@pytest.fixture
def raw(tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, copy)
    return copy


def test_millesimes_are_four_digit_folders_with_a_manifest(raw):
    (raw / "2021").mkdir()  # no sources.toml: not a millésime
    (raw / "archives").mkdir()
    (raw / "archives" / "sources.toml").write_text("", encoding="utf-8")
    assert discover_vintages(raw) == (2013, 2015, 2016, 2017, 2018, 2019, 2020)
    cnaf = [f for f in load_manifest(raw).files if f.source == "cnaf"]
    assert [f.path for f in cnaf] == ["2016/cnaf/cnaf2016_allocataires_qpv_niort.csv",
                                      "2017/cnaf/cnaf2017_allocataires_qpv_niort.csv"]
    assert {f.vintage for f in cnaf} == {2016, 2017}  # the folder's year
    assert load_manifest(raw, [2018]).files[0].display == "data/raw/2018/cnam/cnam2018_qpv_niort.csv"
    assert load_manifest(raw, vintages=()).files == () and len(load_manifest(raw, vintages=()).targets) == 3


def test_vintage_key_must_be_the_folder_s_year(raw):
    manifest = raw / "2017" / "sources.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('source = "cnaf"', 'source = "cnaf"\nvintage = 2016'),
                        encoding="utf-8")
    with pytest.raises(SourceFileError) as caught:
        load_manifest(raw, [2017])
    assert caught.value.file == "data/raw/2017/sources.toml"
    assert "vintage = 2016" in str(caught.value) and "millésime 2017" in str(caught.value)
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("vintage = 2016", "vintage = 2017"), encoding="utf-8")
    assert load_manifest(raw, [2017]).files[0].vintage == 2017  # the same year is accepted


def test_missing_file_is_named_with_its_millesime_folder(raw):
    (raw / "2016" / "cnaf" / "cnaf2016_allocataires_qpv_niort.csv").unlink()
    with pytest.raises(SourceFileError, match="data/raw/2016/cnaf/cnaf2016_allocataires_qpv_niort.csv introuvable"):
        load_manifest(raw)


def test_blocks_in_the_wrong_manifest_are_refused(raw):
    top = raw / "sources.toml"
    top.write_text(top.read_text(encoding="utf-8") + '\n[[file]]\npath = "x.csv"\nreader = "insee_wide_csv"\n',
                   encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"\[\[file\]\] interdit ici.*<AAAA>/sources.toml"):
        load_manifest(raw)
    shutil.copy(DEMO_RAW / "sources.toml", top)
    (raw / "2018" / "sources.toml").write_text('[[targets]]\npath = "t.csv"\nreader = "cibles"\n', encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"data/raw/2018/sources.toml.*\[\[targets\]\] interdit ici"):
        load_manifest(raw)


def test_raw_file_table_gives_size_checksum_reader_and_role(raw):
    table = raw_file_table(raw, load_manifest(raw)).set_index("path")
    row = table.loc["data/raw/2017/cnaf/cnaf2017_allocataires_qpv_niort.csv"]
    content = (raw / "2017" / "cnaf" / "cnaf2017_allocataires_qpv_niort.csv").read_bytes()
    assert row.size_bytes == len(content) and row.sha256 == hashlib.sha256(content).hexdigest()
    assert (row.reader, row.source, row.vintage, row.role) == ("caf_wide_csv", "cnaf", 2017, "file")
    assert table.loc["data/raw/referentiels/qpv_2015_anct_niort.csv", "role"] == "referential"
    assert table.loc["data/raw/2013/sources.toml", "role"] == "manifest"
    assert (table["role"] == "targets").sum() == 3 and (table["role"] == "file").sum() == 9


def test_fingerprint_follows_the_millesime_s_own_inputs(raw, tmp_path):
    def fingerprints(catalogue=CATALOGUE):
        return {v: vintage_fingerprint(raw, catalogue, EXPECTATIONS, v) for v in discover_vintages(raw)}

    before = fingerprints()
    assert before == {v: vintage_fingerprint(DEMO_RAW, CATALOGUE, EXPECTATIONS, v) for v in before}  # paths relative
    cnaf = raw / "2017" / "cnaf" / "cnaf2017_allocataires_qpv_niort.csv"
    cnaf.write_bytes(cnaf.read_bytes().replace(b";55;", b";56;"))
    after = fingerprints()
    assert [v for v in before if before[v] != after[v]] == [2017]
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    with (catalogue / "method_breaks.csv").open("a", encoding="utf-8") as handle:
        handle.write("insee_rp;2017;;exemple\n")
    assert all(fingerprints(catalogue)[v] != after[v] for v in after)  # the catalogue feeds every millésime


def test_fingerprint_reads_only_the_millesime_s_own_catalogue_rows(raw, tmp_path):
    """The yearly refresh adds the new millésime's variable names to the catalogue: the published
    millésimes keep their fingerprint, so only the new one is computed."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)

    def fingerprints():
        return {v: vintage_fingerprint(raw, catalogue, EXPECTATIONS, v) for v in discover_vintages(raw)}

    def append(name: str, line: str) -> None:
        with (catalogue / name).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    before = fingerprints()
    append("source_variables.csv", "insee_rp;2030;P30_PART0014;part_0014")  # a millésime not in data/raw
    assert fingerprints() == before
    append("source_variables.csv", "insee_rp;2017;P17_PART0014;part_0014")
    changed = fingerprints()
    assert [v for v in before if before[v] != changed[v]] == [2017]
    append("zero_not_available.csv", "cnaf;2016;NBALLOC;exemple")
    assert [v for v in before if fingerprints()[v] != changed[v]] == [2016]
    # A per-millésime file that cannot be read counts whole, for every millésime: the catalogue asset says why.
    (catalogue / "source_variables.csv").write_text("source,vintage\n", encoding="utf-8")
    assert all(fingerprints()[v] != before[v] for v in before)


def test_cli_refuses_an_unknown_millesime_before_any_run(tmp_path):
    done = subprocess.run([sys.executable, "-m", "qpv_observatory.cli", "run", "--vintage", "1999",
                           "--curated-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
                          env={"DAGSTER_HOME": str(tmp_path / "dagster"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "millésime(s) 1999 absent(s) de data/raw" in done.stderr and "2013, 2015, 2016, 2017, 2018" in done.stderr
    assert not (tmp_path / "out" / "observatoire_qpv.duckdb").exists()


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "[other]\nkey = 1\n"])
def test_a_millesime_manifest_without_file_blocks_is_refused(raw, text):
    # An empty manifest would publish the millésime with none of its rows.
    (raw / "2015" / "sources.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"data/raw/2015/sources.toml : aucun bloc \[\[file\]\] : le millésime "
                                              r"2015 ne déclare aucun fichier ; pour retirer ce millésime, supprimer "
                                              r"le dossier data/raw/2015"):
        load_manifest(raw, [2015])


def test_a_millesime_without_rows_is_refused():
    with pytest.raises(SourceFileError, match="data/raw/2015/sources.toml : le millésime 2015 ne donne aucune ligne"):
        refuse_empty_millesime(empty_observations(), 2015)


@pytest.mark.parametrize("path, message", [
    ("../../../../etc/passwd", "chemin '../../../../etc/passwd' refusé : un chemin relatif au dossier data/raw/2016, sans « .. »"),
    ("/etc/passwd", "chemin '/etc/passwd' refusé"),
    ("cnaf/../../2017/cnaf/cnaf2017_allocataires_qpv_niort.csv",
     "chemin 'cnaf/../../2017/cnaf/cnaf2017_allocataires_qpv_niort.csv' refusé")])
def test_a_manifest_path_leaving_the_raw_folder_is_refused(raw, path, message):
    manifest = raw / "2016" / "sources.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        'path = "cnaf/cnaf2016_allocataires_qpv_niort.csv"', f'path = "{path}"'), encoding="utf-8")
    with pytest.raises(SourceFileError, match=f"data/raw/2016/sources.toml : bloc \\[\\[file\\]\\] n°1 : {re.escape(message)}"):
        load_manifest(raw, [2016])


def test_a_link_leading_out_of_the_raw_folder_is_refused_without_reading_it(raw, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("CONTENU PRIVÉ;ligne 1\n", encoding="utf-8")
    target = raw / "2016" / "cnaf" / "cnaf2016_allocataires_qpv_niort.csv"
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(SourceFileError, match="data/raw/2016/cnaf/cnaf2016_allocataires_qpv_niort.csv est un lien qui "
                                              "mène hors de data/raw") as caught:
        load_manifest(raw, [2016])
    assert "PRIVÉ" not in str(caught.value)
    # The shared manifest too: an absolute referential path.
    shared = raw / "sources.toml"
    shared.write_text(shared.read_text(encoding="utf-8").replace(
        'path = "referentiels/qpv_2015_anct_niort.csv"', f'path = "{outside}"'), encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"data/raw/sources.toml : bloc \[\[referential\]\] n°1 : chemin"):
        load_manifest(raw, [])


def test_a_bad_manifest_blocks_its_millesime_only(raw, tmp_path):
    from pipelines.refresh import UNREADABLE_FINGERPRINT, plan_refresh
    from pipelines.resources import ObservatoryPaths

    (raw / "2015" / "sources.toml").write_text("", encoding="utf-8")
    paths = ObservatoryPaths(raw_dir=str(raw), curated_dir=str(tmp_path / "curated"))
    # The other millésimes are planned (and refreshed on demand) as usual.
    assert plan_refresh(paths, vintages=[2018]).to_refresh == [2018]
    # Without --vintage, the bad one is refreshed: its run stops on the manifest's error, on the validation page.
    plan = plan_refresh(paths)
    assert 2015 in plan.to_refresh
    assert plan.fingerprints[2015].startswith(UNREADABLE_FINGERPRINT) and "aucun bloc [[file]]" in plan.fingerprints[2015]
