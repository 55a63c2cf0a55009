"""The PDF justificatif: content, French formats, hostile text, fonts loaded once."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import operator
import re
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal

import pytest
from fontTools.ttLib import TTFont
from fpdf.errors import FPDFException
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
        "Montant brut de la rémunération garantie 1 234,56 €",  # the justificatif says "brut" too
        "Montant brut de l'aide au poste 700,00 €",
        "534,56 €",
        "Informations calculées (indicatives)",
        "Part financée par l'ESAT en % du SMIC mensuel brut 29,81 %",
        "Abattement applicable (art. D821-10 CSS) 50 %",
        f"Formulaire certificat_emploi version {FORM.version}",
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


def long_form() -> FormDefinition:
    """A form of 30 text fields: its justificatif runs over several pages."""
    fields = [{"id": f"t{i}", "type": "text", "label": f"Rubrique {i}"} for i in range(30)]
    return FormDefinition.model_validate(
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


def test_a_long_declaration_runs_over_several_numbered_pages() -> None:
    form = long_form()
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
    loggers = [logging.getLogger("fpdf"), logging.getLogger(pdf_module.__name__)]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# -- What the faster renderer must keep: fpdf2's line breaking, ``clean``'s definition, valid
# font files holding the right glyphs.

WRAP_PIECES = [
    "a",
    "W",
    "i",
    "l",
    " ",
    " ",
    "  ",
    "\u00a0",
    "\u202f",
    "é",
    "…",
    "—",
    "?",
    "mot",
    "x" * 30,
    "12,5 %",
]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(WRAP_PIECES), min_size=1, max_size=80),
    style=st.sampled_from(["", "B"]),
    size=st.sampled_from([8, 9, 10, 11, 16, 60]),
    width=st.one_of(st.sampled_from([69.6, 104.4, 174.0]), st.floats(2.0, 180.0)),
)
def test_wrapping_gives_fpdf2s_lines(pieces: list[str], style: str, size: int, width: float) -> None:
    """``_wrap`` must cut a text where fpdf2's ``multi_cell`` does (the justificatif used it)."""
    doc = pdf_module._new_document(pdf_module._prepared())
    doc.add_page()
    doc.set_font(pdf_module.FAMILY, style, size)
    text = "".join(pieces)

    def lines(wrap: Callable[[], list[str]]) -> list[str] | str:
        try:
            return wrap()
        except FPDFException as exc:  # a character wider than the cell: both must refuse
            return str(exc)

    expected = lines(lambda: doc.multi_cell(width, 5, text, align="L", dry_run=True, output="LINES"))
    assert lines(lambda: pdf_module._wrap(doc, text, width, 10_000)) == expected
    if isinstance(expected, list) and len(expected) > 3:
        assert pdf_module._wrap(doc, text, width, 3) == expected[:3]


def clean_by_definition(text: str, limit: int) -> str:
    """``clean`` as its docstring says it, one character at a time."""
    glyphs = pdf_module._prepared().charset
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in pdf_module._LINE_BREAKS:
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category[0] == "C":
            continue
        if category[0] == "Z" and ch not in ("\u00a0", "\u202f"):
            ch = " "
        out.append(ch if ord(ch) in glyphs else "?")
    result = re.sub(" {2,}", " ", "".join(out)).strip()
    return result if len(result) <= limit else result[: limit - 1].rstrip() + "…"


@settings(max_examples=1000, deadline=None)
@given(
    text=st.text(
        st.one_of(
            st.characters(codec=None),
            st.sampled_from(list(" \u00a0\u202f\u2003\u3000\n\r\t\x85\u2028\u200b\u0301e]^-\\[")),
        ),
        max_size=60,
    ),
    limit=st.integers(1, 30),
)
def test_clean_follows_its_definition(text: str, limit: int) -> None:
    assert clean(text, limit) == clean_by_definition(text, limit)


def test_clean_reads_a_bounded_prefix_of_absurd_texts() -> None:
    assert clean("\u200b" * 10_000 + "fin", limit=100) == ""  # past limit × READ_FACTOR: not read
    assert clean("\u200b" * 9_000 + "fin", limit=100) == "fin"
    assert clean("\u200b" * 900 + "fin", limit=100) == "fin"
    assert clean("x" * 10**7, limit=10) == "x" * 9 + "…"


def embedded_fonts(pdf: bytes) -> list[tuple[TTFont, dict[int, int], dict[int, str]]]:
    """Each embedded font, with its code -> glyph id map and its code -> text map."""
    found = []
    for ref in read(pdf).pages[0]["/Resources"]["/Font"].values():
        font = ref.get_object()
        cid_font = font["/DescendantFonts"][0].get_object()
        program = cid_font["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
        raw_map = cid_font["/CIDToGIDMap"].get_object().get_data()
        gids = {
            code: int.from_bytes(raw_map[2 * code : 2 * code + 2], "big") for code in range(len(raw_map) // 2)
        }
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        texts = {
            int(code, 16): bytes.fromhex(text).decode("utf-16-be")
            for code, text in re.findall(r"<(\w{4})> <(\w+)>", cmap)
        }
        whole = sum(
            int.from_bytes(_pad4(program)[i : i + 4], "big") for i in range(0, len(_pad4(program)), 4)
        )
        assert whole & 0xFFFFFFFF == 0xB1B0AFBA  # the file checksum (head.checkSumAdjustment)
        found.append((TTFont(io.BytesIO(program), checkChecksums=2), gids, texts))
    return found


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def test_embedded_fonts_are_valid_and_hold_the_glyphs_drawn() -> None:
    name = "ŒUF Łukasz Ÿvonne « Zoé » – 12,5 % … €"
    pdf = render_receipt(receipt(worker_name=name))
    references = {
        "DejaVuSansBook": TTFont(
            io.BytesIO(
                pdf_module.subset_font(pdf_module.FONTS_DIR / "DejaVuSans.ttf", pdf_module._unicodes())
            )
        ),
        "DejaVuSansBold": TTFont(
            io.BytesIO(
                pdf_module.subset_font(pdf_module.FONTS_DIR / "DejaVuSans-Bold.ttf", pdf_module._unicodes())
            )
        ),
    }
    drawn = set()
    for font, gids, texts in embedded_fonts(pdf):
        reference = references[font["name"].getBestFullName().replace(" ", "")]
        order, ref_order = font.getGlyphOrder(), reference.getGlyphOrder()
        assert order == ref_order  # glyph ids kept
        cmap = reference.getBestCmap()
        glyf, ref_glyf = font["glyf"], reference["glyf"]
        for code, text in texts.items():
            if code == 0:
                continue
            glyph = order[gids[code]]
            assert glyph == cmap[ord(text)], (code, text)  # the code shows the character's glyph
            if ref_glyf[glyph].numberOfContours:
                assert glyf[glyph].numberOfContours == ref_glyf[glyph].numberOfContours
                assert list(glyf[glyph].getCoordinates(glyf)[0]) == list(
                    ref_glyf[glyph].getCoordinates(ref_glyf)[0]
                )
            drawn.add(text)
        kept = [g for g in order if glyf[g].numberOfContours != 0]
        assert len(kept) <= len(texts) + 10  # only the glyphs drawn (and their components)
        assert font["hmtx"].metrics == reference["hmtx"].metrics
    assert set(name.replace(" ", "")) <= drawn
