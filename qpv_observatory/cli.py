"""Command line: ``qpv-observatory run`` materialises every asset and prints where the outputs are."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


# Dagster logs every step at DEBUG on the console; an analyst wants the warnings and the outcome.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _run(args: argparse.Namespace) -> int:
    from pipelines.resources import CURATED_DIR_ENV, PROJECT_ROOT, RAW_DIR_ENV

    # A persistent Dagster instance, so the run and its materialisations show in `make ui`.
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home"))
    dagster_home = Path(os.environ["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").touch()  # default instance settings, stated explicitly
    if args.raw_dir:
        os.environ[RAW_DIR_ENV] = str(Path(args.raw_dir).resolve())
    if args.curated_dir:
        os.environ[CURATED_DIR_ENV] = str(Path(args.curated_dir).resolve())

    from pipelines.resources import default_paths
    from qpv_observatory.release import RefreshInProgress, refresh_lock, remove_abandoned_staging

    curated = default_paths().curated
    report = default_paths().validation_report / "index.html"
    try:
        with refresh_lock(curated):
            remove_abandoned_staging(curated)  # left by a refresh that was killed or failed
            return _refresh(curated, report)
    except RefreshInProgress as exc:
        print(f"Échec : {exc} ; les sorties publiées restent consultables.", file=sys.stderr)
        return 1


def _refresh(curated: Path, report: Path) -> int:
    import dagster as dg

    from pipelines.definitions import OBSERVATORY_JOB, defs
    from qpv_observatory.errors import SourceFileError
    from qpv_observatory.release import current_release
    from qpv_observatory.warehouse import DATABASE_NAME, PARQUET_DIR

    with dg.DagsterInstance.get() as instance:
        try:
            result = defs.resolve_job_def(OBSERVATORY_JOB).execute_in_process(
                run_config=QUIET_RUN_CONFIG, instance=instance, raise_on_error=True)
        except SourceFileError as exc:
            print(f"Échec : {exc}", file=sys.stderr)
            print(f"Les sorties publiées dans {curated} n'ont pas été modifiées.", file=sys.stderr)
            print(f"Rapport de validation : {report}", file=sys.stderr)
            return 1
        except Exception as exc:  # a blocking validation rule failed: its findings are in the checks
            failed = [e for e in instance.get_records_for_run(instance.get_run_records(limit=1)[0].dagster_run.run_id).records
                      if e.event_log_entry.dagster_event and e.event_log_entry.dagster_event.event_type_value
                      == "ASSET_CHECK_EVALUATION"]
            descriptions = [r.event_log_entry.dagster_event.event_specific_data.description for r in failed
                            if not r.event_log_entry.dagster_event.event_specific_data.passed]
            if not descriptions:
                raise
            print("Échec de la validation :", *descriptions, sep="\n", file=sys.stderr)
            print(f"Les sorties publiées dans {curated} n'ont pas été modifiées ({type(exc).__name__}).", file=sys.stderr)
            print(f"Rapport de validation : {report}", file=sys.stderr)
            return 1
    if not result.success:
        return 1
    print("Observatoire QPV : toutes les étapes ont été matérialisées.")
    print(f"  Entrepôt DuckDB    : {curated / DATABASE_NAME}")
    print(f"  Fichiers Parquet   : {curated / PARQUET_DIR}/")
    print(f"  Graphiques (PNG)   : {curated / 'charts'}/")
    print(f"  Version publiée    : {current_release(curated)}")
    print(f"  Rapport (HTML)     : {curated / 'report' / 'index.html'}")
    print(f"  Rapport de validation : {report}")
    print(f"  Historique Dagster : {os.environ['DAGSTER_HOME']} (interface : make ui)")
    return 0


def _targets_template(args: argparse.Namespace) -> int:
    from qpv_observatory.target_templates import write_templates

    try:
        written = write_templates(Path(args.folder), args.format)
    except FileExistsError as exc:
        print(f"Échec : {exc}", file=sys.stderr)
        return 1
    print("Modèles écrits (colonnes décrites dans le README, section « Cibles du contrat ») :")
    for path in written:
        print(f"  {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qpv-observatory", description="Observatoire des QPV.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="lit data/raw/, calcule les écarts, publie data/curated/")
    run.add_argument("--raw-dir", help="dossier des fichiers bruts et de sources.toml (par défaut data/raw/)")
    run.add_argument("--curated-dir", help="dossier de publication (par défaut data/curated/)")
    run.set_defaults(func=_run)
    template = commands.add_parser("targets-template",
                                   help="écrit les modèles vides des contrats, cibles et remontées partenaires")
    template.add_argument("folder", help="dossier où écrire contrats, cibles et remontees_partenaires")
    template.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                          help="csv (séparateur ;) ou xlsx avec une feuille « notice » (par défaut csv)")
    template.set_defaults(func=_targets_template)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
