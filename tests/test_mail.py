"""The accusé de réception email: a real SMTP server, the outbox, header injection, privacy."""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms import fmt
from rules.checks import options
from services import declarations
from services.config import Settings, load_settings
from services.mail import build_ack, deliver
from tests.conftest import TODAY
from tests.smtp import Collector, smtp_server
from tests.test_services import account

RECIPIENT = "direction@esat.example.org"
NUMBER = "ESAT-2026-00000042"
RECEIVED = datetime(2026, 12, 3, 14, 5)
SUBJECT = f"Accusé de réception — Certificat d'emploi — {NUMBER}"
HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "X-Espace-ESAT-Recu",
    "Auto-Submitted",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
}
INJECTION = "X\r\nBcc: victim@example.org"

__all__ = ["smtp_server"]


def make_settings(tmp_path: Path, port: int | None = None) -> Settings:
    env = {
        "ESAT_OUTBOX": str(tmp_path / "outbox"),
        "ESAT_MAIL_FROM": "ne-pas-repondre@espace-esat.example.org",
    }
    if port is not None:
        env |= {"ESAT_SMTP_HOST": "127.0.0.1", "ESAT_SMTP_PORT": str(port)}
    return load_settings(env)


def ack(config: Settings, **changes: Any) -> EmailMessage:
    args: dict[str, Any] = {
        "settings": config,
        "recipient": RECIPIENT,
        "receipt_number": NUMBER,
        "received_at": RECEIVED,
        "form_title": "Certificat d'emploi",
        "worker_name": "DUPONT Zoé",
        "esat_name": "ESAT Les Ateliers du Rhône",
    }
    return build_ack(**(args | changes))


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def test_ack_is_delivered_through_smtp(tmp_path: Path, smtp_server: tuple[int, Collector]) -> None:
    port, collector = smtp_server
    config = make_settings(tmp_path, port)
    assert deliver(config, ack(config)) == "smtp"
    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.mail_from == "ne-pas-repondre@espace-esat.example.org"
    assert envelope.rcpt_tos == [RECIPIENT]
    msg = parse(envelope.content)
    assert msg["To"] == RECIPIENT
    assert msg["From"] == "Espace ESAT <ne-pas-repondre@espace-esat.example.org>"
    assert msg["Subject"] == SUBJECT
    assert msg["Message-ID"].endswith("@espace-esat.example.org>")
    assert msg["Date"]
    body = msg.get_content()
    for expected in (
        "Certificat d'emploi",
        "DUPONT Zoé",
        "ESAT Les Ateliers du Rhône",
        "03/12/2026 à 14:05",
        NUMBER,
        "justificatif PDF",
        "Fiche travailleur",
        "automatiquement",
    ):
        assert expected in body, expected
    assert not (tmp_path / "outbox").exists()


def test_without_smtp_the_ack_goes_to_the_outbox(tmp_path: Path) -> None:
    config = make_settings(tmp_path)
    path = deliver(config, ack(config))
    outbox = tmp_path / "outbox"
    assert Path(path) == outbox / f"{NUMBER}.eml"
    assert [p.name for p in outbox.iterdir()] == [f"{NUMBER}.eml"]  # no temporary file left
    msg = parse(Path(path).read_bytes())
    assert msg["To"] == RECIPIENT
    assert msg["Subject"] == SUBJECT
    assert "DUPONT Zoé" in msg.get_content()


def test_outbox_file_name_keeps_only_safe_characters(tmp_path: Path) -> None:
    config = make_settings(tmp_path)
    path = Path(deliver(config, ack(config, receipt_number="../../etc/passwd\r\n ESAT_1 é")))
    assert path.parent == tmp_path / "outbox"
    assert path.name == "etcpasswdESAT1.eml"
    assert re.fullmatch(r"[A-Za-z0-9-]+\.eml", path.name)


def test_hostile_values_cannot_add_headers(tmp_path: Path, smtp_server: tuple[int, Collector]) -> None:
    port, collector = smtp_server
    config = make_settings(tmp_path, port)
    msg = ack(
        config,
        worker_name=INJECTION,
        esat_name=INJECTION,
        form_title="Certificat\r\nBcc: victim@example.org",
        receipt_number=f"{NUMBER}\nBcc: victim@example.org",
    )
    raw = msg.as_bytes()
    assert set(parse(raw).keys()) == HEADERS
    assert not re.search(rb"(?im)^(bcc|cc)\s*:", header_block(raw))
    deliver(config, msg)
    assert collector.envelopes[0].rcpt_tos == [RECIPIENT]
    received = parse(collector.envelopes[0].content)
    assert "Bcc" not in received
    assert set(received.keys()) == HEADERS
    assert "\r" not in received["Subject"]
    assert "\n" not in received["Subject"]
    assert "Travailleur : X Bcc: victim@example.org" in received.get_content()


