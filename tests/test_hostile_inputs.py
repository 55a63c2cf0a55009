"""Hostile strings against the PDF justificatif (PDF-01) and the accusé de réception (MAIL-01).

PDF-01: 10,000 justificatifs whose every text slot holds a hostile string render without
exception or warning, each parses back with pypdf (a sample is read back whole), the
CVE-2023-33733 canary never fires, and the 95th percentile render time stays under 500 ms.
Justificatif ``i`` is built from ``random.Random(f"{SEED}:{i}")``, so a failure replays alone;
they are shared between two processes when two cores are there (about 10 ms of CPU each).

MAIL-01: line breaks of every kind and header-looking text, in every value given to
``build_ack`` (texts, recipient, sender setting), never give the message a header, a recipient
or a line of body more; checked on the bytes, parsed back by the email package, and on what a
real SMTP server receives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.policy
import io
import logging
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from forms.schema import FormDefinition
from services import pdf as pdf_module
from services.config import load_settings
from services.mail import DEFAULT_SENDER, build_ack, deliver
from services.pdf import ReceiptData, render_receipt
from tests.smtp import Collector, smtp_server
from tests.test_mail import HEADERS, RECIPIENT

__all__ = ["smtp_server"]

SEED = 20_261_206
COUNT = 10_000
P95_LIMIT_MS = 500.0
FORMS = 500  # hostile forms, each justificatif drawing one of them


def reportlab_payload(canary: Path) -> str:
    """The proof of concept of CVE-2023-33733 (reportlab's rl_safe_eval, reached through the
    ``color`` attribute of paragraph markup), made to create ``canary`` if ever evaluated."""
    return (
        "[[[getattr(pow, Word('__globals__'))['os'].system('touch "
        + str(canary)
        + "') for Word in [ orgTypeFun('Word', (str,), { 'mutated': 1, 'startswith': lambda self, x: 1 == 0,"
        " '__eq__': lambda self, x: self.mutated(...) and ... or ..., 'mutate': lambda self: {setattr(self,"
        " 'mutated', self.mutated - 1)}, '__hash__': lambda self: hash(str(self)), }, ) ] ] for orgTypeFun"
        " in [type(type(1))] for none in [[].append(1)]]] and 'red'"
    )


def canary_payloads(canary: Path) -> list[str]:
    """Strings that would create ``canary`` if any layer evaluated or interpreted them."""
    payload = reportlab_payload(canary)
    python = f"__import__('os').system('touch {canary}')"
    return [
        payload,
        f'<para><font color="{payload}">exploit</font></para>',
        f'<font color="{payload}">x</font>',
        f"<para color='{python}'>x</para>",
        python,
        f"{{{python}}}",
        f"{{{{ {python} }}}}",
        f"${{{python}}}",
        f"`touch {canary}`",
        f"$(touch {canary})",
        f"; touch {canary} ;",
        f"%({python})s",
    ]


FIXED = [
    "",
    " ",
    "\u00a0\u202f\u2009\u3000",
    'O\'Brien "Le Grand" (dit \\Bob\\) ) ( \\',
    "\\) Tj ET BT /F1 99 Tf (injected) Tj",
    "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj trailer << /Root 1 0 R >> %%EOF",
    "<para>texte</para>",
    '<font name="Courier" size="40" color="red">x</font>',
    "<b>gras</b> <i>italique</i> <u>souligné</u> <br/> <img src='x' onerror='alert(1)'/>",
    "**gras** __souligné__ --barré-- ~~x~~ [lien](javascript:alert(1))",
    "{nb} {{nb}} {0} %s %d %(x)s ${x} {{7*7}}",
    "\x00",
    "a\x00b\x00c",
    "".join(chr(c) for c in range(32)) + "\x7f" + "".join(chr(c) for c in range(0x80, 0xA0)),
    "a\r\nBcc: victim@example.org\r\n\r\nbody",
    "\rCc: x@evil.example\n",
    "\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e\t",
    "\u202eRTL override\u202c \u202dLTR\u202c \u2066isolate\u2069 \u2067\u2068\u200e\u200f\u061c",
    "\u202e" * 50 + "fin",
    "\u200b\u200c\u200d\u2060\ufeff zero width",
    "e\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030a" * 30,
    "😀🎉👨‍👩‍👧‍👦🏳️‍🌈🇫🇷 emoji",
    "中文 日本語 한국어 עברית العربية हिन्दी ไทย ქართული",
    "\U0001d400\U0001d4d0\U0001d56c mathématiques",
    "\U000e0001\U000e0041\U000e007f tags",
    "\ue000\ue000\ue000 alias de pagination",
    "\uf8ff\U000f0000\U0010fffd privé",
    "\ufffe\uffff\ufdd0 non-caractères",
    "\ufe0f\ufe0e\U000e0100 sélecteurs",
    "\ud800 surrogate \udfff",
    "a" * 159 + "\u0301",
    "=cmd|' /C calc'!A0",
    "../../etc/passwd",
    "DUPONT Zoé ÙŻŸ Ÿvonne ŒUF Łukasz Şerban Ștefan",
    "’ € œ Œ – — … « » ç É ‰ ‹ ›",
]

# Far past every length limit (160 to 1,000 characters printed): cut with "…".
LONG = [
    "\U0001f600" * 3000,
    "W" * 10_000,
    "é" * 5000,
    "mot " * 3000,
    "…" * 2000,
    "-" * 1000,
    "Z\u0351\u0360\u0361\u036f\u0489" * 200,
    "\u200b" * 20_000 + "après vingt mille espaces de largeur nulle",
    "a" * 159 + "\u0301" * 100,
]

_WORDS = ["ESAT", "Caf", "Zoé", "Łukasz", "l’atelier", "«", "»", "—", "12", "€", "%", "\u00a0", "rue"]

_SHORT = [s for s in FIXED if len(s) <= 20] + _WORDS + ["\U0001f600", "\u202e", "\x00", "\r\n", "e\u0301"]


def _random_code_points(rng: random.Random, n: int) -> str:
    """``n`` code points from all 17 planes, surrogates excluded."""
    out = []
    while len(out) < n:
        c = rng.randrange(17) * 0x10000 + rng.randrange(0x10000)
        if not 0xD800 <= c <= 0xDFFF:
            out.append(chr(c))
    return "".join(out)


# Mostly Latin text salted with controls, bidi and format characters, combining marks,
# punctuation and spaces of every kind, CJK, and words (groups of similar weight).
_MIX = [
    *(chr(c) for c in range(0x20, 0x7F)),
    *(chr(c) for c in range(0xA0, 0x250)),
    *[chr(c) for c in range(0x00, 0x20)] * 3,
    *(chr(c) for c in range(0x300, 0x370)),
    *("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c" * 8),
    *(chr(c) for c in range(0x2000, 0x2070)),
    *(chr(c) for c in range(0x4E00, 0x4F00)),
    *(_WORDS * 8),
]


def _random_bmp_mix(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_MIX, k=n))


def hostile(rng: random.Random, payloads: list[str]) -> str:
    """One hostile string: known nasty ones, random code points of every plane, text salted
    with controls and marks, mixtures, and (one time in twenty) a string far past any limit."""
    kind = rng.randrange(20)
    if kind < 2:
        return rng.choice(payloads)
    if kind < 7:
        return rng.choice(FIXED)
    if kind < 11:
        return _random_code_points(rng, rng.randint(1, 40))
    if kind < 16:
        return _random_bmp_mix(rng, rng.randint(1, 60))
    if kind < 19:
        return "".join(
            rng.choice(
                [
                    rng.choice(_SHORT),
                    rng.choice(payloads),
                    _random_code_points(rng, 8),
                    _random_bmp_mix(rng, 20),
                ]
            )
            for _ in range(rng.randint(2, 4))
        )
    return rng.choice(
        [
            rng.choice(LONG),
            (rng.choice(_SHORT) or "x") * rng.randint(50, 2000),  # up to 40,000 characters
            " ".join(rng.choice(_WORDS) for _ in range(rng.randint(50, 400))),
        ]
    )


def hostile_form(text: Callable[[], str]) -> FormDefinition:
    """A form whose every label is hostile, with one field of each type and both derived kinds."""
    return FormDefinition.model_validate(
        {
            "id": "hostile",
            "version": 1,
            "title": text(),
            "summary": text(),
            "window": "always",
            "fields": [
                {"id": "texte", "type": "text", "label": text()},
                {
                    "id": "choix",
                    "type": "choice",
                    "label": text(),
                    "options": [{"value": "a", "label": text()}, {"value": "b", "label": text()}],
                },
                {"id": "montant", "type": "amount", "label": text()},
                {"id": "taux", "type": "rate", "label": text()},
                {"id": "jour", "type": "date", "label": text()},
                {"id": "oui_non", "type": "yesno", "label": text()},
                {"id": "autre", "type": "text", "label": text()},
            ],
            "derived": [
                {"id": "pct", "label": text(), "compute": "smic_percentage", "field": "montant"},
                {"id": "bande", "label": text(), "compute": "abattement_band", "field": "montant"},
            ],
            "receipt": {"title": text()},
        }
    )


def hostile_receipt(
    rng: random.Random, payloads: list[str], forms: list[FormDefinition] | None = None
) -> ReceiptData:
    """A justificatif with a hostile string in every text slot; its form is drawn from
    ``forms`` when given (building a form costs more than drawing it)."""

    def text() -> str:
        return hostile(rng, payloads)

    values: dict[str, Any] = {
        "texte": text(),
        # a choice value outside the options, an amount that is text: printed as received
        "choix": rng.choice(["a", "b", text()]),
        "montant": rng.choice([Decimal("1234.56"), Decimal("-0.01"), Decimal("1E+30"), text()]),
        "taux": rng.choice([Decimal("62.5"), Decimal("0"), text()]),
        "jour": rng.choice([date(2028, 2, 29), text()]),
        "oui_non": rng.choice([True, False, text()]),
        "autre": text(),
    }
    return ReceiptData(
        receipt_number=text(),
        received_at=datetime(2026, 12, 3, 14, 5),
        form=rng.choice(forms) if forms else hostile_form(text),
        values=values,
        derived={"pct": text(), "bande": text()},
        esat_name=text(),
        esat_address=text(),
        esat_siret=text(),
        caf_name=text(),
        worker_name=text(),
        allocataire=text(),
        birth_date=date(1990, 5, 17),
        author=text(),
        verification_code=text(),
        campaign_label=rng.choice([None, text()]),
    )


class _Collect(logging.Handler):
    """The warnings fpdf2 and services.pdf log meanwhile (e.g. a glyph missing from a font)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    @contextlib.contextmanager
    def attached(self) -> Iterator[_Collect]:
        loggers = [logging.getLogger("fpdf"), logging.getLogger(pdf_module.__name__)]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)


