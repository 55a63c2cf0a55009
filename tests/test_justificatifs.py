"""The justificatifs of a batch: one ZIP, one combined PDF, an accessible HTML version of each."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from html.parser import HTMLParser

import pytest

from data.demo import AGENT_LOGIN, DEMO_ESAT_ID
from data.store import Store
from services import declarations, justificatifs, partner, pdf
from services.config import Settings
from tests.apptest import button, no_legacy_pages, texts
from tests.test_pages import fill, logged_in, select_and_choose, to_workers
from tests.test_pdf import long_form, read, receipt, text_of
from tests.test_services import VALID, account, form, other_esat_declaration
from tests.test_timeline import change, fresh_worker

__all__ = ["no_legacy_pages"]  # AppTest without the legacy pages/ mode, as the server runs

# -- helpers ---------------------------------------------------------------------------------


def without_certificat(store: Store, n: int) -> list[int]:
    rows = store.all(
        "SELECT id FROM worker w WHERE esat_id = ? AND status = 'ACTIVE' AND NOT EXISTS "
        "(SELECT 1 FROM declaration d WHERE d.worker_id = w.id AND d.campaign = 2026) ORDER BY id LIMIT ?",
        [DEMO_ESAT_ID, n],
    )
    assert len(rows) == n
    return [r["id"] for r in rows]


def file_certificats(store: Store, env: Settings, n: int) -> list[declarations.Declaration]:
    me = account(store)
    return [
        declarations.submit(store, env, me, worker, form(), dict(VALID), f"lot-{worker}")
        for worker in without_certificat(store, n)
    ]


def audit_refs(store: Store, action: str) -> list[str]:
    return [
        r["object_ref"]
        for r in store.all("SELECT object_ref FROM audit_log WHERE action = ? ORDER BY id", [action])
    ]


def zip_time(at: datetime) -> tuple[int, ...]:
    """A time as a ZIP member keeps it (MS-DOS format: even seconds)."""
    return (at.year, at.month, at.day, at.hour, at.minute, at.second // 2 * 2)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


class Page(HTMLParser):
    """What a test reads of an HTML page: tags with their attributes, headings, table rows, text."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.captions: list[str] = []
        self.text: list[str] = []
        self._open: list[str] = []
        self._buffer: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        if tag in ("h1", "h2", "th", "td", "caption", "title"):
            self._open.append(tag)
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()
            content = "".join(self._buffer)
            if tag in ("h1", "h2"):
                self.headings.append((tag, content))
            elif tag in ("th", "td"):
                self.rows[-1].append(content)
            elif tag == "caption":
                self.captions.append(content)

    def handle_data(self, data: str) -> None:
        self._buffer.append(data)
        self.text.append(data)


# -- ZIP and combined PDF ----------------------------------------------------------------------


def test_the_zip_holds_one_pdf_per_declaration_and_the_combined_pdf(env, store):
    filed = file_certificats(store, env, 3)
    me = account(store)
    data = justificatifs.zip_of(store, env, me, [d.id for d in filed])

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [f"{d.receipt_number}.pdf" for d in filed] + ["justificatifs.pdf"]
        members = {name: archive.read(name) for name in names}
        dates = {info.filename: info.date_time for info in archive.infolist()}
    pages = 0
    for decl in filed:
        member = members[f"{decl.receipt_number}.pdf"]
        text = text_of(member)
        assert f"Numéro de reçu : {decl.receipt_number}" in text
        assert f"Code de vérification : {decl.verification_code}" in text
        assert "1 100,50 €" in text
        assert dates[f"{decl.receipt_number}.pdf"] == zip_time(decl.received_at)
        pages += len(read(member).pages)
        others = [d.receipt_number for d in filed if d is not decl]
        assert not any(number in text for number in others)
    combined = members["justificatifs.pdf"]
    assert len(read(combined).pages) == pages
    for decl, page in zip(filed, read(combined).pages, strict=True):  # one page each, in order
        assert f"Numéro de reçu : {decl.receipt_number}" in page.extract_text()
        assert f"reçu n° {decl.receipt_number} — page 1/1" in page.extract_text()
    assert dates["justificatifs.pdf"] == zip_time(max(d.received_at for d in filed))

    refs = audit_refs(store, "pdf_zip_downloaded")
    assert refs == [f"3:{filed[0].receipt_number}..{filed[-1].receipt_number}"]
    assert audit_refs(store, "pdf_downloaded") == []  # one row for the download, not one per PDF

    again = justificatifs.zip_of(store, env, me, [d.id for d in filed])
    with zipfile.ZipFile(io.BytesIO(again)) as archive:
        assert [(i.filename, i.date_time) for i in archive.infolist()] == list(dates.items())
    assert len(audit_refs(store, "pdf_zip_downloaded")) == 2


