"""The justificatifs of many declarations at once: one ZIP, one combined PDF, and an accessible
HTML version of each.

``receipt_data`` reads what a justificatif prints (values, frozen
derived values, ESAT identity, Caf name, author, the receipt a rectificatif replaces, campaign),
for any number of declarations in a few queries, and adds where the code can be checked
(``{base_url}/verification``). Every download is audited; the audit row names receipt numbers,
never a person.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from data.store import Store
from forms import fmt
from services import audit, declarations, partner, pdf
from services.accounts import Account
from services.clock import to_paris
from services.config import Settings

COMBINED_NAME = "justificatifs.pdf"


def verify_url(settings: Settings) -> str:
    """The public page where anyone checks a justificatif's receipt number and code."""
    return f"{settings.base_url}/verification"


def receipt_pdf(store: Store, settings: Settings, account: Account, declaration_id: int) -> bytes:
    """The justificatif of one declaration (of the account's ESAT, or the agent's Caf), rebuilt
    from the stored record; audited."""
    data = receipt_data(store, settings, account, [declaration_id])[0]
    audit.log(store, account.id, "pdf_downloaded", data.receipt_number)
    return pdf.render_receipt(data)


def receipt_data(
    store: Store, settings: Settings, account: Account, declaration_ids: Sequence[int]
) -> list[pdf.ReceiptData]:
    """What the justificatif of each declaration prints, in the order given (a repeated id once).

    Declarations of the account's ESAT (of the agent's Caf for a Caf agent, as
    ``declarations.get``); any other id raises :class:`partner.NotAllowed` and nothing is read.
    """
    ids = list(dict.fromkeys(int(i) for i in declaration_ids))
    if not ids:
        return []
    condition, scope = partner.scope(account)
    marks = ", ".join("?" * len(ids))
    with store.transaction() as tx:  # one consistent read (PostgreSQL: one connection)
        rows = tx.all(
            "SELECT d.*, a.display_name AS author FROM declaration d "  # noqa: S608 (only marks)
            f"LEFT JOIN account a ON a.id = d.author_id WHERE d.{condition} AND d.id IN ({marks})",
            [scope, *ids],
        )
        if len(rows) != len(ids):
            raise partner.NotAllowed("déclaration inconnue")
        value_rows = tx.all(
            "SELECT declaration_id, field_id, number, day, text FROM declaration_value "  # noqa: S608
            f"WHERE declaration_id IN ({marks})",
            ids,
        )
        worker_ids = sorted({r["worker_id"] for r in rows})
        workers = {
            w["id"]: w
            for w in tx.all(
                "SELECT id, caf_code, allocataire, last_name, first_name, birth_date FROM worker "  # noqa: S608
                f"WHERE {condition} AND id IN ({', '.join('?' * len(worker_ids))})",
                [scope, *worker_ids],
            )
        }
        replaced_ids = sorted({r["replaces_id"] for r in rows if r["replaces_id"] is not None})
        replaced = {
            r["id"]: r
            for r in (
                tx.all(
                    "SELECT id, receipt_number, received_at FROM declaration "  # noqa: S608
                    f"WHERE {condition} AND id IN ({', '.join('?' * len(replaced_ids))})",
                    [scope, *replaced_ids],
                )
                if replaced_ids
                else []
            )
        }
        cafs = {c["code"]: c["name"] for c in tx.all("SELECT code, name FROM caf")}
    if len(workers) != len(worker_ids) or len(replaced) != len(replaced_ids):
        raise partner.NotAllowed("déclaration inconnue")  # as receipt_pdf: worker or original out of scope
    esats = {
        esat_id: partner.esat_identity(store, esat_id) for esat_id in sorted({r["esat_id"] for r in rows})
    }

    values: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for v in value_rows:
        values[v["declaration_id"]].append(v)
    by_id = {r["id"]: r for r in rows}
    url = verify_url(settings)
    out = []
    for declaration_id in ids:
        row = by_id[declaration_id]
        decl = declarations.from_row(row, values[declaration_id])
        form = declarations.form_of(decl)
        worker = workers[decl.worker_id]
        if decl.derived is not None:
            derived = {d["id"]: d["value"] for d in decl.derived}
        else:  # filed before derived values were frozen: computed from the timeline, as receipt_pdf
            full = partner.get_worker(store, account, decl.worker_id)
            derived = declarations.stored_derived(store, decl, form, full)
        esat = esats[decl.esat_id]
        original = replaced.get(decl.replaces_id) if decl.replaces_id is not None else None
        out.append(
            pdf.ReceiptData(
                receipt_number=decl.receipt_number,
                received_at=decl.received_at,
                form=form,
                values=decl.values,
                derived=derived,
                esat_name=esat.legal_name,
                esat_address=f"{esat.name}, {esat.address}",
                esat_siret=esat.siret,
                caf_name=cafs.get(worker["caf_code"]) or worker["caf_code"],
                worker_name=f"{worker['last_name']} {worker['first_name']}",
                allocataire=worker["allocataire"],
                birth_date=worker["birth_date"],
                author=row["author"] or "",
                verification_code=decl.verification_code,
                campaign_label=declarations.campaign_label(decl.campaign),
                replaces=(
                    f"Remplace le justificatif n° {original['receipt_number']} reçu le "
                    f"{fmt.timestamp(to_paris(original['received_at']))}"
                    if original is not None
                    else None
                ),
                verify_url=url,
            )
        )
    return out


