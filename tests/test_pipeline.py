"""The whole pipeline: Dagster definitions, reproducibility, safety of published outputs, CLI."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.definitions import OBSERVATORY_JOB, defs
from pipelines.resources import PROJECT_ROOT
from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.errors import SourceFileError, system_error_from_message
from qpv_observatory.ingest import read_millesime_observations
from qpv_observatory.manifest import load_manifest
from qpv_observatory.release import remove_abandoned_staging, staging_dir
from qpv_observatory.warehouse import DATABASE_NAME, TABLE_DOCS, write_tables
from tests.conftest import DEMO_RAW, digest_tree, run_on_corrupted_copy, run_pipeline


def test_definitions_load_with_every_asset_in_the_job():
    job = defs.resolve_job_def(OBSERVATORY_JOB)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"observations", "gaps", "gap_portrait", "curated_warehouse", "indicator_charts"} <= keys


def test_a_source_added_to_the_catalogue_is_read_and_an_unknown_one_refused(tmp_path):
    # Sources are data: no list in code to keep in step with data/catalogue/sources.csv.
    catalogue_dir = tmp_path / "catalogue"
    shutil.copytree(PROJECT_ROOT / "data" / "catalogue", catalogue_dir)
    with (catalogue_dir / "sources.csv").open("a", encoding="utf-8") as out:
        out.write("observatoire_local;Ville de Niort;Observatoire local\n")
    with (catalogue_dir / "source_variables.csv").open("a", encoding="utf-8") as out:
        out.write("observatoire_local;2016;PART_FAM_MONO;part_familles_monoparentales_caf\n")
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, raw)
    manifest = raw / "2016" / "sources.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('source = "cnaf"', 'source = "observatoire_local"'),
                        encoding="utf-8")
    catalogue = load_catalogue(catalogue_dir)
    observations = read_millesime_observations(raw, load_manifest(raw, [2016]), catalogue)
    assert set(observations["source"]) == {"observatoire_local"} and len(observations) > 0
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"observatoire_local"', '"observatoire_locale"'),
                        encoding="utf-8")
    with pytest.raises(SourceFileError, match="source 'observatoire_locale' absente de data/catalogue/sources.csv"):
        read_millesime_observations(raw, load_manifest(raw, [2016]), catalogue)


def test_catalogue_describes_every_published_table(warehouse):
    tables = {name for (name,) in warehouse.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == set(TABLE_DOCS)
    undocumented = warehouse.execute("SELECT count(*) FROM duckdb_tables() WHERE comment IS NULL OR comment = ''")
    assert undocumented.fetchone()[0] == 0


def test_every_observation_points_back_to_its_raw_line(warehouse):
    rows = warehouse.execute("SELECT source_file, source_row, territory_code, territory_level, value "
                             "FROM observations").fetchall()
    # 78 published cells of the Niort tables + Niort population 2013; 93 cells of INSEE's Démographie tables
    # 2019 and 2020 for the three QPV and all QPV of France, and Niort's population taken from them.
    assert len(rows) == 172
    for source_file, source_row, code, level, value in rows:
        line = (PROJECT_ROOT / source_file).read_bytes().splitlines()[source_row - 1]
        if level == "qpv_france":  # INSEE's first row, all QPV of France
            assert line.startswith(b"Ensemble;")
        elif code.encode() not in line:  # the commune's population, read on the row of one of its QPV (POP_COM)
            assert level == "commune" and line.startswith(b"QP079") and f";{value:.0f};".encode() in line


def test_two_runs_write_identical_tables(demo_curated, tmp_path):
    assert run_pipeline(tmp_path).success
    first, second = digest_tree(demo_curated / "parquet"), digest_tree(tmp_path / "parquet")
    # A file per table, or a folder per table kept per millésime (millesime=<AAAA>/part-0.parquet).
    assert len({name.split("/")[0] for name in first}) == len(TABLE_DOCS)
    # The millésimes table names the run that promoted each millésime: only its fingerprints must agree.
    promoted = [pd.read_parquet(folder / "parquet" / "millesimes.parquet") for folder in (demo_curated, tmp_path)]
    assert promoted[0]["fingerprint"].tolist() == promoted[1]["fingerprint"].tolist()
    assert (promoted[0]["promotion"] != promoted[1]["promotion"]).all()
    first.pop("millesimes.parquet"), second.pop("millesimes.parquet")
    # The series' files name in their footers the promotions they were computed from (content ids).
    for year_file in sorted(name for name in first if name.startswith("gap_series/")):
        series = [pd.read_parquet(folder / "parquet" / year_file) for folder in (demo_curated, tmp_path)]
        pd.testing.assert_frame_equal(series[0], series[1])
        first.pop(year_file), second.pop(year_file)
    assert first == second
    assert digest_tree(demo_curated / "charts") == digest_tree(tmp_path / "charts")


def test_bad_raw_file_fails_the_run_and_keeps_published_outputs(demo_curated, tmp_path):
    result, unchanged = run_on_corrupted_copy(demo_curated, tmp_path, "2015/insee_rp/rp2015_qpv_indicateurs_niort.csv",
                                              b"45,3", b"45;3")
    assert not result.success and unchanged


def test_failed_publication_leaves_previous_files(demo_curated, tmp_path):
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    before = digest_tree(curated)
    unserialisable = pd.DataFrame({"x": [object()]})
    with pytest.raises(Exception):
        write_tables({"observations": pd.read_parquet(curated / "parquet" / "observations"),
                      "gaps": unserialisable}, staging_dir(curated, "failed-run"))
    assert digest_tree(curated) == before  # written aside, never switched in
    assert [p.name for p in remove_abandoned_staging(curated)] == [".staging-failed-run"]


def test_cli_runs_the_demo_and_prints_where_outputs_are(tmp_path):
    done = subprocess.run([sys.executable, "-m", "qpv_observatory.cli", "run", "--curated-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
                          env={"DAGSTER_HOME": str(tmp_path / "dagster"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / DATABASE_NAME) in done.stdout
    # offline: the Dagster instance it creates sends no usage statistics
    settings = (tmp_path / "dagster" / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in settings
    assert "class: PooledSqliteEventLogStorage" in settings  # the run history through connections kept open
    assert "Telemetry" not in done.stdout
    # The README shows what a first run prints: the same lines, in the same order (paths and ids aside).
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("`make demo` affiche :\n\n```\n", 1)[1].split("```", 1)[0].splitlines()
    printed = done.stdout.splitlines()
    assert [line.split(" : ")[0] for line in sample] == [line.split(" : ")[0] for line in printed]
    assert sample[:3] == printed[:3]  # outcome and millésimes, word for word
    # One chart per indicator, year and source of the gap portrait.
    portrait = pd.read_parquet(tmp_path / "parquet" / "gap_portrait", columns=["indicator_id", "year", "source"])
    charts = {p.stem for p in (tmp_path / "charts").glob("*.png")}
    assert (tmp_path / DATABASE_NAME).is_file() and len(charts) == len(portrait.drop_duplicates()) > 16


def test_cli_reports_bad_input_with_file_and_line(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, raw)
    rp = raw / "2015" / "insee_rp" / "rp2015_qpv_indicateurs_niort.csv"
    rp.write_bytes(rp.read_bytes().replace(b"16,6", b"seize"))
    done = subprocess.run([sys.executable, "-m", "qpv_observatory.cli", "run", "--raw-dir", str(raw),
                           "--curated-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
                          env={"DAGSTER_HOME": str(tmp_path / "dagster"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "data/raw/2015/insee_rp/rp2015_qpv_indicateurs_niort.csv, ligne 5, colonne P15_TXCHOM1564" in done.stderr
    assert not (tmp_path / "out" / DATABASE_NAME).exists()
    # The console says it in French, in a few lines; Dagster's traces go to the run log it names.
    log = tmp_path / "out" / "journal" / "derniere_mise_a_jour.log"
    assert "Stack Trace" not in done.stderr and len(done.stderr.splitlines()) <= 5
    assert f"Journal détaillé (traces) : {log}" in done.stderr and "STEP_FAILURE" in log.read_text(encoding="utf-8")


def test_cli_names_a_system_error_in_french(tmp_path):
    # A file where the publication folder should be: the refresh stops before any step, with one French line.
    (tmp_path / "un_fichier").write_text("", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "qpv_observatory.cli", "run", "--curated-dir",
                           str(tmp_path / "un_fichier" / "curated")],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
                          env={"DAGSTER_HOME": str(tmp_path / "dagster"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(f"Échec : erreur système : un fichier se trouve là où un dossier "
                                                  f"est attendu ({tmp_path / 'un_fichier' / 'curated'}")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("message, french", [
    ("OSError: [Errno 28] No space left on device: '/srv/curated/validation/x.json'",
     "erreur système : disque plein (/srv/curated/validation/x.json)"),
    ("PermissionError: [Errno 13] Permission denied: '/srv/curated'",
     "erreur système : droits insuffisants (dossier en lecture seule ?) (/srv/curated)"),
    ("OSError: [Errno 30] Read-only file system", "erreur système : système de fichiers en lecture seule"),
    ('duckdb.IOException: IO Error: Could not write file "/srv/curated/x.duckdb": No space left on device',
     "erreur système : disque plein (/srv/curated/x.duckdb)"),
    ("ValueError: something else", None)])
def test_a_step_s_system_error_is_told_in_french(message, french):
    assert system_error_from_message(message) == french


def test_the_command_line_loads_no_plotting_library_before_pictures_are_drawn():
    """matplotlib and geopandas are loaded by the picture assets only: `run --without-pictures` never needs them."""
    script = ("import sys\n"
              "import qpv_observatory.cli, pipelines.refresh, pipelines.definitions\n"
              "print(sorted(m for m in ('matplotlib', 'geopandas') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_failed_refresh_lists_its_blocking_checks_not_its_warnings():
    import dagster as dg

    from pipelines.refresh import RefreshOutcome, RefreshPlan, RunSummary

    def evaluation(name, passed, severity):
        return dg.AssetCheckEvaluation(dg.AssetKey("observations"), name, passed, severity=severity,
                                       description=f"suite {name}")

    run = RunSummary(False, (), (evaluation("observations_suite", False, dg.AssetCheckSeverity.WARN),
                                 evaluation("gaps_suite", False, dg.AssetCheckSeverity.ERROR),
                                 evaluation("source_suites", True, dg.AssetCheckSeverity.WARN)))
    outcome = RefreshOutcome(RefreshPlan([2015], [2015], {}), [run])
    assert outcome.failed_checks() == ["suite gaps_suite"]


@pytest.mark.parametrize("argv, expected", [
    (["run", "--vintge", "2018"], ["utilisation : qpv-observatory run ",
                                   "qpv-observatory run : erreur : option(s) inconnue(s) : --vintge (vouliez-vous "
                                   "dire --vintage ?) 2018"]),
    (["run", "--vintage", "99"], ["option --millesime/--vintage : millésime attendu sur quatre chiffres (ex. 2017), "
                                  "pas '99'"]),
    (["targets-template"], ["utilisation : qpv-observatory targets-template ",
                            "argument(s) obligatoire(s) manquant(s) : folder"]),
    (["frobnicate"], ["choix 'frobnicate' invalide (au choix : 'run', 'targets-template')"])])
def test_argument_errors_are_in_french_with_the_sub_command_s_usage(argv, expected, capsys):
    from qpv_observatory.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert all(fragment in error for fragment in expected), error


@pytest.mark.parametrize("argv, expected", [
    (["run", "--raw-dir", "/dossier/absent"], "Échec : dossier des fichiers bruts /dossier/absent introuvable (--raw-dir)"),
    (["run", "--vintage", "1999"], "Échec : millésime(s) 1999 absent(s) de data/raw (millésimes présents : 2013, "),
    (["run", "--catalogue-dir", "/catalogue/absent"], "Échec : dossier du catalogue /catalogue/absent introuvable"),
])
def test_folders_and_millesimes_are_checked_before_the_pipeline_starts(argv, expected, capsys, monkeypatch):
    from qpv_observatory import cli

    monkeypatch.setattr(cli, "_run", lambda args: pytest.fail("the pipeline started"))
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.startswith(expected)


def test_a_folder_without_millesime_is_named_as_given(tmp_path, capsys):
    from qpv_observatory.cli import main

    (tmp_path / "sources.toml").write_text("", encoding="utf-8")
    assert main(["run", "--raw-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"Échec : aucun millésime dans {tmp_path} : un sous-dossier <AAAA>/")
