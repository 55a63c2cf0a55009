"""The accusé de réception email of a declaration and of a batch of declarations, the account
e-mails (provisional password, reset link), and their delivery (SMTP or outbox folder).

The email says what was received, for which worker (name only), when and under which
reference; it carries no declared value (no amount, rate or reason): those stay in the PDF
justificatif, downloadable from the Espace ESAT. Every value is reduced to one line of
printable characters before use, so no value can add a header or a line to the message; in
the headers, no RFC 2047 encoded word either (``header_text``), and the written message is
parsed back before it is handed over (``_check_written``).
"""

from __future__ import annotations

import contextlib
import email.errors
import email.policy
import email.utils
import functools
import os
import re
import smtplib
import tempfile
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from forms import fmt
from services.config import Settings

SENDER_NAME = "Espace ESAT"
DEFAULT_SENDER = "ne-pas-repondre@espace-esat.example.org"  # services.config's default too
RECEIPT_HEADER = "X-Espace-ESAT-Recu"  # the receipt number, for the outbox file name
BATCH_HEADER = "X-Espace-ESAT-Lot"  # the reference of a batch, for the outbox file name
SMTP_TIMEOUT = 10  # seconds

_LINE_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9-]")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def one_line(value: object, limit: int = 200) -> str:
    """``value`` as one line: line breaks and tabs become spaces, control, format and
    surrogate characters are dropped, spaces are collapsed, and the text is cut at ``limit``."""
    out: list[str] = []
    for ch in str(value):
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif unicodedata.category(ch)[0] != "C":  # Cc, Cf, Cs, Co, Cn
            out.append(ch)
    return " ".join("".join(out).split())[:limit]


def header_text(value: object, limit: int = 200) -> str:
    """``value`` as one line (``one_line``) in which no RFC 2047 encoded word can be read:
    ``=?`` becomes ``= ?``. The email package of Python up to 3.11.9 decodes such a word when
    a header is set and writes a CR LF found inside it back as is, which starts a new header
    (CVE-2024-6923): ``=?utf-8?q?=0D=0ABcc:_x@y.z?=`` is printable, and would add a Bcc."""
    return one_line(value, limit).replace("=?", "= ?")


@functools.lru_cache(maxsize=8)
def _sender(mail_from: str) -> tuple[Address, str]:
    """(From address, domain of the Message-ID) from the configured sender: one address, with
    or without a display name. Anything else (several addresses, a header, an encoded word, a
    domain that is not one) gives ``DEFAULT_SENDER``: a bad setting can neither add an address
    nor send from a mangled one."""
    try:
        header = email.policy.default.header_factory("From", one_line(mail_from, 254))
        (address,) = header.addresses
        valid = not header.defects and bool(address.username) and bool(_DOMAIN.match(address.domain))
    except (ValueError, email.errors.HeaderParseError):  # none or several addresses, CR/LF
        valid = False
    if not valid:
        address = Address(addr_spec=DEFAULT_SENDER)
    name = header_text(address.display_name, 100) or SENDER_NAME
    return Address(display_name=name, addr_spec=address.addr_spec), address.domain


def _recipient(recipient: str) -> str:
    """One plain address (``nom@domaine``); anything else is refused, so that a malformed
    account address can neither add recipients nor pass unnoticed."""
    text = one_line(recipient, 254)
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, email.errors.HeaderParseError) as exc:  # "" raises IndexError
        raise ValueError(f"adresse du destinataire invalide : {text!r}") from exc
    if not address.addr_spec.isascii() or not _DOMAIN.match(address.domain):
        raise ValueError(f"adresse du destinataire invalide : {text!r}")
    return address.addr_spec


def build_ack(
    *,
    settings: Settings,
    recipient: str,
    receipt_number: str,
    received_at: datetime,
    form_title: str,
    worker_name: str,
    esat_name: str,
) -> EmailMessage:
    """The accusé de réception of one declaration, ready for ``deliver``.

    Raises ``ValueError`` if ``recipient`` is not one plain address; any other value, however
    hostile, is reduced to one printable line (``header_text`` in the headers)."""
    number = one_line(receipt_number, 64)
    title = one_line(form_title)
    number_header = header_text(receipt_number, 64)
    worker = one_line(worker_name)
    esat = one_line(esat_name)
    when = fmt.timestamp(received_at)
    subject = f"Accusé de réception — {header_text(form_title)} — {number_header}"
    msg = _headed(settings, recipient, subject, {RECEIPT_HEADER: number_header})
    msg.set_content(
        "Bonjour,\n"
        "\n"
        "L’Espace ESAT a bien reçu la déclaration suivante :\n"
        "\n"
        f"  Formulaire : {title}\n"
        f"  Travailleur : {worker}\n"
        f"  Établissement : {esat}\n"
        f"  Reçue le : {when}\n"
        f"  Référence (numéro de reçu) : {number}\n"
        "\n"
        "Le justificatif PDF de cette déclaration est téléchargeable dans l’Espace ESAT, "
        "sur la Fiche travailleur. Conservez-le : il prouve le dépôt de la déclaration "
        "auprès de la Caf.\n"
        "\n"
        "Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n"
        "\n"
        "L’Espace ESAT\n"
    )
    _check_written(msg)
    return msg


@dataclass(frozen=True)
class BatchItem:
    """One declaration of a batch, as its accusé de réception lists it."""

    worker_name: str
    allocataire: str
    receipt_number: str
    received_at: datetime  # Europe/Paris


