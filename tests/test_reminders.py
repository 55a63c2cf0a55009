"""Reminders before the 15 January deadline (issue 13, point 4): a real SMTP server, a fixed clock,
concurrent runs (threads sharing one store; two processes on PostgreSQL), the agent's list and
button, and the command to schedule."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from email.message import EmailMessage

import pytest

from data.demo import AGENT_LOGIN, DEMO_ESAT_ID, DEMO_ESAT_LOGIN
from services import backoffice, declarations, reminders
from services.accounts import Account
from services.config import Settings
from services.partner import NotAllowed
from tests import stores
from tests.apptest import button, no_legacy_pages, texts
from tests.browser import free_port
from tests.conftest import ROOT
from tests.smtp import smtp_server
from tests.test_pages import logged_in
from tests.test_services import VALID, account, run_threads

__all__ = ["no_legacy_pages", "smtp_server"]

FIRST, SECOND = date(2027, 1, 5), date(2027, 1, 12)
DEADLINE = "15/01/2027"


# -- helpers ---------------------------------------------------------------------------------


def with_smtp(env: Settings, port: int) -> Settings:
    return dataclasses.replace(env, smtp_host="127.0.0.1", smtp_port=port)


def on_day(settings: Settings, day: date) -> Settings:
    return dataclasses.replace(settings, today=day)


def received(collector) -> list[EmailMessage]:
    out = []
    for envelope in collector.envelopes:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def recipients(collector) -> Counter[str]:
    return Counter(to for envelope in collector.envelopes for to in envelope.rcpt_tos)


def missing(store) -> dict[int, dict[str, int]]:
    """ESAT id → {Caf → workers without a certificat of 2026}, straight from the back office."""
    out: dict[int, dict[str, int]] = {}
    for caf in ("441", "491"):
        for worker_id in backoffice.missing_certificats(store, caf, 2026)["worker_id"]:
            esat_id = store.scalar("SELECT esat_id FROM worker WHERE id = ?", [int(worker_id)])
            out.setdefault(esat_id, {}).setdefault(caf, 0)
            out[esat_id][caf] += 1
    return out


def manager(store, esat_id: int) -> str:
    return store.scalar(
        "SELECT email FROM account WHERE role = 'esat' AND esat_id = ? ORDER BY id", [esat_id]
    )


def file_all_missing_of_smallest_esat(store, env: Settings) -> int:
    """File a certificat (on 04/01/2027) for every worker still expected of the ESAT with the fewest:
    that ESAT has nothing left to declare. Returns its id."""
    before = missing(store)
    esat_id = min(before, key=lambda e: (sum(before[e].values()), e))
    owner = account(
        store, store.scalar("SELECT login FROM account WHERE role = 'esat' AND esat_id = ?", [esat_id])
    )
    form = declarations.forms()["certificat_emploi"]
    for caf in before[esat_id]:
        workers = backoffice.missing_certificats(store, caf, 2026)["worker_id"]
        for worker_id in workers:
            if store.scalar("SELECT esat_id FROM worker WHERE id = ?", [int(worker_id)]) == esat_id:
                declarations.submit(
                    store,
                    on_day(env, date(2027, 1, 4)),
                    owner,
                    int(worker_id),
                    form,
                    dict(VALID),
                    f"r-{worker_id}",
                )
    assert esat_id not in missing(store)
    return esat_id


def counts(store, action: str) -> int:
    return store.scalar("SELECT count(*) FROM audit_log WHERE action = ?", [action])


# -- the calendar ----------------------------------------------------------------------------


def test_milestones_come_from_the_dated_parameter():
    assert reminders.milestones(2026) == [FIRST, SECOND]
    assert reminders.milestones(2025) == []  # no value in force on 01/12/2025: no reminder


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 12, 10), None),  # campaign open, first milestone not reached
        (date(2027, 1, 4), None),
        (FIRST, (2026, FIRST)),
        (date(2027, 1, 11), (2026, FIRST)),  # a run missed on the 5th catches up
        (SECOND, (2026, SECOND)),
        (date(2027, 1, 15), (2026, SECOND)),  # the deadline itself
        (date(2027, 1, 16), None),  # after the deadline: no more reminders
        (date(2027, 2, 28), None),
        (date(2027, 6, 1), None),
    ],
)
def test_due_is_the_latest_milestone_up_to_the_deadline(on, expected):
    assert reminders.due(on) == expected


def test_upcoming_milestone():
    assert reminders.upcoming(date(2026, 12, 10)) == FIRST
    assert reminders.upcoming(FIRST) == SECOND
    assert reminders.upcoming(date(2027, 1, 13)) is None


# -- sending ---------------------------------------------------------------------------------


def test_nothing_before_the_first_milestone(env, store, smtp_server):
    port, collector = smtp_server
    result = reminders.run(store, with_smtp(env, port), on=date(2027, 1, 4))
    assert result.milestone is None and result.sent == 0
    assert collector.envelopes == []
    assert store.scalar("SELECT count(*) FROM reminder") == 0
    assert "Aucune relance" in result.summary() and "05/01/2027" in result.summary()


def test_one_email_per_esat_and_milestone_with_its_counts_deadline_and_link(env, store, smtp_server):
    port, collector = smtp_server
    done = file_all_missing_of_smallest_esat(store, env)
    expected = missing(store)
    settings = with_smtp(env, port)

    first = reminders.run(store, settings, on=FIRST)
    assert (first.campaign, first.milestone, first.sent, first.emails) == (
        2026,
        FIRST,
        len(expected),
        len(expected),
    )
    assert (first.already, first.failed, first.without_recipient) == (0, 0, 0)
    assert recipients(collector) == Counter({manager(store, e): 1 for e in expected})
    assert manager(store, done) not in recipients(collector)  # all its workers filed: no reminder
    for msg in received(collector):
        esat_id = store.scalar("SELECT esat_id FROM account WHERE email = ?", [msg["To"]])
        body = msg.get_content()
        for caf, n in expected[esat_id].items():
            assert f"({caf}) : {n} travailleur" in body
        assert DEADLINE in body and DEADLINE in msg["Subject"]
        assert settings.base_url in body
        assert "05/01/2027" in body
    assert store.scalar("SELECT count(*) FROM reminder WHERE milestone = ?", [FIRST]) == len(expected)
    assert counts(store, "reminder_sent") == len(expected)
    refs = {
        r["object_ref"] for r in store.all("SELECT object_ref FROM audit_log WHERE action = 'reminder_sent'")
    }
    assert f"campaign 2026 milestone 2027-01-05 esat {DEMO_ESAT_ID}" in refs
    row = store.one("SELECT * FROM reminder WHERE esat_id = ?", [DEMO_ESAT_ID])
    assert row["missing"] == sum(expected[DEMO_ESAT_ID].values()) and row["recipients"] == 1
    assert row["triggered_by"] is None  # the scheduled job

    again = reminders.run(store, settings, on=FIRST)
    later_that_week = reminders.run(store, settings, on=date(2027, 1, 8))
    assert again.sent == later_that_week.sent == 0 and again.already == len(expected)
    assert len(collector.envelopes) == len(expected)

    second = reminders.run(store, settings, on=SECOND)
    assert second.sent == len(expected) and second.milestone == SECOND
    assert recipients(collector) == Counter({manager(store, e): 2 for e in expected})
    assert counts(store, "reminder_sent") == 2 * len(expected)


def test_no_reminder_to_inactive_managers(env, store, smtp_server):
    port, collector = smtp_server
    store.execute("UPDATE account SET active = FALSE WHERE role = 'esat' AND esat_id = ?", [DEMO_ESAT_ID])
    result = reminders.run(store, with_smtp(env, port), on=FIRST)
    assert result.without_recipient == 1 and result.sent == len(missing(store)) - 1
    assert DEMO_ESAT_LOGIN not in recipients(collector)
    assert store.scalar("SELECT count(*) FROM reminder WHERE esat_id = ?", [DEMO_ESAT_ID]) == 0


def test_two_concurrent_runs_send_one_email_per_esat_and_milestone(env, store, smtp_server):
    port, collector = smtp_server
    settings = with_smtp(env, port)
    expected = missing(store)
    results, errors = run_threads(lambda i: reminders.run(store, settings, on=FIRST), n=4)
    assert errors == []
    assert sum(r.sent for r in results) == len(expected)
    assert sum(r.already for r in results) == 3 * len(expected)
    assert recipients(collector) == Counter({manager(store, e): 1 for e in expected})
    assert counts(store, "reminder_sent") == len(expected)
    assert store.scalar("SELECT count(*) FROM reminder") == len(expected)


@pytest.mark.skipif(
    not stores.PG, reason="two processes share a PostgreSQL database only (DuckDB: one process)"
)
def test_two_processes_at_once_send_one_email_per_esat_and_milestone(env, store, smtp_server):
    port, collector = smtp_server
    expected = missing(store)
    variables = os.environ | {"ESAT_SMTP_HOST": "127.0.0.1", "ESAT_SMTP_PORT": str(port)}
    command = [sys.executable, "-m", "services.reminders", "--date", FIRST.isoformat()]
    runs = [
        subprocess.Popen(
            command, cwd=ROOT, env=variables, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    assert recipients(collector) == Counter({manager(store, e): 1 for e in expected})
    assert counts(store, "reminder_sent") == len(expected)


def test_smtp_down_releases_the_claim_and_the_next_run_sends(env, store, smtp_server):
    port, collector = smtp_server
    expected = missing(store)
    down = reminders.run(store, with_smtp(env, free_port()), on=FIRST)  # nothing listens there
    assert down.failed == len(expected) and down.sent == 0
    assert store.scalar("SELECT count(*) FROM reminder") == 0
    assert store.scalar("SELECT count(*) FROM reminder_caf") == 0
    assert counts(store, "reminder_failed") == len(expected)

    up = reminders.run(store, with_smtp(env, port), on=FIRST)
    assert up.sent == len(expected) and up.failed == 0
    assert recipients(collector) == Counter({manager(store, e): 1 for e in expected})


# -- the agent's list ------------------------------------------------------------------------


def test_sent_is_scoped_to_the_agent_caf_and_counts_certificats_filed_since(env, store, smtp_server):
    port, _ = smtp_server
    agent = account(store, AGENT_LOGIN)
    reminders.run(store, with_smtp(env, port), on=FIRST)
    before = missing(store)
    listed = reminders.sent(store, agent, 2026)
    in_441 = {e: by_caf["441"] for e, by_caf in before.items() if "441" in by_caf}
    names = {r["id"]: r["legal_name"] for r in store.all("SELECT id, legal_name FROM esat")}
    assert sorted(listed["esat"]) == sorted(names[e] for e in in_441)
    demo = listed[listed["esat"] == names[DEMO_ESAT_ID]].iloc[0]
    assert demo["manquants_relance"] == in_441[DEMO_ESAT_ID]  # the 441 workers only, not the 491 ones
    assert (demo["relance"], demo["envoi"], demo["deposes_depuis"]) == ("05/01/2027", "Automatique", 0)
    assert demo["relancee_le"].startswith("05/01/2027 ")
    assert demo["manquants_maintenant"] == in_441[DEMO_ESAT_ID]

    worker = next(
        int(w)
        for w in backoffice.missing_certificats(store, "441", 2026)["worker_id"]
        if store.scalar("SELECT esat_id FROM worker WHERE id = ?", [int(w)]) == DEMO_ESAT_ID
    )
    form = declarations.forms()["certificat_emploi"]
    declarations.submit(
        store, on_day(env, date(2027, 1, 6)), account(store), worker, form, dict(VALID), "apres"
    )
    demo = reminders.sent(store, agent, 2026).set_index("esat").loc[names[DEMO_ESAT_ID]]
    assert demo["deposes_depuis"] == 1
    assert demo["manquants_relance"] == in_441[DEMO_ESAT_ID]
    assert demo["manquants_maintenant"] == in_441[DEMO_ESAT_ID] - 1

    other = Account(0, "agent.491@example.org", "agent.491@example.org", "agent", None, "491", "Agent 491")
    in_491 = {names[e] for e, by_caf in before.items() if "491" in by_caf}
    assert set(reminders.sent(store, other, 2026)["esat"]) == in_491
    with pytest.raises(NotAllowed):
        reminders.sent(store, account(store), 2026)


def test_an_agent_run_reminds_only_esats_with_workers_of_that_caf(env, store, smtp_server):
    port, collector = smtp_server
    agent = account(store, AGENT_LOGIN)
    expected = {e for e, by_caf in missing(store).items() if "441" in by_caf}
    result = reminders.run(store, with_smtp(env, port), on=FIRST, caf_code="441", actor_id=agent.id)
    assert result.sent == len(expected) < len(missing(store))
    assert set(recipients(collector)) == {manager(store, e) for e in expected}
    assert {r["triggered_by"] for r in store.all("SELECT triggered_by FROM reminder")} == {agent.id}
    accounts_audited = store.all("SELECT DISTINCT account_id FROM audit_log WHERE action = 'reminder_sent'")
    assert accounts_audited == [{"account_id": agent.id}]
    assert set(reminders.sent(store, agent, 2026)["envoi"]) == {"Par un agent"}


# -- the command -----------------------------------------------------------------------------


def test_the_command_prints_counts_only(env, store):
    expected = len(missing(store))
    names = [r["legal_name"] for r in store.all("SELECT legal_name FROM esat")]
    store.close()  # a DuckDB file serves one process at a time
    variables = os.environ | {"ESAT_TODAY": FIRST.isoformat()}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.reminders", *args],
            cwd=ROOT,
            env=variables,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = command()
    assert first.returncode == 0, first.stderr
    assert f": {expected} ESAT relancé(s) ({expected} courriel(s)), 0 déjà relancé(s)" in first.stdout
    assert "Relance du 05/01/2027 (campagne 2026, échéance du 15/01/2027)" in first.stdout
    again = command()
    assert (
        again.returncode == 0
        and f"0 ESAT relancé(s) (0 courriel(s)), {expected} déjà relancé(s)" in again.stdout
    )
    early = command("--date", "2026-12-10")
    assert early.returncode == 0
    assert early.stdout.strip() == (
        "Aucune relance de certificat d'emploi à envoyer le 10/12/2026 ; prochaine relance le 05/01/2027."
    )
    for run in (first, again, early):
        assert len(run.stdout.strip().splitlines()) == 1 and "@" not in run.stdout
        assert not any(name in run.stdout for name in names)
        assert "Traceback" not in run.stderr
    wrong = command("--date", "05/01/2027")
    assert wrong.returncode == 2 and "Date invalide" in wrong.stderr and "Traceback" not in wrong.stderr


# -- the agent's page ------------------------------------------------------------------------


def reminder_button(at):
    return button(at, "Envoyer les relances maintenant")


def test_the_button_is_disabled_before_the_first_milestone(env):
    at = logged_in(AGENT_LOGIN)
    assert reminder_button(at).disabled
    assert "Les relances de la campagne 2026 commencent le 05/01/2027." in texts(at)
    assert not at.exception


def test_the_agent_sends_the_reminders_of_the_milestone_and_sees_the_list(
    env, store, smtp_server, monkeypatch
):
    port, collector = smtp_server
    monkeypatch.setenv("ESAT_TODAY", FIRST.isoformat())
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    expected = {e for e, by_caf in missing(store).items() if "441" in by_caf}
    at = logged_in(AGENT_LOGIN)
    assert "Étape en cours : relance du 05/01/2027. Prochaine étape : le 12/01/2027." in texts(at)
    assert not reminder_button(at).disabled
    reminder_button(at).click().run()
    assert not at.exception
    assert (
        f"{len(expected)} ESAT relancé(s) ({len(expected)} courriel(s)) pour l'étape du 05/01/2027."
        in texts(at)
    )
    assert set(recipients(collector)) == {manager(store, e) for e in expected}
    agent_id = store.scalar("SELECT id FROM account WHERE login = ?", [AGENT_LOGIN])
    assert store.scalar("SELECT count(*) FROM reminder WHERE triggered_by = ?", [agent_id]) == len(expected)
    listed = at.dataframe[-1].value
    assert len(listed) == len(expected) and set(listed["envoi"]) == {"Par un agent"}

    reminder_button(at).click().run()  # a second click sends nothing more
    assert "Aucune nouvelle relance" in texts(at)
    assert len(collector.envelopes) == len(expected)


def test_after_the_deadline_the_button_explains_why_it_is_disabled(env, monkeypatch):
    monkeypatch.setenv("ESAT_TODAY", "2027-01-20")
    at = logged_in(AGENT_LOGIN)
    assert reminder_button(at).disabled
    assert "L'échéance du 15/01/2027 est passée : plus de relance pour la campagne 2026." in texts(at)


def test_a_campaign_without_milestones_says_so(env):
    at = logged_in(AGENT_LOGIN)
    at.selectbox[0].set_value(2025).run()
    assert "Aucune relance n'est prévue pour la campagne 2025." in texts(at)
    assert "Envoyer les relances maintenant" not in [b.label for b in at.button]
    assert not at.exception
