"""The PDF justificatif: content, French formats, hostile text, fonts loaded once."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import operator
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from forms.loader import load_all
from forms.schema import FormDefinition
from services import pdf as pdf_module
from services.pdf import ReceiptData, clean, render_receipt

FORM = load_all()["certificat_emploi"]
PUNCTUATION = "’ € œ Œ – — … « » ç É"


def receipt(**changes: object) -> ReceiptData:
    data = ReceiptData(
        receipt_number="ESAT-2026-00000042",
        received_at=datetime(2026, 12, 3, 14, 5),
        form=FORM,
        values={
            "remuneration_garantie": Decimal("1234.56"),
            "aide_au_poste": Decimal("700"),
            "part_esat": Decimal("534.56"),
        },
        derived={"part_esat_pourcentage_smic": "29,81\u00a0%", "tranche_abattement": "50\u00a0%"},
        esat_name="ESAT Les Ateliers du Rhône",
        esat_address="12 rue de la Paix, 69001 Lyon",
        esat_siret="12345678900012",
        caf_name="Caf du Rhône",
        worker_name="DUPONT Zoé",
        allocataire="1234567",
        birth_date=date(1990, 5, 17),
        author="Marie Martin",
        verification_code="ABCD-EF01-2345",
        campaign_label="Campagne 2026 — rémunération de novembre 2026",
    )
    return dataclasses.replace(data, **changes)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF")
    return PdfReader(io.BytesIO(pdf), strict=True)


def text_of(pdf: bytes) -> str:
    """The text of every page, no-break spaces read as spaces."""
    text = "\n".join(page.extract_text() for page in read(pdf).pages)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_receipt_shows_the_declaration_in_french_formats() -> None:
    text = text_of(render_receipt(receipt()))
    for expected in (
        "Espace ESAT — Caf",
        "Justificatif de certificat d'emploi",
        "Numéro de reçu : ESAT-2026-00000042",
        "Reçu le 03/12/2026 à 14:05",
        "Campagne 2026 — rémunération de novembre 2026",
        "ESAT Les Ateliers du Rhône",
        "12 rue de la Paix, 69001 Lyon",
        "12345678900012",
        "Caf du Rhône",
        "DUPONT Zoé",
        "1234567",
        "17/05/1990",
        "Valeurs déclarées",
        "Montant net de la rémunération garantie 1 234,56 €",
        "Montant net de l'aide au poste 700,00 €",
        "534,56 €",
        "Informations calculées (indicatives)",
        "Part financée par l'ESAT en % du SMIC 29,81 %",
        "Abattement applicable (art. D821-10 CSS) 50 %",
        "Formulaire certificat_emploi version 1",
        "Déclaré par Marie Martin",
        "Code de vérification : ABCD-EF01-2345",
        "preuve du dépôt",
    ):
        assert expected in text, expected


def test_values_follow_the_form_order_and_hidden_fields_are_left_out() -> None:
    values = {"part_esat": Decimal("10"), "remuneration_garantie": Decimal("20")}
    text = text_of(render_receipt(receipt(values=values, derived={}, campaign_label=None)))
    first = text.index(FORM.field("remuneration_garantie").label)
    second = text.index(FORM.field("part_esat").label)
    assert first < second
    assert FORM.field("aide_au_poste").label not in text
    assert "Informations calculées" not in text
    assert "Campagne" not in text


def test_choice_and_yesno_values_are_printed_with_their_labels() -> None:
    form = FormDefinition.model_validate(
        {
            "id": "essai",
            "version": 7,
            "title": "Formulaire d’essai",
            "summary": "Essai",
            "window": "always",
            "fields": [
                {
                    "id": "motif",
                    "type": "choice",
                    "label": "Motif de sortie",
                    "options": [{"value": "dem", "label": "Démission « volontaire »"}],
                },
                {"id": "temps_partiel", "type": "yesno", "label": "Temps partiel"},
                {"id": "date_sortie", "type": "date", "label": "Date de sortie"},
                {"id": "taux", "type": "rate", "label": "Taux d’activité"},
            ],
            "receipt": {"title": "Justificatif d’essai"},
        }
    )
    values = {
        "motif": "dem",
        "temps_partiel": True,
        "date_sortie": date(2026, 3, 1),
        "taux": Decimal("62.50"),
    }
    text = text_of(render_receipt(receipt(form=form, values=values, derived={})))
    assert "Motif de sortie Démission « volontaire »" in text
    assert "dem\n" not in text
    assert "Temps partiel Oui" in text
    assert "Date de sortie 01/03/2026" in text
    assert "Taux d’activité 62,5 %" in text
    assert "Formulaire essai version 7" in text


def test_french_punctuation_is_drawn_with_the_bundled_fonts() -> None:
    pdf = render_receipt(receipt(esat_name=f"ESAT {PUNCTUATION}"))
    assert f"ESAT {PUNCTUATION}" in text_of(pdf)
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in read(pdf).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert {name.split("+")[-1] for name in fonts} == {"DejaVuSansBook", "DejaVuSansBold"}
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"):
        assert (pdf_module.FONTS_DIR / name).is_file()
    licence = (pdf_module.FONTS_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "Bitstream Vera" in licence
    assert "Arev" in licence


def test_metadata_holds_the_title_and_no_personal_data() -> None:
    meta = read(render_receipt(receipt())).metadata
    assert meta is not None
    assert meta.title == "Justificatif de certificat d'emploi"
    everything = " ".join(str(v) for v in meta.values())
    for personal in ("DUPONT", "Zoé", "1234567", "Marie Martin", "Ateliers", "ESAT-2026-00000042", "1990"):
        assert personal not in everything


def test_user_text_is_never_markup() -> None:
    name = 'Jean {nb} **gras** <b>x</b> (a) \\ "q"'
    text = text_of(render_receipt(receipt(worker_name=name)))
    assert name in text


def test_clean_makes_one_printable_line() -> None:
    assert clean("a\r\nb\tc") == "a b c"
    assert clean("x\x00\x07\x1b[31my") == "x[31my"
    assert clean("\u202eabc\u200f\u200b\ufeff") == "abc"
    assert clean("emoji 😀 中文") == "emoji ? ??"
    assert clean(PUNCTUATION) == PUNCTUATION
    assert clean("e\u0301") == "é"  # NFC
    long = clean("a" * 10_000, limit=50)
    assert len(long) == 50
    assert long.endswith("…")


def test_a_long_declaration_runs_over_several_numbered_pages() -> None:
    fields = [{"id": f"t{i}", "type": "text", "label": f"Rubrique {i}"} for i in range(30)]
    form = FormDefinition.model_validate(
        {
            "id": "long",
            "version": 2,
            "title": "Long",
            "summary": "Long",
            "window": "always",
            "fields": fields,
            "receipt": {"title": "Justificatif long"},
        }
    )
    values = {f"t{i}": f"valeur{i} " + "mot " * 45 for i in range(30)}
    pdf = render_receipt(receipt(form=form, values=values, derived={}))
    pages = len(read(pdf).pages)
    text = text_of(pdf)
    assert pages >= 2
    assert f"page 1/{pages}" in text
    assert f"page {pages}/{pages}" in text
    for i in range(30):
        assert f"valeur{i} " in text
    assert "Code de vérification : ABCD-EF01-2345" in text


def test_fonts_are_loaded_once_for_many_receipts(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []
    subsets: list[str] = []
    real_load, real_subset = pdf_module._load_fonts, pdf_module.subset_font

    def spy_load() -> pdf_module._Prepared:
        loads.append(1)
        return real_load()

    def spy_subset(path, unicodes):  # type: ignore[no-untyped-def]
        subsets.append(path.name)
        return real_subset(path, unicodes)

    monkeypatch.setattr(pdf_module, "_PREPARED", None)
    monkeypatch.setattr(pdf_module, "_load_fonts", spy_load)
    monkeypatch.setattr(pdf_module, "subset_font", spy_subset)
    for name in ("ALPHA Anne", "BÊTA Benoît", "GAMMA Gaëlle", "DELTA Łukasz"):
        assert name in text_of(render_receipt(receipt(worker_name=name)))
    assert loads == [1]
    assert sorted(subsets) == ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf"]


def test_each_receipt_has_its_own_font_subset() -> None:
    # fpdf2 subsets a font in place when writing a PDF: a template shared without care would
    # lose the glyphs the next receipt needs (and raise).
    render_receipt(receipt(worker_name="AAAA"))
    text = text_of(render_receipt(receipt(worker_name="ÙŻŸ Ÿvonne ŒUF")))
    assert "ÙŻŸ Ÿvonne ŒUF" in text


def test_receipts_drawn_in_parallel_threads_are_each_right() -> None:
    names = [f"TRAVAILLEUR{i} {'ÀÉÎÕÜ'[i % 5] * (i + 1)}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda n: render_receipt(receipt(worker_name=n)), names))
    for name, pdf in zip(names, pdfs, strict=True):
        assert name in text_of(pdf)


HOSTILE = [
    'O\'Brien "Le Grand" (dit \\Bob\\) ) ( \\',
    "\u202eRTL\u200f override \u200e\u061c",
    "😀🎉👨‍👩‍👧 emoji 中文 עברית العربية",
    "a\r\nBcc: victim@example.org\r\n\r\n",
    "\x00\x01\x07\x08\x0b\x0c\x1b[31m\x7f\x85",
    "\ud800 lone surrogate \udfff",
    "e\u0301\u0301\u0301" * 50,
    "W" * 10_000,
    "x" * 10_000,
    " " * 5000,
    "",
    "\ue000\ue000\ue000 {nb} %PDF-1.4 endobj trailer",
    "\u2028\u2029\t\t",
]
hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(HOSTILE),
    st.builds(operator.mul, st.text(min_size=1, max_size=4), st.integers(1000, 10_000)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(esat=hostile_text, worker=hostile_text, author=hostile_text)
def test_hostile_text_always_gives_a_valid_pdf(esat: str, worker: str, author: str) -> None:
    with fpdf_warnings() as warned:
        pdf = render_receipt(receipt(esat_name=esat, esat_address=esat, worker_name=worker, author=author))
    reader = read(pdf)
    assert len(reader.pages) >= 1
    assert "ESAT-2026-00000042" in reader.pages[0].extract_text()
    assert warned == []  # e.g. "Font … is missing the following glyphs": nothing reached fpdf2 unclean


@contextlib.contextmanager
def fpdf_warnings() -> Iterator[list[str]]:
    """The warnings fpdf2 logs meanwhile (hypothesis forbids the caplog fixture in @given)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("fpdf")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
