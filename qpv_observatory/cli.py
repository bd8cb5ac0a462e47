"""Command line: ``qpv-observatory run`` refreshes the millésimes and prints where the outputs are."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path


# Dagster logs every step at DEBUG on the console; an analyst wants the warnings and the outcome.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _run(args: argparse.Namespace) -> int:
    from pipelines.history import write_instance_settings
    from pipelines.resources import CATALOGUE_DIR_ENV, CURATED_DIR_ENV, PROJECT_ROOT, RAW_DIR_ENV

    # A persistent Dagster instance, so the runs and their materialisations show in `make ui`.
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home"))
    dagster_home = Path(os.environ["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    write_instance_settings(dagster_home)  # offline, and a faster run history (pipelines/history.py)
    for value, variable in ((args.raw_dir, RAW_DIR_ENV), (args.catalogue_dir, CATALOGUE_DIR_ENV),
                            (args.curated_dir, CURATED_DIR_ENV)):
        if value:
            os.environ[variable] = str(Path(value).resolve())
    # Partitioned asset checks are a Dagster "preview" feature: say so once in the README, not on every run.
    warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")

    import dagster as dg

    from pipelines.refresh import refresh
    from pipelines.resources import default_paths
    from qpv_observatory.errors import SourceFileError, system_error_fr
    from qpv_observatory.release import RefreshInProgress, current_release
    from qpv_observatory.warehouse import DATABASE_NAME, PARQUET_DIR

    paths = default_paths()
    curated = paths.curated
    report = paths.validation_report / "index.html"

    def unchanged() -> None:
        print(f"Les sorties publiées dans {curated} n'ont pas été modifiées.", file=sys.stderr)
        print(f"Rapport de validation : {report}", file=sys.stderr)

    with dg.DagsterInstance.get() as instance:
        try:
            outcome = refresh(paths, instance, vintages=args.vintage, all_vintages=args.all_vintages,
                              without_pictures=args.without_pictures, run_config=QUIET_RUN_CONFIG)
        except SourceFileError as exc:
            print(f"Échec : {exc}", file=sys.stderr)
            unchanged()
            return 1
        except RefreshInProgress as exc:
            print(f"Échec : {exc} ; les sorties publiées restent consultables.", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"Échec : {system_error_fr(exc.errno, exc.filename, exc.strerror or '')}", file=sys.stderr)
            unchanged()
            return 1
    if not outcome.success:
        where = f" (millésime {outcome.failed_vintage})" if outcome.failed_vintage else ""
        errors, checks = outcome.input_errors(), outcome.failed_checks()
        if errors:
            print(*(f"Échec{where} : {message}" for message in errors), sep="\n", file=sys.stderr)
        elif checks:
            print(f"Échec de la validation{where} :", *checks, sep="\n", file=sys.stderr)
        else:
            print(f"Échec{where} : une étape a échoué, voir l'historique Dagster (make ui).", file=sys.stderr)
        unchanged()
        return 1
    refreshed = ", ".join(map(str, outcome.refreshed)) or "aucun (entrées inchangées)"
    published = ", ".join(map(str, paths.published_vintages()))
    print("Observatoire QPV : toutes les étapes ont été matérialisées.")
    print(f"  Millésimes rafraîchis : {refreshed}")
    print(f"  Millésimes publiés : {published}")
    print(f"  Entrepôt DuckDB    : {curated / DATABASE_NAME}")
    print(f"  Fichiers Parquet   : {curated / PARQUET_DIR}/")
    print(f"  Version publiée    : {current_release(curated)}")
    if not args.without_pictures:
        print(f"  Graphiques (PNG)   : {curated / 'charts'}/")
        print(f"  Rapport (HTML)     : {curated / 'report' / 'index.html'}")
    print(f"  Rapport de validation : {report}")
    print(f"  Historique Dagster : {os.environ['DAGSTER_HOME']} (interface : make ui)")
    return 0


def _vintage(text: str) -> int:
    if not (len(text) == 4 and text.isdigit()):
        raise argparse.ArgumentTypeError(f"millésime attendu sur quatre chiffres (ex. 2017), pas {text!r}")
    return int(text)


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
    run = commands.add_parser("run", help="rafraîchit les millésimes nouveaux ou modifiés de data/raw/, "
                                          "publie data/curated/")
    run.add_argument("--raw-dir", help="dossier des fichiers bruts et de sources.toml (par défaut data/raw/)")
    run.add_argument("--catalogue-dir", help="dossier du catalogue des indicateurs (par défaut data/catalogue/)")
    run.add_argument("--curated-dir", help="dossier de publication (par défaut data/curated/)")
    run.add_argument("--vintage", type=_vintage, action="append", metavar="AAAA",
                     help="rafraîchir ce millésime (option répétable) ; par défaut : les millésimes nouveaux "
                          "ou dont les fichiers ont changé")
    run.add_argument("--all-vintages", action="store_true", help="rafraîchir tous les millésimes")
    run.add_argument("--without-pictures", action="store_true",
                     help="ne pas produire les graphiques, cartes et le rapport d'évaluation")
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
