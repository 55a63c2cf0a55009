"""Reminders before the 15 January deadline of the certificat campaign (issue 13, point 4).

From each milestone of January N+1 (the dated parameter ``relances_certificat_jours`` of
``rules/parametres.yaml``, in force on 1 December N: by default the 5th and the 12th), every ESAT
that still has workers expected without a certificat of campaign N gets one e-mail per milestone:
one message to each of its active manager accounts, with the count of those workers per Caf, the
deadline and the link to the service. No worker's name is written in it.

- :func:`due` says which milestone is reached on a day: the latest one on or before it, up to the
  deadline (15 January N+1) included. After the deadline nothing is due: a certificat filed from
  16 January to the end of February is accepted but late, and the agent follows up the workers
  still without one from the campaign page (there is no reminder of a reminder).
- :func:`run` sends what is due. Once per (campaign, milestone, ESAT), even when several runs meet
  (two replicas, the scheduled job and an agent's button): a run first claims the ESAT's row of
  ``reminder`` in a transaction of its own (an INSERT that finds the key taken sends nothing), with
  its audit row, then sends. When no message could be sent (SMTP server down), the claim is
  released (the row deleted, a ``reminder_failed`` audit row) and a later run sends it; when some
  were, the claim stays and ``recipients`` says how many. A crash between claim and sending loses
  that reminder (at most once, like ``declarations.deliver``).
- :func:`sent` lists, for a Caf agent, the reminders that concerned the agent's Caf.

Who is expected comes from ``backoffice.missing_certificats`` (``backoffice.expected``: the one
rule of the campaign figures).

Schedule ``python -m services.reminders`` once a day, e.g. at 08:00 (Europe/Paris), with the
service's ``ESAT_*`` variables (``ESAT_DB``, ``ESAT_SMTP_HOST``/``ESAT_SMTP_PORT``,
``ESAT_BASE_URL``)::

    # crontab of the service's user
    0 8 * * *  cd /srv/espace-esat && .venv/bin/python -m services.reminders

    # or a systemd timer: OnCalendar=*-*-* 08:00:00 Europe/Paris, Persistent=true, and a oneshot
    # service running the same command

Running it every day is what makes it work: a day without a milestone sends nothing, a day
after a missed run catches the latest milestone up. It is safe on every replica (PostgreSQL):
the claims make each reminder leave once. A DuckDB store serves one process at a time: there,
run it while the server is stopped, or let the agent use the button of the campaign page.
``--date AAAA-MM-JJ`` runs it as of another day (``ESAT_TODAY`` is honoured by default). It prints
one line of counts; exit code 0, or 1 when some reminder could not be sent (it is tried again on
the next run) or the store cannot be opened.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

import pandas as pd

from data.store import Store, Tx, open_or_exit
from forms import fmt
from rules import parameters
from services import audit, backoffice, mail
from services.accounts import Account
from services.clock import now_utc, to_paris, today
from services.config import Settings, load_settings

log = logging.getLogger(__name__)

PARAMETER = "relances_certificat_jours"
SENT, ALREADY, FAILED, NO_RECIPIENT = "sent", "already", "failed", "no_recipient"


def milestones(campaign: int) -> list[date]:
    """The reminder days of ``campaign``, in January N+1 (none when no value is in force on
    1 December N, e.g. campaigns before the service's first)."""
    try:
        days = parameters.days_value(PARAMETER, date(campaign, 12, 1))
    except parameters.ParameterError:
        return []
    deadline = backoffice.milestone(campaign)
    return [d for d in (date(campaign + 1, 1, day) for day in days) if d <= deadline]


def due(on: date) -> tuple[int, date] | None:
    """(campaign, milestone) reached on ``on``: the latest milestone on or before ``on``, while
    ``on`` is not after the deadline (15 January N+1); otherwise None."""
    campaign = backoffice.current_campaign(on)
    if on > backoffice.milestone(campaign):
        return None
    reached = [m for m in milestones(campaign) if m <= on]
    return (campaign, reached[-1]) if reached else None


def upcoming(on: date) -> date | None:
    """The next milestone after ``on`` in the campaign in progress (or about to open), if any."""
    campaign = backoffice.current_campaign(on)
    if on > backoffice.milestone(campaign):
        campaign += 1  # January after the deadline, or March to November: the next campaign
    return next((m for m in milestones(campaign) if m > on), None)


@dataclass(frozen=True)
class Result:
    on: date
    campaign: int | None = None  # None: no milestone due on ``on``
    milestone: date | None = None
    sent: int = 0  # ESATs reminded by this run
    emails: int = 0  # messages this run sent (one per active manager)
    already: int = 0  # ESATs already reminded for this milestone (by another run)
    failed: int = 0  # ESATs whose e-mail could not leave: released, the next run tries again
    without_recipient: int = 0  # ESATs with workers to declare but no active manager account

    def summary(self) -> str:
        """One French line of counts (no name, no address)."""
        if self.milestone is None:
            nxt = upcoming(self.on)
            then = f" ; prochaine relance le {fmt.day(nxt)}" if nxt else ""
            return f"Aucune relance de certificat d'emploi à envoyer le {fmt.day(self.on)}{then}."
        assert self.campaign is not None
        return (
            f"Relance du {fmt.day(self.milestone)} (campagne {self.campaign}, échéance du "
            f"{fmt.day(backoffice.milestone(self.campaign))}) : {self.sent} ESAT relancé(s) "
            f"({self.emails} courriel(s)), {self.already} déjà relancé(s), {self.failed} en échec "
            f"(nouvel essai au prochain passage), {self.without_recipient} sans gestionnaire actif."
        )


def _missing_by_esat(store: Store, caf_code: str, campaign: int) -> dict[int, int]:
    """Workers of the Caf expected for the campaign without a certificat, counted by ESAT."""
    missing = backoffice.missing_certificats(store, caf_code, campaign)
    esat_of = {
        r["id"]: r["esat_id"]
        for r in store.all("SELECT id, esat_id FROM worker WHERE caf_code = ?", [caf_code])
    }
    counts = missing["worker_id"].map(esat_of).value_counts()
    return {int(esat_id): int(n) for esat_id, n in counts.items()}


def _missing(store: Store, campaign: int) -> dict[int, dict[str, int]]:
    """ESAT id → {Caf code → workers without a certificat}, for every Caf."""
    out: dict[int, dict[str, int]] = {}
    for caf in [r["caf_code"] for r in store.all("SELECT DISTINCT caf_code FROM worker ORDER BY caf_code")]:
        for esat_id, n in _missing_by_esat(store, caf, campaign).items():
            out.setdefault(esat_id, {})[caf] = n
    return out


def _workers(n: int) -> str:
    return f"{n:,}".replace(",", fmt.NBSP) + (" travailleur" if n == 1 else " travailleurs")


def _message(
    settings: Settings,
    recipient: str,
    campaign: int,
    on: date,
    esat: str,
    by_caf: list[tuple[str, int]],
) -> EmailMessage:
    """The reminder to one manager, as of ``on``; ``by_caf``: (Caf shown, workers without a certificat)."""
    deadline = fmt.day(backoffice.milestone(campaign))
    total = sum(n for _, n in by_caf)
    lines = "\n".join(f"  - {caf} : {_workers(n)}" for caf, n in by_caf)
    body = (
        "Bonjour,\n"
        "\n"
        f"Au {fmt.day(on)}, {_workers(total)} de votre établissement « {mail.one_line(esat)} » "
        f"n'ont pas encore de certificat d'emploi pour la campagne {campaign} (rémunération garantie "
        f"de novembre {campaign}) :\n"
        "\n"
        f"{lines}\n"
        "\n"
        f"La date limite de dépôt est le {deadline}. Un certificat reçu après cette date est en "
        "retard, et le versement de l'AAH de ces travailleurs peut être interrompu.\n"
        "\n"
        f"Déclarez-les dans l'Espace ESAT : {settings.base_url}\n"
        "La liste des travailleurs à déclarer y est affichée pour chaque Caf.\n"
        "\n"
        "Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n"
        "\n"
        "L’Espace ESAT\n"
    )
    subject = f"Certificats d'emploi {campaign} : {_workers(total)} à déclarer avant le {deadline}"
    return mail.build_account_mail(settings=settings, recipient=recipient, subject=subject, body=body)


def _ref(campaign: int, milestone: date, esat_id: int) -> str:
    return f"campaign {campaign} milestone {milestone.isoformat()} esat {esat_id}"


def _remind(
    store: Store,
    settings: Settings,
    campaign: int,
    milestone: date,
    esat_id: int,
    by_caf: dict[str, int],
    actor_id: int | None,
    on: date,
) -> tuple[str, int]:
    """Remind one ESAT once for the milestone: (outcome, e-mails sent)."""
    esat = store.scalar("SELECT legal_name FROM esat WHERE id = ?", [esat_id]) or ""
    names = {r["code"]: r["name"] for r in store.all("SELECT code, name FROM caf")}
    shown = [(f"{names.get(c, 'Caf')} ({c})", n) for c, n in sorted(by_caf.items())]
    messages = []
    for row in store.all(
        "SELECT id, email FROM account WHERE role = 'esat' AND esat_id = ? AND active ORDER BY id", [esat_id]
    ):
        try:
            messages.append(_message(settings, row["email"], campaign, on, esat, shown))
        except ValueError:  # a malformed address: that account gets nothing, the others do
            log.warning("relance : adresse invalide (compte %s)", row["id"])
    if not messages:
        return NO_RECIPIENT, 0
    ref = _ref(campaign, milestone, esat_id)
    at = now_utc(dataclasses.replace(settings, today=on))

    def claim(tx: Tx) -> bool:
        row = tx.one(
            "INSERT INTO reminder (campaign, milestone, esat_id, reminded_at, missing, recipients, triggered_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING esat_id",
            [campaign, milestone, esat_id, at, sum(by_caf.values()), len(messages), actor_id],
        )
        if row is None:
            return False  # another run has it
        tx.executemany(
            "INSERT INTO reminder_caf (campaign, milestone, esat_id, caf_code, missing) VALUES (?, ?, ?, ?, ?)",
            [(campaign, milestone, esat_id, caf, n) for caf, n in sorted(by_caf.items())],
        )
        audit.record(tx, actor_id, "reminder_sent", ref)
        return True

    if not store.write(claim):
        return ALREADY, 0
    delivered = 0
    for msg in messages:
        try:
            mail.deliver(settings, msg)
            delivered += 1
        except OSError as exc:
            log.warning("relance non envoyée (ESAT %s) : %s", esat_id, type(exc).__name__)
    if delivered == 0:
        key = [campaign, milestone, esat_id]

        def release(tx: Tx) -> None:
            where = "WHERE campaign = ? AND milestone = ? AND esat_id = ?"
            tx.execute(f"DELETE FROM reminder_caf {where}", key)  # noqa: S608 - a fixed clause
            tx.execute(f"DELETE FROM reminder {where}", key)  # noqa: S608 - a fixed clause
            audit.record(tx, actor_id, "reminder_failed", ref)

        store.write(release)
        return FAILED, 0
    if delivered < len(messages):
        store.execute(
            "UPDATE reminder SET recipients = ? WHERE campaign = ? AND milestone = ? AND esat_id = ?",
            [delivered, campaign, milestone, esat_id],
        )
    return SENT, delivered


def run(
    store: Store,
    settings: Settings,
    on: date | None = None,
    caf_code: str | None = None,
    actor_id: int | None = None,
) -> Result:
    """Send the reminders due on ``on`` (default: today), each once per campaign, milestone and
    ESAT; ``caf_code``: only the ESATs with workers without a certificat in that Caf (the
    e-mail still gives the counts of every Caf); ``actor_id``: the agent who asked (None: the
    scheduled job)."""
    on = on or today(settings)
    found = due(on)
    if found is None:
        return Result(on)
    campaign, milestone = found
    counts = {SENT: 0, ALREADY: 0, FAILED: 0, NO_RECIPIENT: 0}
    emails = 0
    for esat_id, by_caf in sorted(_missing(store, campaign).items()):
        if caf_code is not None and caf_code not in by_caf:
            continue
        outcome, n = _remind(store, settings, campaign, milestone, esat_id, by_caf, actor_id, on)
        counts[outcome] += 1
        emails += n
    return Result(
        on, campaign, milestone, counts[SENT], emails, counts[ALREADY], counts[FAILED], counts[NO_RECIPIENT]
    )


def sent(store: Store, account: Account, campaign: int) -> pd.DataFrame:
    """The reminders of ``campaign`` that concerned the agent's Caf (its workers without a
    certificat then), newest milestone first: ESAT, milestone, when (Paris), how sent, workers of
    the Caf missing at the reminder, certificats of the Caf filed by the ESAT since, still missing."""
    caf = backoffice.caf_of(account)
    frame = store.frame(
        "SELECT r.esat_id AS esat_id, e.legal_name AS esat, r.milestone AS milestone, "
        "r.reminded_at AS reminded_at, r.triggered_by AS triggered_by, rc.missing AS missing_then, "
        "(SELECT count(*) FROM v_certificat c WHERE c.esat_id = r.esat_id AND c.caf_code = rc.caf_code "
        " AND c.campaign = r.campaign AND c.received_at > r.reminded_at) AS filed_since "
        "FROM reminder r JOIN reminder_caf rc ON rc.campaign = r.campaign AND rc.milestone = r.milestone "
        "AND rc.esat_id = r.esat_id JOIN esat e ON e.id = r.esat_id "
        "WHERE rc.caf_code = ? AND r.campaign = ? ORDER BY r.milestone DESC, e.legal_name, r.esat_id",
        [caf, campaign],
    )
    now = _missing_by_esat(store, caf, campaign)
    return pd.DataFrame(
        {
            "esat": frame["esat"],
            "relance": [fmt.day(d) for d in frame["milestone"]],
            "relancee_le": [f"{to_paris(t):%d/%m/%Y %H:%M}" for t in frame["reminded_at"]],
            "envoi": ["Automatique" if pd.isna(t) else "Par un agent" for t in frame["triggered_by"]],
            "manquants_relance": frame["missing_then"].astype(int),
            "deposes_depuis": frame["filed_since"].astype(int),
            "manquants_maintenant": [now.get(int(e), 0) for e in frame["esat_id"]],
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.reminders",
        description="Envoie les relances de la campagne du certificat d'emploi dues à une date.",
    )
    parser.add_argument(
        "--date", help="jour de l'envoi, AAAA-MM-JJ (par défaut : aujourd'hui, ou ESAT_TODAY)"
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        on = date.fromisoformat(args.date) if args.date else today(settings)
    except ValueError:
        print(f"Date invalide : {args.date} (attendu AAAA-MM-JJ).", file=sys.stderr)
        return 2
    store = open_or_exit(settings.db)
    try:
        result = run(store, settings, on)
    finally:
        store.close()
    print(result.summary())
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