def test_each_justificatif_of_the_combined_pdf_numbers_its_own_pages() -> None:
    long = receipt(
        receipt_number="ESAT-2026-00000100",
        form=long_form(),
        values={f"t{i}": f"valeur{i} " + "mot " * 45 for i in range(30)},
        derived={},
    )
    short = [receipt(receipt_number=f"ESAT-2026-0000010{i}") for i in (1, 2)]
    alone = len(read(pdf.render_receipt(long)).pages)
    assert alone >= 2

    document = read(pdf.render_receipts([short[0], long, short[1]]))
    assert document.metadata is not None and document.metadata.title == "Justificatifs de dépôt"
    footers = [
        re.search(r"reçu n° (\S+) — page (\d+)/(\d+)", page.extract_text()).groups()  # type: ignore[union-attr]
        for page in document.pages
    ]
    assert footers == [
        ("ESAT-2026-00000101", "1", "1"),
        *[("ESAT-2026-00000100", str(i), str(alone)) for i in range(1, alone + 1)],
        ("ESAT-2026-00000102", "1", "1"),
    ]
    with pytest.raises(ValueError):
        pdf.render_receipts([])


def test_the_combined_pdf_is_audited_once(env, store):
    filed = file_certificats(store, env, 2)
    combined = justificatifs.combined_pdf(store, env, account(store), [filed[1].id, filed[0].id])
    pages = read(combined).pages
    assert len(pages) == 2  # in the order asked
    assert f"Numéro de reçu : {filed[1].receipt_number}" in pages[0].extract_text()
    assert f"Numéro de reçu : {filed[0].receipt_number}" in pages[1].extract_text()
    assert audit_refs(store, "pdf_combined_downloaded") == [
        f"2:{filed[1].receipt_number}..{filed[0].receipt_number}"
    ]


def test_another_esats_declaration_is_refused_and_nothing_is_audited(env, store):
    filed = file_certificats(store, env, 1)[0]
    me = account(store)
    foreign = other_esat_declaration(store)["id"]
    before = store.scalar("SELECT count(*) FROM audit_log")
    calls = {
        "receipt_data": lambda ids: justificatifs.receipt_data(store, env, me, ids),
        "zip_of": lambda ids: justificatifs.zip_of(store, env, me, ids),
        "combined_pdf": lambda ids: justificatifs.combined_pdf(store, env, me, ids),
        "receipt_html": lambda ids: justificatifs.receipt_html(store, env, me, ids[-1]),
    }
    for name, call in calls.items():
        for ids in ([foreign], [filed.id, foreign], [filed.id, 10**12]):
            with pytest.raises(partner.NotAllowed):
                call(ids)
                pytest.fail(f"{name} gave {ids}")
    assert store.scalar("SELECT count(*) FROM audit_log") == before
    assert justificatifs.receipt_data(store, env, me, []) == []
    with pytest.raises(ValueError):
        justificatifs.zip_of(store, env, me, [])


def test_an_agent_reads_the_justificatifs_of_the_caf_only(env, store):
    agent = account(store, AGENT_LOGIN)
    own = store.scalar("SELECT min(id) FROM declaration WHERE caf_code = ?", [agent.caf_code])
    other = store.scalar("SELECT min(id) FROM declaration WHERE caf_code <> ?", [agent.caf_code])
    assert [d.receipt_number for d in justificatifs.receipt_data(store, env, agent, [own])] == [
        store.scalar("SELECT receipt_number FROM declaration WHERE id = ?", [own])
    ]
    with pytest.raises(partner.NotAllowed):
        justificatifs.receipt_data(store, env, agent, [own, other])


# -- same content as the justificatif of one declaration ----------------------------------------


def test_receipt_data_prints_what_receipt_pdf_prints(env, store):
    """For each kind of declaration (demo certificats and changes, a filed one, a rectificatif, one
    filed before derived values were frozen): the PDF from the bulk read has the text of
    justificatifs.receipt_pdf, plus the line saying where to check it."""
    me = account(store)
    sample = [
        r["id"]
        for r in store.all(
            "SELECT min(id) AS id FROM declaration WHERE esat_id = ? GROUP BY form_id ORDER BY 1",
            [DEMO_ESAT_ID],
        )
    ]
    assert len(sample) >= 3
    worker = fresh_worker(store)
    first = declarations.submit(store, env, me, worker, form(), dict(VALID), "premier")
    corrected = dict(VALID, remuneration_garantie="1 101,50")
    second = declarations.submit(store, env, me, worker, form(), corrected, "rectif", replaces=first.id)
    change_form = declarations.forms()["modification_activite"]
    other = fresh_worker(store)
    changed = declarations.submit(
        store, env, me, other, change_form, change("15/11/2026", "100", "50"), "changement"
    )
    legacy = file_certificats(store, env, 1)[0]
    store.execute("UPDATE declaration SET derived = NULL WHERE id = ?", [legacy.id])
    ids = [*sample, first.id, second.id, changed.id, legacy.id]

    found = justificatifs.receipt_data(store, env, me, ids)
    assert [d.receipt_number for d in found] == [
        store.scalar("SELECT receipt_number FROM declaration WHERE id = ?", [i]) for i in ids
    ]
    for declaration_id, data in zip(ids, found, strict=True):
        assert data.verify_url == f"{env.base_url}/verification"
        single = text_of(justificatifs.receipt_pdf(store, env, me, declaration_id))
        bulk = text_of(pdf.render_receipt(data))
        assert bulk == single, data.receipt_number
        printed = flat(bulk)
        assert (
            f"Vérifiez ce justificatif sur {env.base_url}/verification avec son numéro de reçu et son code de "
            "vérification." in printed
        )
    assert found[ids.index(second.id)].replaces is not None
    assert first.receipt_number in (found[ids.index(second.id)].replaces or "")
    assert found[ids.index(legacy.id)].derived  # computed from the timeline, as receipt_pdf does


