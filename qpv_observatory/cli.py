"""Command line: ``qpv-observatory run`` refreshes the millésimes and prints where the outputs are."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import warnings
from pathlib import Path
from typing import NoReturn

# The project's folder, as pipelines.resources has it (not imported here: it loads Dagster).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


# Dagster logs every step, and a failed step's traces, on the console: an analyst reads the outcome in
# French there; the whole of it goes to the run log, named when a run fails.
RUN_LOG = Path("journal") / "derniere_mise_a_jour.log"  # under the curated folder


def quiet_run_config(log_path: Path) -> dict:
    return {"loggers": {"console": {"config": {"log_level": "CRITICAL"}},
                        "journal": {"config": {"path": str(log_path)}}}}


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
    # Partitioned asset checks are a Dagster "preview" feature: say so once in docs/architecture.md, not on every run.
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

    log = curated / RUN_LOG

    def unchanged() -> None:
        print(f"Les sorties publiées dans {curated} n'ont pas été modifiées.", file=sys.stderr)
        print(f"Rapport de validation : {report}", file=sys.stderr)
        if log.is_file():
            print(f"Journal détaillé (traces) : {log}", file=sys.stderr)

    with dg.DagsterInstance.get() as instance:
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("", encoding="utf-8")  # one run's log: the last refresh's
            outcome = refresh(paths, instance, vintages=args.vintage, all_vintages=args.all_vintages,
                              without_pictures=args.without_pictures, run_config=quiet_run_config(log))
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
    print("Modèles écrits (colonnes décrites dans docs/architecture.md, section « Cibles du contrat ») :")
    for path in written:
        print(f"  {path}")
    return 0


class FrenchArgumentParser(argparse.ArgumentParser):
    """argparse's refusals in French, with the usage of the (sub-)command concerned."""

    def error(self, message: str) -> NoReturn:
        for english, french in ARGPARSE_MESSAGES_FR:
            message = re.sub(english, french, message)
        usage = self.format_usage().removeprefix("usage: ").strip()
        self.exit(2, f"utilisation : {usage}\n{self.prog} : erreur : {message}\n")


ARGPARSE_MESSAGES_FR = (
    (r"^unrecognized arguments: ", "option(s) inconnue(s) : "),
    (r"^the following arguments are required: ", "argument(s) obligatoire(s) manquant(s) : "),
    (r"^argument (\S+): invalid choice: (.*) \(choose from (.*)\)$", r"argument \1 : choix \2 invalide (au choix : \3)"),
    (r"^argument (\S+): expected one argument$", r"l'option \1 attend une valeur"),
    (r"^argument (\S+): ", r"option \1 : "),
)


def unknown_options_message(extras: list[str], parser: argparse.ArgumentParser) -> str:
    """« option(s) inconnue(s) : --vintge (vouliez-vous dire --vintage ?) »."""
    known = sorted(set(re.findall(r"--[a-z][a-z-]*", parser.format_help())))
    parts = []
    for extra in extras:
        close = difflib.get_close_matches(extra.split("=", 1)[0], known, n=1) if extra.startswith("-") else []
        parts.append(f"{extra} (vouliez-vous dire {close[0]} ?)" if close else extra)
    return "option(s) inconnue(s) : " + " ".join(parts)


def check_folders(args: argparse.Namespace) -> str | None:
    """Before anything heavy is imported: the folders and millésimes asked for exist. The message names
    the path as given; None when all is well."""
    from qpv_observatory.manifest import MANIFEST_NAME, discover_vintages

    raw = Path(args.raw_dir) if args.raw_dir else PROJECT_ROOT / "data" / "raw"
    shown = args.raw_dir or "data/raw"
    if not raw.is_dir():
        return f"dossier des fichiers bruts {shown} introuvable (--raw-dir)"
    if not (raw / MANIFEST_NAME).is_file():
        return f"{shown} n'a pas de {MANIFEST_NAME} : est-ce le dossier des fichiers bruts ?"
    present = discover_vintages(raw)
    if not present:
        return f"aucun millésime dans {shown} : un sous-dossier <AAAA>/ avec son {MANIFEST_NAME} est attendu"
    missing = sorted(set(args.vintage or ()) - set(present))
    if missing:
        return (f"millésime(s) {', '.join(map(str, missing))} absent(s) de {shown} "
                f"(millésimes présents : {', '.join(map(str, present))})")
    if args.catalogue_dir and not Path(args.catalogue_dir).is_dir():
        return f"dossier du catalogue {args.catalogue_dir} introuvable (--catalogue-dir)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = FrenchArgumentParser(prog="qpv-observatory", description="Observatoire des QPV.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=FrenchArgumentParser)
    run = commands.add_parser("run", help="rafraîchit les millésimes nouveaux ou modifiés de data/raw/, "
                                          "publie data/curated/")
    run.add_argument("--raw-dir", help="dossier des fichiers bruts et de sources.toml (par défaut data/raw/)")
    run.add_argument("--catalogue-dir", help="dossier du catalogue des indicateurs (par défaut data/catalogue/)")
    run.add_argument("--curated-dir", help="dossier de publication (par défaut data/curated/)")
    run.add_argument("--millesime", "--vintage", dest="vintage", type=_vintage, action="append", metavar="AAAA",
                     help="rafraîchir ce millésime (option répétable) ; par défaut : les millésimes nouveaux "
                          "ou dont les fichiers ont changé")
    run.add_argument("--tous-les-millesimes", "--all-vintages", dest="all_vintages", action="store_true",
                     help="rafraîchir tous les millésimes")
    run.add_argument("--without-pictures", action="store_true",
                     help="ne pas produire les graphiques, cartes et le rapport d'évaluation")
    run.set_defaults(func=_run)
    template = commands.add_parser("targets-template",
                                   help="écrit les modèles vides des contrats, cibles et remontées partenaires")
    template.add_argument("folder", help="dossier où écrire contrats, cibles et remontees_partenaires")
    template.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                          help="csv (séparateur ;) ou xlsx avec une feuille « notice » (par défaut csv)")
    template.set_defaults(func=_targets_template)
    args, extras = parser.parse_known_args(argv)
    if extras:  # refused by the sub-command itself: its usage, and the option it probably meant
        chosen = {"run": run, "targets-template": template}[args.command]
        chosen.error(unknown_options_message(extras, chosen))
    if args.command == "run" and (problem := check_folders(args)) is not None:
        print(f"Échec : {problem}", file=sys.stderr)
        return 1
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
