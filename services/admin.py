"""The administration commands of a pilot: ``python -m services.admin COMMAND --help``.

- ``create-admin``: the first administrator of a Caf (a provisional password by e-mail);
- ``import-workers``: the worker file extracted from the Caf's system (a dry run, then apply);
- ``export-declarations``: the day's hand-over of the declarations to the Caf's system.

They open the store named by ``ESAT_DB``. A DuckDB file serves one process at a time: run them
while the server is stopped (on PostgreSQL, at any time). Everything else is done on screen by
the Caf administrator. Each command says in French what it did and exits 0, or 1 with a French
message (2 for wrong arguments); no traceback, no personal data printed beyond the address typed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from data import cgu
from data.store import Store, Tx, open_or_exit
from services import account_admin, handover, worker_import
from services.config import Settings, load_settings


def ensure_caf(store: Store, code: str, name: str | None) -> bool:
    """Register the Caf (code and name) and publish the CGU when missing; True if the Caf is new."""

    def work(tx: Tx) -> bool:
        cgu.publish_defaults(tx)
        if tx.scalar("SELECT count(*) FROM caf WHERE code = ?", [code]):
            return False
        tx.execute("INSERT INTO caf (code, name) VALUES (?, ?)", [code, name or f"Caf {code}"])
        return True

    return store.write(work)


def create_admin(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    code = args.caf.strip()
    if not (len(code) == 3 and code.isalnum()):
        return fail("Le code de la Caf doit compter 3 caractères (par exemple 441).")
    if ensure_caf(store, code, args.caf_name):
        print(f"Caf {code} enregistrée.")
    try:
        account_id = account_admin.create_first_admin(
            store, settings, caf_code=code, email=args.email, display_name=args.name
        )
    except account_admin.Refused as exc:
        return fail(" ".join(exc.errors.values()))
    except account_admin.MailNotSent as exc:
        return fail(f"{exc} (compte n° {exc.account_id} ; vérifiez ESAT_SMTP_HOST ou ESAT_OUTBOX)")
    where = f"le serveur SMTP {settings.smtp_host}" if settings.smtp_host else f"le dossier {settings.outbox}"
    print(
        f"Administrateur créé (compte n° {account_id}) pour la Caf {code}. Son mot de passe provisoire "
        f"a été envoyé par courriel à {args.email.strip().lower()} ({where}) ; il devra le changer à sa "
        "première connexion."
    )
    return 0


def import_workers(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        return fail(f"Fichier introuvable : {path}")
    if path.stat().st_size > worker_import.MAX_BYTES:
        return fail("Le fichier dépasse 50 Mo : rien n'a été importé.")
    data = path.read_bytes()
    if args.dry_run:
        report = worker_import.dry_run_for_caf(store, args.caf, data, path.name)
    else:
        report = worker_import.apply_for_caf(store, args.caf, data, path.name, None)
    for problem in report.problems[:200]:
        where = ", ".join(
            part
            for part in (
                f"ligne {problem.line}" if problem.line else "",
                f"colonne {problem.column}" if problem.column else "",
            )
            if part
        )
        print(f"{where or 'fichier'} : {problem.message}")
    if len(report.problems) > 200:
        print(f"… et {len(report.problems) - 200} autres anomalies.")
    print(
        f"{report.rows} lignes lues : {report.new} nouveaux, {report.changed} modifiés, "
        f"{report.unchanged} inchangés, {report.absent} absents du fichier."
    )
    if report.problems:
        print("Aucun travailleur n'a été importé : corrigez le fichier puis recommencez.")
        return 1
    print("Import appliqué." if report.applied else "Simulation : rien n'a été enregistré.")
    return 0


def export_declarations(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        return fail(f"Date invalide : {args.day} (attendu AAAA-MM-JJ).")
    try:
        batch = handover.export_day_for_caf(store, settings, args.caf, day, None)
    except ValueError as exc:  # a day in the future, an unknown Caf: said in French
        return fail(str(exc))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in zip(handover.file_names(batch), (batch.csv, batch.jsonl), strict=True):
        (out / name).write_bytes(content)
        print(out / name)
    print(f"Lot n° {batch.id} du {day:%d/%m/%Y} : {batch.declarations} déclarations.")
    return 0


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m services.admin", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    one = commands.add_parser("create-admin", help="crée le premier administrateur d'une Caf")
    one.add_argument("--caf", required=True, help="code de la Caf (3 caractères, par exemple 441)")
    one.add_argument("--email", required=True, help="adresse e-mail : l'identifiant de connexion")
    one.add_argument("--name", default="Administrateur de la Caf", help="nom affiché")
    one.add_argument("--caf-name", help="nom de la Caf, si elle n'est pas encore enregistrée")
    one.set_defaults(run=create_admin)
    two = commands.add_parser(
        "import-workers", help="importe le fichier des travailleurs (docs/worker-file.md)"
    )
    two.add_argument("file", help="fichier CSV ou XLSX extrait du système de la Caf")
    two.add_argument("--caf", required=True, help="code de la Caf dont le fichier est extrait")
    two.add_argument("--dry-run", action="store_true", help="contrôle le fichier sans rien enregistrer")
    two.set_defaults(run=import_workers)
    three = commands.add_parser("export-declarations", help="remise du jour au système de la Caf")
    three.add_argument("--day", required=True, help="jour, AAAA-MM-JJ")
    three.add_argument("--caf", required=True, help="code de la Caf")
    three.add_argument("--out", default=".", help="dossier où écrire les fichiers CSV et JSON Lines")
    three.set_defaults(run=export_declarations)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings()
    store = open_or_exit(settings.db)
    try:
        return args.run(store, settings, args)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