# -- the accessible HTML version ----------------------------------------------------------------


def test_the_html_version_is_an_accessible_page_with_the_values_of_the_pdf(env, store):
    decl = file_certificats(store, env, 1)[0]
    me = account(store)
    page_text = justificatifs.receipt_html(store, env, me, decl.id)
    page = Page(page_text)

    assert page_text.startswith("<!DOCTYPE html>")
    html_tag = next(attrs for tag, attrs in page.tags if tag == "html")
    assert html_tag.get("lang") == "fr"
    titles = [attrs for tag, attrs in page.tags if tag == "title"]
    assert len(titles) == 1 and f"reçu n° {decl.receipt_number}" in page_text.split("</title>")[0]
    assert [text for level, text in page.headings if level == "h1"] == ["Justificatif de certificat d'emploi"]
    assert [text for level, text in page.headings if level == "h2"] == [
        "Établissement",
        "Travailleur",
        "Valeurs déclarées",
        "Informations calculées",
    ]
    tables = sum(tag == "table" for tag, _ in page.tags)
    assert tables == len(page.captions) == 4 and all(page.captions)
    header_cells = [attrs for tag, attrs in page.tags if tag == "th"]
    assert header_cells and all(attrs.get("scope") in ("row", "col") for attrs in header_cells)
    # Nothing is loaded from anywhere: no script, stylesheet link, image or frame.
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "img", "iframe", "object")]
    assert not any("src" in attrs for _, attrs in page.tags)
    assert "url(" not in page_text and "@import" not in page_text

    # Same content as the PDF: every label and value of every table, and the lines around them.
    printed = text_of(justificatifs.receipt_pdf(store, env, me, decl.id))
    content = pdf.receipt_content(justificatifs.receipt_data(store, env, me, [decl.id])[0])
    rows = [row for row in page.rows if row]
    expected = [
        *[[label, value] for label, value in content.establishment + content.worker],
        ["Rubrique", "Valeur"],
        *[[label, value] for label, value, _ in content.values],
        ["Rubrique", "Valeur"],
        *[[label, value] for label, value, _ in content.derived],
    ]
    assert rows == expected
    for label, value in rows:
        if label != "Rubrique":
            assert value.replace("\u00a0", " ").replace("\u202f", " ") in printed
    assert ["Montant brut de la rémunération garantie", "1\u00a0100,50\u00a0€"] in rows
    words = flat(" ".join(page.text))
    for line in (
        f"Numéro de reçu : {decl.receipt_number}",
        f"Reçu le {decl.received_at:%d/%m/%Y à %H:%M}",
        "Campagne 2026 — rémunération de novembre 2026",
        f"Code de vérification : {decl.verification_code}",
        f"Vérifiez ce justificatif sur {env.base_url}/verification",
        "Déclaré par ",
        "preuve du dépôt",
    ):
        assert line in words, line
        assert flat(line).replace("\u00a0", " ") in flat(printed) or line.startswith("Vérifiez"), line
    assert audit_refs(store, "html_downloaded") == [decl.receipt_number]


def test_a_hostile_worker_name_comes_out_inert(env, store):
    decl = file_certificats(store, env, 1)[0]
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & O\'Brien'
    store.execute("UPDATE worker SET last_name = ? WHERE id = ?", [hostile, decl.worker_id])
    page_text = justificatifs.receipt_html(store, env, account(store), decl.id)
    page = Page(page_text)
    assert "<script" not in page_text and "<img" not in page_text
    assert not [tag for tag, _ in page.tags if tag in ("script", "img")]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page_text
    assert [row[1] for row in page.rows if row and row[0] == "Nom et prénom"] == [
        f"{hostile} {store.scalar('SELECT first_name FROM worker WHERE id = ?', [decl.worker_id])}"
    ]


# -- the pages -------------------------------------------------------------------------------


def test_the_end_page_and_the_fiche_offer_the_html_version_beside_the_pdf(env, store):
    at = select_and_choose(to_workers(logged_in()), (1,))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    assert "Votre déclaration a bien été transmise" in texts(at)
    assert [b.label for b in at.download_button] == ["Télécharger", "Version accessible (HTML)"]
    button(at, "Valider").click().run()

    select_and_choose(at, (1,))
    assert [b.label for b in at.download_button] == [
        "Télécharger le justificatif",
        "Version accessible (HTML)",
    ]