@pytest.mark.parametrize(
    "recipient",
    [f"{RECIPIENT}\r\nBcc: victim@example.org", f"{RECIPIENT}, victim@example.org", "pas une adresse"],
)
def test_a_malformed_recipient_is_refused(tmp_path: Path, recipient: str) -> None:
    with pytest.raises(ValueError, match="destinataire"):
        ack(make_settings(tmp_path), recipient=recipient)


hostile = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            INJECTION,
            "\r\n\r\n",
            "=?utf-8?q?Bcc:_x@y.z?=",
            "\ud800",
            "\x00\x1b",
            "\u2028Bcc: x@y.z",
            "é" * 5000,
        ]
    ),
)


@settings(max_examples=200, deadline=None)
@given(worker=hostile, esat=hostile, title=hostile, number=hostile)
def test_no_hostile_value_breaks_the_message(worker: str, esat: str, title: str, number: str) -> None:
    config = load_settings({"ESAT_OUTBOX": "/nonexistent"})
    msg = ack(config, worker_name=worker, esat_name=esat, form_title=title, receipt_number=number)
    raw = msg.as_bytes()
    parsed = parse(raw)
    assert set(parsed.keys()) == HEADERS
    assert parsed["To"] == RECIPIENT
    assert not re.search(rb"(?im)^(bcc|cc)\s*:", header_block(raw))


def test_the_ack_carries_no_declared_value(tmp_path: Path) -> None:
    body = ack(make_settings(tmp_path)).get_content()
    assert "€" not in body
    assert "%" not in body
    assert not re.search(r"\d\s*(€|%|euros?\b)", body)
    # The only figures are the date and time of receipt and the reference: no allocataire
    # number, birth date, amount or rate.
    assert not re.search(r"\d", body.replace("03/12/2026 à 14:05", "").replace(NUMBER, ""))


# -- PRIV-08 on the filing path: real declarations, the accusés the service delivers ----------


def test_the_acks_of_filed_declarations_carry_no_amount_rate_or_reason(env, store) -> None:
    """A certificat d'emploi (amounts), a change of activity rate (rates) and a departure (a
    reason), filed through services.declarations on the demo store: their accusés de réception,
    as delivered to the outbox, hold none of the declared values, and only the expected headers."""
    who = account(store)
    forms = declarations.forms()
    free = store.all(
        "SELECT id, rate_esat FROM worker WHERE esat_id = ? AND status = 'ACTIVE' AND NOT double_activity "
        "ORDER BY id LIMIT 3",
        [who.esat_id],
    )
    rate_before = Decimal(free[1]["rate_esat"])
    filings = [
        (
            free[0]["id"],
            "certificat_emploi",
            {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"},
        ),
        (
            free[1]["id"],
            "modification_activite",
            {
                "sens": "reduction",
                "date_changement": TODAY.isoformat(),
                "taux_avant": str(rate_before),
                "nouveau_taux": str(rate_before / 2),
                "certification": True,
            },
        ),
        (free[2]["id"], "depart_esat", {"date_depart": TODAY.isoformat(), "motif_depart": "demission"}),
    ]
    forbidden: set[str] = set()
    for worker_id, form_id, payload in filings:
        decl = declarations.submit(store, env, who, worker_id, forms[form_id], payload, f"priv-08-{form_id}")
        for field in forms[form_id].fields:
            value = decl.values.get(field.id)
            if field.type in ("amount", "rate") and value is not None:
                forbidden |= {fmt.value(field.type, value), str(value), str(value).replace(".", ",")}
            elif field.type == "choice" and value is not None:
                forbidden |= {value, *(o.label for o in options(field) if o.value == value)}
    forbidden = {plain(v) for v in forbidden}
    assert {"1 100,50 €", "Démission / départ à l'initiative du travailleur", "demission"} <= forbidden

    delivered = sorted(Path(env.outbox).glob("*.eml"))
    assert len(delivered) == 3
    for path in delivered:
        raw = path.read_bytes()
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
        assert set(msg.keys()) == HEADERS and len(msg.keys()) == len(HEADERS)
        assert [a.addr_spec for a in msg["To"].addresses] == [who.email]
        everything = plain(" ".join([*(str(msg[h]) for h in msg), msg.get_content()]))
        for value in forbidden:
            assert not re.search(rf"(?<![\w,.]){re.escape(value)}(?![\w,.])", everything), value
        assert not re.search(r"€|%|\beuros?\b|\btaux\b|\bmotif\b|\bmontant\b", everything, re.IGNORECASE)


def plain(text: str) -> str:
    """``text`` with its no-break spaces (French formats) as spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")
