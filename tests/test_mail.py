"""The accusé de réception email: a real SMTP server, the outbox, header injection, privacy."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.config import Settings, load_settings
from services.mail import build_ack, deliver
from tests.smtp import Collector, smtp_server

RECIPIENT = "direction@esat-exemple.fr"
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