SHARED_CANARY = Path("/tmp/esat_pdf_canary")  # the path of the published proof of concept


@dataclasses.dataclass
class Share:
    """What one process found rendering its share of the justificatifs."""

    durations: list[float] = dataclasses.field(default_factory=list)  # ms
    failures: list[str] = dataclasses.field(default_factory=list)
    pages: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)


def render_share(share: int, shares: int, canary: Path) -> Share:
    """Render justificatifs number ``share``, ``share + shares``… below ``COUNT``. Justificatif
    ``i`` comes from ``random.Random(f"{SEED}:{i}")`` whatever the number of processes, so a
    failure replays alone; its form is one of ``FORMS`` hostile forms (seeded too)."""
    warnings.simplefilter("error")  # as pytest's filterwarnings = error, in a worker process
    payloads = canary_payloads(canary) + canary_payloads(SHARED_CANARY)
    forms_rng = random.Random(f"{SEED}:forms")
    forms = [hostile_form(lambda: hostile(forms_rng, payloads)) for _ in range(FORMS)]
    render_receipt(hostile_receipt(random.Random(f"{SEED}:warm-up"), payloads, forms))  # loads the fonts
    found = Share()
    with _Collect().attached() as collected:
        for i in range(share, COUNT, shares):
            data = hostile_receipt(random.Random(f"{SEED}:{i}"), payloads, forms)
            start = time.perf_counter()
            try:
                pdf = render_receipt(data)
            except Exception as exc:
                found.failures.append(f"#{i}: {type(exc).__name__}: {exc}"[:300])
                continue
            found.durations.append((time.perf_counter() - start) * 1000)
            reader = PdfReader(io.BytesIO(pdf), strict=True)
            pages = len(reader.pages)
            found.pages += pages
            if not pdf.startswith(b"%PDF-") or pages < 1:
                found.failures.append(f"#{i}: {pages} page(s)")
            if i % 250 == 0:  # a sample is read back completely (text extraction is slow)
                text = "\n".join(page.extract_text() for page in reader.pages)
                if "Code de vérification" not in text or f"page {pages}/{pages}" not in text:
                    found.failures.append(f"#{i}: text not read back")
    found.warnings = collected.messages
    return found