def combined_pdf(store: Store, settings: Settings, account: Account, declaration_ids: Sequence[int]) -> bytes:
    """One PDF of the justificatifs, each from a new page (audited)."""
    receipts = _receipts(store, settings, account, declaration_ids)
    document = pdf.render_receipts(receipts)
    audit.log(store, account.id, "pdf_combined_downloaded", _range(receipts))
    return document


def zip_of(store: Store, settings: Settings, account: Account, declaration_ids: Sequence[int]) -> bytes:
    """A ZIP of the justificatifs: ``<receipt number>.pdf`` each, and ``justificatifs.pdf``, all of
    them in one PDF. Members are dated by their receipt (the same declarations give the same
    names and dates). One audit row for the download."""
    receipts = _receipts(store, settings, account, declaration_ids)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for data in receipts:
            archive.writestr(
                _member(f"{data.receipt_number}.pdf", data.received_at), pdf.render_receipt(data)
            )
        latest = max(data.received_at for data in receipts)
        archive.writestr(_member(COMBINED_NAME, latest), pdf.render_receipts(receipts))
    audit.log(store, account.id, "pdf_zip_downloaded", _range(receipts))
    return buffer.getvalue()


def _receipts(
    store: Store, settings: Settings, account: Account, declaration_ids: Sequence[int]
) -> list[pdf.ReceiptData]:
    receipts = receipt_data(store, settings, account, declaration_ids)
    if not receipts:
        raise ValueError("aucune déclaration")
    return receipts


def _member(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _range(receipts: list[pdf.ReceiptData]) -> str:
    """The audit reference of a download: how many, and the first and last receipt numbers."""
    first, last = receipts[0].receipt_number, receipts[-1].receipt_number
    return f"{len(receipts)}:{first}..{last}" if len(receipts) > 1 else first


def receipt_html(store: Store, settings: Settings, account: Account, declaration_id: int) -> str:
    """The accessible HTML version of a declaration's justificatif (audited as the PDF is)."""
    data = receipt_data(store, settings, account, [declaration_id])[0]
    page = render_html(data)
    audit.log(store, account.id, "html_downloaded", data.receipt_number)
    return page


NUMERIC = ' class="num"'  # a value cell of an amount or a rate, aligned right
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;
background:#fff;line-height:1.5;margin:0}
main{max-width:46rem;margin:0 auto;padding:1.5rem}
.service{color:#3c3c6e;font-weight:bold;margin:0}
h1{font-size:1.6rem;margin:.25rem 0}
h2{font-size:1.2rem;border-bottom:1px solid #a0a0a0;margin-top:1.75rem}
.receipt{background:#eceff8;padding:.75rem 1rem}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-style:italic;color:#444;padding-bottom:.25rem}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #c8c8c8}
thead th{background:#eceff8}
tbody th{font-weight:normal;color:#3d3d3d}
td.num{text-align:right;white-space:nowrap}
.code{font-weight:bold}
@media print{main{max-width:none;padding:0}}
""".strip()


def render_html(data: pdf.ReceiptData) -> str:
    """A standalone, accessible page with the texts of the PDF justificatif (``pdf.receipt_content``):
    French, one title, a heading per section, tables with captions and header cells. Every text
    is escaped; the page loads nothing (inline style, no script, no image)."""
    c = pdf.receipt_content(data)

    def e(text: str) -> str:
        return html.escape(text, quote=True)

    def identity(caption: str, rows: list[tuple[str, str]]) -> str:
        body = "".join(
            f'<tr><th scope="row">{e(label)}</th><td>{e(value)}</td></tr>' for label, value in rows
        )
        return f"<table><caption>{e(caption)}</caption><tbody>{body}</tbody></table>"

    def values(caption: str, rows: list[tuple[str, str, bool]]) -> str:
        body = (
            "".join(
                f'<tr><th scope="row">{e(label)}</th><td{NUMERIC if numeric else ""}>{e(value)}</td></tr>'
                for label, value, numeric in rows
            )
            or '<tr><td colspan="2">Aucune valeur</td></tr>'
        )
        return (
            f"<table><caption>{e(caption)}</caption>"
            '<thead><tr><th scope="col">Rubrique</th><th scope="col">Valeur</th></tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(c.title)} — reçu n° {e(c.number)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<p class="service">{e(pdf.HEADER)}</p>',
        f"<h1>{e(c.title)}</h1>",
        f"<p>{e(c.form_title)}</p>",
        f'<p class="receipt"><strong>Numéro de reçu : {e(c.number)}</strong><br>{e(c.received)}</p>',
        *(f"<p><strong>{e(note)}</strong></p>" for note in (c.campaign, c.replaces) if note),
        "<h2>Établissement</h2>",
        identity("Établissement déclarant et Caf destinataire", c.establishment),
        "<h2>Travailleur</h2>",
        identity("Travailleur concerné par la déclaration", c.worker),
        "<h2>Valeurs déclarées</h2>",
        values("Valeurs déclarées, dans l'ordre du formulaire", c.values),
    ]
    if c.derived:
        parts += [
            "<h2>Informations calculées</h2>",
            values("Informations calculées à partir des valeurs déclarées (indicatives)", c.derived),
        ]
    parts += [
        f"<p>{e(c.form_line)}<br>{e(c.author_line)}</p>",
        f'<p class="code">{e(c.code_line)}</p>',
        *([f"<p>{e(c.verify_line)}</p>"] if c.verify_line else []),
        f"<p>{e(pdf.NOTICE)}</p>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