def build_batch_ack(
    *,
    settings: Settings,
    recipient: str,
    reference: str,
    form_title: str,
    esat_name: str,
    items: Sequence[BatchItem],
) -> EmailMessage:
    """One accusé de réception for the declarations of a batch filed together, ready for ``deliver``:
    each line names the worker, the numéro d'allocataire and the receipt number (no declared value).

    ``reference`` identifies the batch (outbox file name, subject). Same hardening as
    ``build_ack``: ``ValueError`` if ``recipient`` is not one plain address; every value is reduced
    to one printable line (``header_text`` in the headers), and the written message is parsed back."""
    if not items:
        raise ValueError("accusé de réception d'un lot vide")
    title = one_line(form_title)
    esat = one_line(esat_name)
    ref_header = header_text(reference, 64)
    count = len(items)
    first, last = min(i.received_at for i in items), max(i.received_at for i in items)
    one = count == 1
    if fmt.timestamp(first) == fmt.timestamp(last):
        when = f"{'Reçue' if one else 'Reçues'} le : {fmt.timestamp(first)}"
    else:
        when = f"Reçues : du {fmt.timestamp(first)} au {fmt.timestamp(last)}"
    lines = [
        f"  {n}. {one_line(i.worker_name)} — n° allocataire {one_line(i.allocataire, 20)} — "
        f"reçu n° {one_line(i.receipt_number, 64)}"
        for n, i in enumerate(items, start=1)
    ]
    what = "la déclaration suivante" if one else f"les {count} déclarations suivantes, transmises ensemble"
    plural = "déclaration" if one else "déclarations"
    subject = f"Accusé de réception — {header_text(form_title)} — {count} {plural} ({ref_header})"
    msg = _headed(settings, recipient, subject, {BATCH_HEADER: ref_header})
    msg.set_content(
        "Bonjour,\n"
        "\n"
        f"L’Espace ESAT a bien reçu {what} :\n"
        "\n"
        f"  Formulaire : {title}\n"
        f"  Établissement : {esat}\n"
        f"  {when}\n"
        f"  Lot : {one_line(reference, 64)}\n"
        "\n" + "\n".join(lines) + "\n\n"
        "Le justificatif PDF de chaque déclaration est téléchargeable dans l’Espace ESAT, "
        "sur la Fiche travailleur. Conservez-les : ils prouvent le dépôt des déclarations "
        "auprès de la Caf.\n"
        "\n"
        "Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n"
        "\n"
        "L’Espace ESAT\n"
    )
    _check_written(msg)
    return msg


def _headed(
    settings: Settings,
    recipient: str,
    subject: str,
    extra: dict[str, str],
    cls: type[EmailMessage] = EmailMessage,
) -> EmailMessage:
    """A message with the headers every e-mail of the service has (sender, one plain recipient,
    date, id, ``Auto-Submitted``: RFC 3834, no automatic reply), ``subject`` and ``extra``."""
    sender, domain = _sender(settings.mail_from)
    msg = cls(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = _recipient(recipient)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    for name, value in extra.items():
        msg[name] = value
    msg["Auto-Submitted"] = "auto-generated"
    return msg


class AccountMail(EmailMessage):
    """An account e-mail (provisional password, reset link): ``deliver`` names its outbox file
    ``compte-<uuid>.eml``, never after its recipient or its content."""


def _body_text(body: str, limit: int = 20_000) -> str:
    """``body`` with its line breaks kept (as LF) and every other control, format or surrogate
    character dropped: no value can smuggle a raw CR, a NUL or a bidirectional override."""
    lines = str(body).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = ["".join(ch for ch in line if ch == "\t" or unicodedata.category(ch)[0] != "C") for line in lines]
    return "\n".join(kept)[:limit].rstrip("\n") + "\n"


def build_account_mail(*, settings: Settings, recipient: str, subject: str, body: str) -> EmailMessage:
    """An e-mail about an account (provisional password, reset link), ready for ``deliver``.

    Same header safety as ``build_ack``: ``recipient`` must be one plain address (``ValueError``
    otherwise), the subject is one printable line without encoded word, and the written message
    is parsed back before it is handed over. No receipt header; ``Auto-Submitted`` is set."""
    msg = _headed(settings, recipient, header_text(subject) or "Espace ESAT", {}, AccountMail)
    msg.set_content(_body_text(body))
    _check_written(msg)
    return msg


def _check_written(msg: EmailMessage) -> None:
    """Raise ``ValueError`` unless the bytes of ``msg`` parse back to the headers it was built
    with: whatever flaw of the email package a value may meet, a message with a header we did
    not write is never sent."""
    written = BytesHeaderParser(policy=email.policy.default).parsebytes(msg.as_bytes())
    if written.keys() != msg.keys() or written.defects:
        what = "courriel de compte" if isinstance(msg, AccountMail) else "accusé de réception"
        raise ValueError(f"{what} refusé : en-têtes écrits {written.keys()}")


def deliver(settings: Settings, msg: EmailMessage) -> str:
    """Send ``msg`` through the configured SMTP server and return ``"smtp"``; without one,
    write it to ``settings.outbox/<receipt number>.eml`` (a batch's: ``<its reference>.eml``, an
    account e-mail: ``compte-<uuid>.eml``) and return that path."""
    if settings.smtp_host and settings.smtp_port:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.send_message(msg)
        return "smtp"
    folder = Path(settings.outbox)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(msg, AccountMail):
        stem = f"compte-{uuid.uuid4().hex}"
    else:
        reference = msg.get(RECEIPT_HEADER) or msg.get(BATCH_HEADER) or ""
        stem = _UNSAFE_FILENAME.sub("", str(reference))[:64] or f"accuse-{uuid.uuid4().hex}"
    target = folder / f"{stem}.eml"
    _write_atomically(target, msg.as_bytes())
    return str(target)


def _write_atomically(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