def _stamp(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def test_ten_thousand_hostile_receipts_render_as_valid_pdfs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "esat_pdf_canary"
    shared_before = _stamp(SHARED_CANARY)  # touch would create it, or change its time
    # One process per core, two at most: the renders are independent and CPU-bound.
    shares = max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
    started = time.perf_counter()
    if shares == 1:
        results = [render_share(0, 1, canary)]
    else:
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
        # After an AppTest, __main__ is app.py: a spawned child would run it again on start.
        monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        with ProcessPoolExecutor(shares, mp_context=spawn) as pool:
            results = list(pool.map(render_share, range(shares), [shares] * shares, [canary] * shares))
    elapsed = time.perf_counter() - started

    failures = [f for r in results for f in r.failures]
    durations = [d for r in results for d in r.durations]
    assert failures == [], failures[:20]
    assert len(durations) == COUNT
    assert not canary.exists()
    assert _stamp(SHARED_CANARY) == shared_before
    assert [
        w for r in results for w in r.warnings
    ] == []  # e.g. missing glyphs: nothing reached fpdf2 unclean
    p95 = statistics.quantiles(durations, n=100, method="inclusive")[94]
    with capsys.disabled():
        print(
            f"\nPDF-01: {COUNT} hostile justificatifs ({sum(r.pages for r in results)} pages) in "
            f"{elapsed:.0f} s on {shares} process(es); render p50 {statistics.median(durations):.1f} ms, "
            f"p95 {p95:.1f} ms, max {max(durations):.1f} ms"
        )
    assert p95 < P95_LIMIT_MS


def test_the_canary_would_fire_if_a_payload_were_evaluated(tmp_path: Path) -> None:
    """The canary check above can fail: evaluating the Python payload creates the file."""
    canary = tmp_path / "esat_pdf_canary"
    python_payload = canary_payloads(canary)[4]
    subprocess.run([sys.executable, "-c", python_payload], check=True, timeout=30)
    assert canary.exists()


def test_canary_payloads_are_printed_as_literal_text(tmp_path: Path) -> None:
    canary = tmp_path / "esat_pdf_canary"
    payload = reportlab_payload(canary)
    rng = random.Random(SEED)
    data = hostile_receipt(rng, [payload])
    markup = f'<para><font color="{payload[:60]}">exploit</font></para>'
    pdf = render_receipt(dataclasses.replace(data, worker_name=payload[:150], esat_name=markup))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    text = " ".join(page.extract_text() for page in reader.pages).replace("\n", " ")
    compact = "".join(text.split())
    assert "".join(payload[:150].split()) in compact
    assert "".join(markup.split()) in compact
    assert not canary.exists()


# -- MAIL-01: no value can add a header to the accusé de réception ------------------------------


# Line breaks of every kind (CR LF, CR alone, LF alone, the Unicode separators, NEL, the
# vertical controls), each followed by what would be a header, a folded line, or the body.
BREAKS = [
    "\r\n",
    "\r",
    "\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\r\r\n",
    "\n\r",
]
INJECTIONS = [
    *(f"{brk}Bcc: victim@evil.example" for brk in BREAKS),
    *(f"{brk}{brk}Bcc: victim@evil.example" for brk in ("\r\n", "\n", "\u2028")),
    "\r\n Bcc: victim@evil.example",  # a folded continuation
    "\r\n\tCc: victim@evil.example",
    "\r\nCc: victim@evil.example",
    "\r\nTo: victim@evil.example",
    "\r\nbcc:victim@evil.example",
    "\r\nReply-To: victim@evil.example\r\nSubject: autre",
    "\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nBcc: victim@evil.example",
    "\r\n\r\nBcc: victim@evil.example",  # the end of the headers
    "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=",  # an encoded word hiding CR LF
    "=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGU=?=",
    "\x00\r\nBcc: victim@evil.example",
    "\ud800\r\nBcc: victim@evil.example",
    "\u202e\r\nBcc: victim@evil.example",
    "Bcc: victim@evil.example",  # header-looking text without a break
    "é" * 300 + "\r\nBcc: victim@evil.example",  # long enough to be folded
]
TEXT_FIELDS = ("receipt_number", "form_title", "worker_name", "esat_name")
BODY_LINES = 15  # lines of the accusé de réception's text (str.splitlines)


def ack_bytes(mail_from: str | None = None, **changes: str) -> bytes:
    env = {"ESAT_OUTBOX": "/nonexistent"} | ({"ESAT_MAIL_FROM": mail_from} if mail_from is not None else {})
    args: dict[str, Any] = {
        "settings": load_settings(env),
        "recipient": RECIPIENT,
        "receipt_number": "ESAT-2026-00000042",
        "received_at": datetime(2026, 12, 3, 14, 5),
        "form_title": "Certificat d'emploi",
        "worker_name": "DUPONT Zoé",
        "esat_name": "ESAT Les Ateliers du Rhône",
    }
    return build_ack(**(args | changes)).as_bytes()


def assert_only_expected_headers(raw: bytes, *, sender: str = DEFAULT_SENDER) -> EmailMessage:
    """The message parsed back holds exactly the expected headers, once each, one recipient."""
    msg = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    assert sorted(msg.keys()) == sorted(HEADERS)  # no extra header, none twice
    assert [a.addr_spec for a in msg["To"].addresses] == [RECIPIENT]
    assert [a.addr_spec for a in msg["From"].addresses] == [sender]
    assert msg.defects == []
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^(bcc|cc|reply-to|content-type:\s*multipart)", head)
    assert len(re.findall(rb"(?im)^to:", head)) == 1
    for name in HEADERS - {"Content-Type", "Content-Transfer-Encoding", "MIME-Version"}:
        assert "\n" not in str(msg[name]) and "\r" not in str(msg[name])
    # No value adds a line to the body either, by any line separator a reader may honour.
    lines = msg.get_content().splitlines()
    assert len(lines) == BODY_LINES
    assert not [line for line in lines if re.match(r"\s*(bcc|cc|to)\s*:", line, re.IGNORECASE)]
    return msg


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("injection", INJECTIONS)
def test_no_text_field_can_add_a_header(field: str, injection: str) -> None:
    for value in (injection, f"Valeur{injection}", f"{injection}fin", injection * 3):
        assert_only_expected_headers(ack_bytes(**{field: value}))


def test_all_fields_hostile_at_once() -> None:
    rng = random.Random(SEED)
    for _ in range(300):
        values = {
            field: "".join(rng.choice([*INJECTIONS, "x", "é"]) for _ in range(3)) for field in TEXT_FIELDS
        }
        assert_only_expected_headers(ack_bytes(**values))


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_hostile_recipient_is_refused_or_reduced_to_itself(injection: str) -> None:
    for recipient in (f"{RECIPIENT}{injection}", f"{injection}{RECIPIENT}"):
        try:
            raw = ack_bytes(recipient=recipient)
        except ValueError as exc:
            assert "destinataire" in str(exc)
            continue
        assert_only_expected_headers(raw)  # e.g. a NUL dropped: the plain address remains


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_hostile_sender_setting_gives_the_default_sender(injection: str) -> None:
    for mail_from in (
        f"accueil@esat.example.org{injection}",
        f"Accueil <accueil@esat.example.org>{injection}",
    ):
        raw = ack_bytes(mail_from=mail_from)
        msg = BytesParser(policy=email.policy.default).parsebytes(raw)
        sender = msg["From"].addresses[0].addr_spec
        # Text after the address is either dropped with the controls (the address stays) or
        # makes the setting invalid (the default sender): never a second address or header.
        assert sender in ("accueil@esat.example.org", DEFAULT_SENDER)
        assert_only_expected_headers(raw, sender=sender)


def test_a_valid_sender_setting_is_kept() -> None:
    raw = ack_bytes(mail_from="Accueil ESAT <accueil@esat.example.org>")
    msg = assert_only_expected_headers(raw, sender="accueil@esat.example.org")
    assert str(msg["From"]) == "Accueil ESAT <accueil@esat.example.org>"
    assert msg["Message-ID"].endswith("@esat.example.org>")


def test_hostile_values_reach_the_smtp_server_with_one_recipient(smtp_server: tuple[int, Collector]) -> None:
    port, collector = smtp_server
    config = load_settings(
        {"ESAT_SMTP_HOST": "127.0.0.1", "ESAT_SMTP_PORT": str(port), "ESAT_OUTBOX": "/nonexistent"}
    )
    for injection in INJECTIONS:
        msg = build_ack(
            settings=config,
            recipient=RECIPIENT,
            receipt_number=f"ESAT-2026-00000042{injection}",
            received_at=datetime(2026, 12, 3, 14, 5),
            form_title=f"Certificat{injection}",
            worker_name=f"DUPONT{injection}",
            esat_name=f"ESAT{injection}",
        )
        assert deliver(config, msg) == "smtp"
    assert len(collector.envelopes) == len(INJECTIONS)
    for envelope in collector.envelopes:
        assert envelope.rcpt_tos == [RECIPIENT]
        assert envelope.mail_from == DEFAULT_SENDER
        assert_only_expected_headers(envelope.content)
