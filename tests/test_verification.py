"""Vérifier un justificatif (issue 13, point 5): real, forged and mistyped codes; nothing personal
on the answer or the page; the rate limit per address; the audit rows; the command line."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from google.protobuf.json_format import MessageToDict
from playwright.sync_api import Page, expect

from data.store import Store
from forms import fmt
from services import declarations, verification
from services.accounts import _throttle_key
from services.config import Settings
from tests.apptest import button, login, no_legacy_pages, start, titles
from tests.browser import browser, server
from tests.conftest import ROOT, TODAY
from tests.test_services import VALID, account, submit

__all__ = ["no_legacy_pages"]

SOURCE = "203.0.113.7"
NOW = datetime(2026, 12, 10, 14, 0)  # naive UTC: 15:00 in Paris


def audit_rows(store: Store) -> list[dict[str, Any]]:
    return store.all(
        "SELECT account_id, action, object_ref FROM audit_log "
        "WHERE action LIKE 'justificatif_%' OR action = 'verification_throttled' ORDER BY id"
    )


def personal(store: Store, decl: declarations.Declaration) -> list[str]:
    """What the justificatif shows that must never appear in a verification: the worker's identity,
    the ESAT, the author and the declared amounts (as typed, as stored and as printed)."""
    worker = store.one(
        "SELECT last_name, first_name, allocataire, birth_date FROM worker WHERE id = ?", [decl.worker_id]
    )
    assert worker is not None
    esat = store.scalar("SELECT legal_name FROM esat WHERE id = ?", [decl.esat_id])
    author = store.scalar(
        "SELECT a.display_name FROM declaration d JOIN account a ON a.id = d.author_id WHERE d.id = ?",
        [decl.id],
    )
    amounts = [str(v) for v in decl.values.values()] + [fmt.amount(v) for v in decl.values.values()]
    return [
        worker["last_name"],
        worker["first_name"],
        worker["allocataire"],
        fmt.day(worker["birth_date"]),
        esat,
        author,
        *VALID.values(),
        *amounts,
    ]


def check(store: Store, env: Settings, receipt: str, code: str, source: str = SOURCE, **kw):
    return verification.verify(store, env, receipt, code, source, now=kw.pop("now", NOW), **kw)


# -- the service ---------------------------------------------------------------------------------


def test_a_real_justificatif_is_verified_with_its_type_and_date_and_nothing_personal(env, store):
    decl = submit(store, env, "verif-real")
    result = check(store, env, decl.receipt_number, decl.verification_code)
    assert result.verified and result.outcome == "verified"
    assert result.form_title == "Certificat d'emploi"
    assert result.received_at == decl.received_at  # Paris time, as printed on the justificatif
    assert result.superseded_at is None and result.superseded_by is None and result.replaces is None
    assert f"Déposée le {fmt.timestamp(decl.received_at)} (heure de Paris)" in result.message
    assert decl.receipt_number in result.message and "authentique" in result.message
    shown = repr(result)
    leaks = [p for p in personal(store, decl) if p and p in shown]
    assert leaks == []
    assert decl.verification_code not in shown  # the code is not echoed either


@pytest.mark.parametrize(
    "typed",
    [
        lambda r, c: (r.lower(), c.lower()),
        lambda r, c: (f"  {r} ", c.replace("-", "")),
        lambda r, c: (r, c.replace("-", " ").lower()),
        lambda r, c: (r.replace("-", " - "), f" {c.replace('-', '').lower()} "),
    ],
    ids=["lower case", "no dashes", "spaces", "spaced out"],
)
def test_lower_case_spaces_and_missing_dashes_are_accepted(env, store, typed):
    decl = submit(store, env, "verif-typed")
    receipt, code = typed(decl.receipt_number, decl.verification_code)
    result = check(store, env, receipt, code)
    assert result.verified, result.message
    assert result.receipt == decl.receipt_number


def test_a_forged_code_gets_the_same_answer_as_an_unknown_receipt(env, store):
    decl = submit(store, env, "verif-forged")
    code = decl.verification_code
    forged_code = ("0" if code[0] != "0" else "1") + code[1:]  # one character off
    forged = check(store, env, decl.receipt_number, forged_code)
    unknown_number = "ESAT-2026-99999999"
    assert store.scalar("SELECT count(*) FROM declaration WHERE receipt_number = ?", [unknown_number]) == 0
    unknown = check(store, env, unknown_number, code)
    assert forged.outcome == unknown.outcome == "not_found"
    assert forged.message == unknown.message == verification.NOT_FOUND
    assert (forged.errors, forged.form_title, forged.received_at) == (unknown.errors, None, None)
    # A real code of another declaration does not open this one.
    other = submit(store, env, "verif-other", worker_id=2)
    assert check(store, env, decl.receipt_number, other.verification_code).outcome == "not_found"


@pytest.mark.parametrize(
    ("receipt", "code", "fields"),
    [
        ("ESAT-2026-0000004", "1A2B-3C4D-5E6F", {"receipt"}),  # a digit missing
        ("ESAT-26-00000042", "1A2B-3C4D-5E6F", {"receipt"}),
        ("CAF-2026-00000042", "1A2B-3C4D-5E6F", {"receipt"}),
        ("ESAT-٢٠٢٦-00000042", "1A2B-3C4D-5E6F", {"receipt"}),  # non-ASCII digits
        ("ESAT-2026-00000042", "1A2B-3C4D-5E6", {"code"}),  # 11 characters
        ("ESAT-2026-00000042", "1A2B-3C4D-5E6FA", {"code"}),  # 13 characters
        ("ESAT-2026-00000042", "1A2B-3C4D-5E6G", {"code"}),  # G is not hexadecimal
        ("ESAT-2026-00000042", "1A2B-3C4D-5E6F" + "0" * 10_000, {"code"}),
        ("", "", {"receipt", "code"}),
        ("1A2B-3C4D-5E6F", "ESAT-2026-00000042", {"receipt", "code"}),  # swapped
    ],
)
def test_a_mistyped_field_gets_its_message_and_no_lookup(env, store, receipt, code, fields):
    before = (
        store.scalar("SELECT count(*) FROM audit_log"),
        store.scalar("SELECT count(*) FROM login_failure"),
    )
    result = check(store, env, receipt, code)
    assert result.outcome == "invalid" and not result.verified
    assert set(result.errors) == fields
    expected = {"receipt": verification.RECEIPT_FORMAT, "code": verification.CODE_FORMAT}
    assert result.errors == {f: expected[f] for f in fields}
    after = (
        store.scalar("SELECT count(*) FROM audit_log"),
        store.scalar("SELECT count(*) FROM login_failure"),
    )
    assert after == before  # nothing looked up, counted or audited


def test_a_replaced_declaration_says_so_with_the_date_and_the_new_receipt(env, store):
    first = submit(store, env, "verif-first")
    corrected = dict(VALID, remuneration_garantie="1 101,50")
    second = declarations.submit(
        store, env, account(store), 1, declarations.forms()["certificat_emploi"], corrected, "verif-rectif",
        replaces=first.id,
    )  # fmt: skip
    old = check(store, env, first.receipt_number, first.verification_code)
    assert old.verified
    assert old.superseded_by == second.receipt_number
    assert old.superseded_at == second.received_at
    assert f"remplacée le {fmt.timestamp(second.received_at)} par un rectificatif" in old.message
    assert second.receipt_number in old.message
    new = check(store, env, second.receipt_number, second.verification_code)
    assert new.verified and new.superseded_at is None
    assert new.form_title == "Certificat d'emploi (rectificatif)"
    assert new.replaces == first.receipt_number and first.receipt_number in new.message
    assert "1 101,50" not in repr(new) and "1101.50" not in repr(new)


def test_an_older_form_version_gets_its_own_title(env, store):
    decl = submit(store, env, "verif-old-version")
    store.execute("UPDATE declaration SET form_version = 1 WHERE id = ?", [decl.id])
    result = check(store, env, decl.receipt_number, decl.verification_code)
    assert result.verified and result.form_title == "Certificat d'emploi"  # the title of v1


# -- rate limit --------------------------------------------------------------------------------


def test_the_rate_limit_triggers_after_n_lookups_and_lifts_after_the_window(env, store):
    assert (verification.LOOKUPS, verification.WINDOW.total_seconds()) == (10, 600)  # as documented
    decl = submit(store, env, "verif-limit")
    start_at = NOW
    for i in range(verification.LOOKUPS):  # wrong and right codes count alike
        code = decl.verification_code if i % 2 else "0000-0000-0000"
        at = start_at + timedelta(seconds=30 * i)
        assert check(store, env, decl.receipt_number, code, now=at).outcome in ("verified", "not_found")
    last = start_at + timedelta(seconds=30 * (verification.LOOKUPS - 1))
    blocked = check(store, env, decl.receipt_number, decl.verification_code, now=last + timedelta(seconds=1))
    assert blocked.outcome == "throttled" and not blocked.verified
    assert blocked.form_title is None and blocked.received_at is None
    # The first lookup leaves the window at 14:10 UTC, i.e. 15:10 in Paris.
    assert blocked.retry_at == datetime(2026, 12, 10, 15, 10)
    assert "Réessayez à partir de 15:10" in blocked.message
    # Malformed input is answered (no lookup) even while the limit holds.
    assert check(store, env, "ESAT", "x", now=last + timedelta(seconds=2)).outcome == "invalid"
    # Another address is not held back.
    other = check(store, env, decl.receipt_number, decl.verification_code, source="198.51.100.9", now=last)
    assert other.verified
    # A throttled attempt does not count: the limit lifts once the first lookup is 10 minutes old.
    just_before = start_at + verification.WINDOW - timedelta(seconds=1)
    assert check(store, env, decl.receipt_number, decl.verification_code, now=just_before).outcome == (
        "throttled"
    )
    lifted = check(
        store, env, decl.receipt_number, decl.verification_code, now=start_at + verification.WINDOW
    )
    assert lifted.verified
    actions = [r["action"] for r in audit_rows(store)]
    assert actions.count("verification_throttled") == 2


def test_the_limit_is_kept_in_the_store_not_in_the_process(env, store):
    """Replicas share the count: a second Store on the same database sees it (PostgreSQL), and the
    count survives reopening the store (DuckDB)."""
    decl = submit(store, env, "verif-shared")
    for _ in range(verification.LOOKUPS):
        check(store, env, decl.receipt_number, decl.verification_code)
    store.close()
    other = Store(env.db)
    try:
        again = check(other, env, decl.receipt_number, decl.verification_code)
    finally:
        other.close()
    assert again.outcome == "throttled"


def test_a_caf_agent_is_limited_and_audited_as_its_account(env, store):
    decl = submit(store, env, "verif-agent")
    agent = account(store, "agent.caf@example.org")
    for _ in range(verification.LOOKUPS):  # the shared address is used up by someone else
        check(store, env, decl.receipt_number, "0000-0000-0000")
    assert check(store, env, decl.receipt_number, decl.verification_code).outcome == "throttled"
    mine = check(store, env, decl.receipt_number, decl.verification_code, account_id=agent.id)
    assert mine.verified
    assert audit_rows(store)[-1] == {
        "account_id": agent.id,
        "action": "justificatif_verified",
        "object_ref": decl.receipt_number,
    }


# -- audit ---------------------------------------------------------------------------------------


def test_every_lookup_is_audited_with_the_receipt_number_never_the_code_nor_the_address(env, store):
    decl = submit(store, env, "verif-audit")
    check(store, env, decl.receipt_number.lower(), decl.verification_code.replace("-", ""))
    check(store, env, decl.receipt_number, "0000-0000-0000")
    check(store, env, "ESAT-2026-99999999", decl.verification_code)
    check(store, env, "pas un numéro", decl.verification_code)  # malformed: not a lookup
    assert audit_rows(store) == [
        {"account_id": None, "action": "justificatif_verified", "object_ref": decl.receipt_number},
        {"account_id": None, "action": "justificatif_not_found", "object_ref": decl.receipt_number},
        {"account_id": None, "action": "justificatif_not_found", "object_ref": "ESAT-2026-99999999"},
    ]
    stored = str(store.all("SELECT * FROM audit_log")) + str(store.all("SELECT * FROM login_failure"))
    for secret in (decl.verification_code, decl.verification_code.replace("-", ""), SOURCE):
        assert secret not in stored and secret.lower() not in stored


# -- the page ------------------------------------------------------------------------------------


def walk(node: Any):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def everything_drawn(at) -> str:
    """Every text of every element of the page: labels, values, help texts, placeholders, messages."""
    protos = [node.proto for node in walk(at._tree) if getattr(node, "proto", None) is not None]
    return "\n".join(text for proto in protos for text in strings(MessageToDict(proto)))


def verify_on_page(at, receipt: str, code: str):
    at.text_input(key="verif_receipt").input(receipt)
    at.text_input(key="verif_code").input(code)
    return button(at, "Vérifier").click().run()


def public_page():
    at = start()
    at.switch_page("pages/verification.py").run()
    assert titles(at) == ["Vérifier un justificatif"]
    return at


def test_the_page_works_without_login_and_shows_nothing_personal(env, store):
    decl = submit(store, env, "verif-page")
    at = public_page()
    verify_on_page(at, decl.receipt_number.lower(), decl.verification_code.replace("-", ""))
    assert not at.exception
    assert [s.value for s in at.success] == [
        check(store, env, decl.receipt_number, decl.verification_code, source="x").message
    ]
    assert not at.error
    drawn = everything_drawn(at)
    assert "Certificat d'emploi" in drawn  # the walk does see the answer
    leaks = [p for p in personal(store, decl) if p and p in drawn]
    assert leaks == []
    assert not at.query_params  # nothing typed goes into the address


def test_the_page_answers_a_forged_code_and_shows_field_messages_under_their_field(env, store):
    decl = submit(store, env, "verif-page-forged")
    at = public_page()
    verify_on_page(at, decl.receipt_number, "0000-0000-0000")
    assert [e.value for e in at.error] == [verification.NOT_FOUND] and not at.success
    verify_on_page(at, "ESAT-2026-42", "1A2B")
    assert [e.value for e in at.error] == [verification.RECEIPT_FORMAT, verification.CODE_FORMAT]
    # Each message sits in the form, right under its own field.
    form = next(node for node in walk(at._tree) if getattr(node, "type", None) == "form")
    order = [
        node.label if getattr(node, "type", None) == "text_input" else node.value
        for node in walk(form)
        if getattr(node, "type", None) in ("text_input", "error")
    ]
    assert order == [
        "Numéro de reçu",
        verification.RECEIPT_FORMAT,
        "Code de vérification",
        verification.CODE_FORMAT,
    ]


def test_the_welcome_page_links_to_it(env):
    at = start()
    links = [link.proto.page for link in at.get("page_link")]
    assert "verification" in links, links  # the url_path of the page


def test_a_caf_agent_has_it_in_the_navigation_and_an_esat_manager_does_not(env, store):
    decl = submit(store, env, "verif-roles")
    at = start()
    login(at, "agent.caf@example.org")
    if titles(at) == ["Conditions générales d'utilisation"]:
        for box in at.checkbox:
            box.check()
        button(at, "Continuer").click().run()
    at.switch_page("pages/verification.py").run()
    assert titles(at) == ["Vérifier un justificatif"]
    verify_on_page(at, decl.receipt_number, decl.verification_code)
    assert at.success and not at.exception
    agent = account(store, "agent.caf@example.org")
    assert audit_rows(store)[-1]["account_id"] == agent.id

    manager = start()
    login(manager, "esat.simple@example.org")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        manager.switch_page("pages/verification.py")


# -- the command line ----------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.verification", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_the_command_line_prints_the_same_answer(env, store):
    decl = submit(store, env, "verif-cli")
    expected = check(store, env, decl.receipt_number, decl.verification_code, source="x").message
    store.close()  # DuckDB: one process at a time
    ok = run_cli(decl.receipt_number, decl.verification_code.lower())
    assert (ok.returncode, ok.stdout.strip()) == (0, expected)
    forged = run_cli(decl.receipt_number, "0000-0000-0000")
    assert (forged.returncode, forged.stdout.strip()) == (1, verification.NOT_FOUND)
    mistyped = run_cli("ESAT-1", "1A2B")
    assert mistyped.returncode == 2
    assert mistyped.stdout.strip() == f"{verification.RECEIPT_FORMAT} {verification.CODE_FORMAT}"
    usage = run_cli()
    assert usage.returncode == 2 and "usage" in usage.stderr
    assert "Traceback" not in ok.stderr + forged.stderr + mistyped.stderr + usage.stderr
    reopened = Store(env.db)
    try:
        actions = [r["action"] for r in audit_rows(reopened)]
    finally:
        reopened.close()
    assert actions[-2:] == ["justificatif_verified", "justificatif_not_found"]


# -- a real browser behind a proxy header ----------------------------------------------------------


@pytest.mark.browser
def test_in_a_real_browser_the_limit_is_per_forwarded_address(env, store, tmp_path):
    """The real server behind a local proxy: Streamlit's server (uvicorn) takes the client address
    from X-Forwarded-For on a loopback connection, so two visitors get two limits. Without it both
    would share the one of "no address" and the second visitor would be refused."""
    decl = submit(store, env, "verif-browser")
    worker = store.one("SELECT last_name, allocataire FROM worker WHERE id = ?", [decl.worker_id])
    assert worker is not None
    store.close()  # DuckDB: the server is the one process
    server_env = {
        "ESAT_DB": env.db,
        "ESAT_OUTBOX": str(env.outbox),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "test-secret",
    }

    def lookup(page: Page, code: str, answer: str) -> None:
        page.get_by_role("textbox", name="Numéro de reçu").fill(decl.receipt_number.lower())
        page.get_by_role("textbox", name="Code de vérification").fill(code)
        page.get_by_role("button", name="Vérifier", exact=True).click()
        expect(page.get_by_text(answer, exact=False)).to_be_visible()
        page.get_by_role("textbox", name="Numéro de reçu").fill("")  # the next answer is a new one
        page.get_by_role("button", name="Vérifier", exact=True).click()
        expect(page.get_by_text(verification.RECEIPT_FORMAT)).to_be_visible()

    with server(server_env, tmp_path / "server.log") as url, browser() as chromium:
        first = chromium.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.50"})
        page = first.new_page()
        page.goto(f"{url}/verification")
        expect(page.get_by_role("heading", name="Vérifier un justificatif")).to_be_visible()
        lookup(page, decl.verification_code.replace("-", ""), "Ce justificatif est authentique")
        body = page.locator("body").inner_text()
        assert worker["last_name"] not in body and worker["allocataire"] not in body
        assert urlsplit(page.url).query == ""  # nothing typed in the address
        for _ in range(verification.LOOKUPS - 1):
            lookup(page, "0000-0000-0000", "Aucun justificatif ne correspond")
        lookup(page, decl.verification_code, "Trop de vérifications en peu de temps")
        second = chromium.new_context(extra_http_headers={"X-Forwarded-For": "198.51.100.60"})
        other = second.new_page()
        other.goto(f"{url}/verification")
        lookup(other, decl.verification_code, "Ce justificatif est authentique")
    reopened = Store(env.db)
    try:
        counted = reopened.scalar(
            "SELECT count(*) FROM login_failure WHERE key = ?",
            [_throttle_key(env, "verification", "203.0.113.50")],
        )
    finally:
        reopened.close()
    assert counted == verification.LOOKUPS
