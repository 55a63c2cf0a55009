"""The PDF justificatif (receipt) of one declaration, drawn with fpdf2.

Fonts: DejaVu Sans regular and bold, kept in ``services/fonts/`` (licence beside them), so a
fresh machine renders French text (’ € œ – … « ») without any system font. At first use,
once per process (``_load_fonts``), both fonts are subset in memory with fontTools to the
characters a justificatif needs (``UNICODE_RANGES``) and loaded into one prepared, page-less
FPDF; every receipt is a deep copy of that document (about 35 PDF/s on one core).

User text is never read as markup (no markdown, no HTML): ``clean`` drops control and format
characters, prints any character the fonts lack as ``?`` and cuts absurdly long texts with ``…``.

Relies on fpdf2 2.8.9 internals (pinned in requirements.txt): ``TTFFont`` built from bytes,
and its ``ttfont``/``desc`` replaced in each copy (see ``_new_document``).
"""

from __future__ import annotations

import copy
import io
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import TTFFont

from forms import fmt
from forms.schema import Field, FormDefinition
from rules.checks import options

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "dejavu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# Characters kept in the embedded fonts: French, the Latin-1 and Latin Extended-A letters
# (which cover the names of French civil status and of most European languages: œ Œ ÿ Ÿ ł ş),
# Romanian ș ț, French punctuation and €. Fewer glyphs make every PDF faster to produce
# (fpdf2 re-subsets the font at each output); anything else is printed as ``?``.
UNICODE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 Supplement, Latin Extended-A
    (0x0218, 0x021B),  # Ș ș Ț ț
    (0x2010, 0x2027),  # dashes, quotes ’ “ ” „, bullet, ellipsis …
    (0x202F, 0x203A),  # narrow no-break space, ‰, primes, ‹ ›
    (0x20AC, 0x20AC),  # €
)
REPLACEMENT = "?"
NBSP = "\u00a0"
NNBSP = "\u202f"

# Lengths past which a text is cut (a legitimate value is far shorter; the page must hold).
SHORT = 160  # names, SIRET, author, numbers
LONG = 400  # address, campaign, labels
VALUE = 1000  # a declared value (text fields are limited to 200 characters by the forms)

# Stands for the page count in the footer: private-use characters, which ``clean`` drops from
# user text, three of them to reserve the width of up to 999 pages.
_PAGES_ALIAS = "\ue000" * 3
_SPACES = re.compile(r" {2,}")
_LINE_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True)
class ReceiptData:
    receipt_number: str  # e.g. "ESAT-2026-00000042"
    received_at: datetime  # already in Europe/Paris local time, naive
    form: FormDefinition
    values: dict[str, Any]  # field id -> typed value (Decimal, date, str, bool); visible fields only
    derived: dict[str, str]  # derived id -> formatted text (may be empty); labels from form.derived
    esat_name: str
    esat_address: str  # one line
    esat_siret: str
    caf_name: str
    worker_name: str  # "NOM Prénom"
    allocataire: str  # 7 digits
    birth_date: date
    author: str  # account display name
    verification_code: str
    campaign_label: str | None  # e.g. "Campagne 2026 — rémunération de novembre 2026"


class _ReceiptPDF(FPDF):
    """A justificatif page: the footer repeats the receipt number and numbers the pages."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(90)
        self.cell(0, 5, f"{self.footer_text} — page {self.page_no()}/{_PAGES_ALIAS}", align="C")
        self.set_text_color(0)


@dataclass(frozen=True)
class _Prepared:
    pdf: _ReceiptPDF  # page-less, both fonts loaded; deep-copied for every receipt
    font_bytes: dict[str, bytes]  # fontkey -> subset TrueType file
    charset: frozenset[int]  # code points both fonts can draw


_PREPARED: _Prepared | None = None
_LOCK = threading.Lock()


def _unicodes() -> list[int]:
    return [c for low, high in UNICODE_RANGES for c in range(low, high + 1)]


def subset_font(path: Path, unicodes: Iterable[int]) -> bytes:
    """``path`` reduced to the glyphs of ``unicodes`` (fontTools), as TrueType bytes."""
    opts = ftsubset.Options()
    opts.layout_features = []  # fpdf2 draws glyph by glyph (no text shaping)
    opts.hinting = False  # PDF viewers ignore TrueType hinting
    opts.notdef_outline = True
    opts.recommended_glyphs = True
    # Tables fpdf2 drops from what it embeds anyway (no shaping, no kerning, no timestamp).
    opts.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "kern", "gasp", "hdmx", "VDMX", "LTSH"]
    font = TTFont(path, recalcTimestamp=False)
    subsetter = ftsubset.Subsetter(opts)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _load_fonts() -> _Prepared:
    """Subset and parse both fonts, and build the page-less template (once per process)."""
    pdf = _ReceiptPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.alias_nb_pages(_PAGES_ALIAS)
    pdf.set_creator("Espace ESAT")
    pdf.set_lang("fr-FR")
    font_bytes: dict[str, bytes] = {}
    charset: set[int] | None = None
    wanted = _unicodes()
    for style, filename in FONT_FILES.items():
        key = FAMILY + style
        font_bytes[key] = subset_font(FONTS_DIR / filename, wanted)
        # FPDF.add_font only reads files: the in-memory subset goes through TTFFont itself.
        font = TTFFont(pdf, io.BytesIO(font_bytes[key]), key, style)  # type: ignore[arg-type]
        pdf.fonts[key] = font
        cmap = set(font.cmap)
        charset = cmap if charset is None else charset & cmap
    return _Prepared(pdf=pdf, font_bytes=font_bytes, charset=frozenset(charset or ()))


def _prepared() -> _Prepared:
    global _PREPARED
    prepared = _PREPARED
    if prepared is None:
        with _LOCK:
            if _PREPARED is None:
                _PREPARED = _load_fonts()
            prepared = _PREPARED
    return prepared


def _new_document(prepared: _Prepared) -> _ReceiptPDF:
    pdf = copy.deepcopy(prepared.pdf)
    for key, font in pdf.fonts.items():
        # fpdf2's TTFFont.__deepcopy__ shares the fontTools font and the font descriptor with
        # the template, but output() subsets the former in place (the next receipt would lack
        # glyphs) and numbers the latter (a race between threads). So each document gets its
        # own descriptor and a lazy fontTools reader over the subset bytes (nothing parsed
        # yet). Bounding boxes are not recomputed when fpdf2 saves its subset (the glyphs keep
        # theirs, the font header keeps the whole font's): a third of the output time saved.
        if isinstance(font, TTFFont):
            font.ttfont = TTFont(
                io.BytesIO(prepared.font_bytes[key]), lazy=True, recalcTimestamp=False, recalcBBoxes=False
            )
            font.desc = copy.copy(font.desc)
    return pdf


def clean(text: Any, limit: int = LONG, charset: frozenset[int] | None = None) -> str:
    """``text`` made safe to draw on one line: NFC, line breaks and odd spaces become spaces,
    control/format/private characters are dropped, characters without a glyph become ``?``,
    and beyond ``limit`` characters the text is cut with ``…``."""
    glyphs = _prepared().charset if charset is None else charset
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
        if ch in _LINE_BREAKS:
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category[0] == "C":  # Cc, Cf (RTL marks, zero-width…), Cs, Co, Cn
            continue
        if category[0] == "Z" and ch not in (NBSP, NNBSP):
            ch = " "
        out.append(ch if ord(ch) in glyphs else REPLACEMENT)
    result = _SPACES.sub(" ", "".join(out)).strip()
    if len(result) > limit:
        result = result[: limit - 1].rstrip() + "…"
    return result


def _format_value(f: Field, raw: Any) -> str:
    labels = {o.value: o.label for o in options(f)} if f.type == "choice" else None
    try:
        return fmt.value(f.type, raw, labels)
    except (AttributeError, TypeError, ValueError, InvalidOperation):
        return str(raw)  # a value of an unexpected type is still printed as received


def render_receipt(data: ReceiptData) -> bytes:
    """The justificatif of one declaration as an A4 PDF (one page, more if the values need it)."""
    prepared = _prepared()

    def t(text: Any, limit: int = LONG) -> str:
        return clean(text, limit, prepared.charset)

    form = data.form
    title = t(form.receipt.title)
    number = t(data.receipt_number, SHORT)
    pdf = _new_document(prepared)
    pdf.set_title(title)  # metadata: the receipt title only, no personal data
    pdf.set_subject("Justificatif de dépôt d'une déclaration — Espace ESAT")
    pdf.footer_text = f"Espace ESAT — reçu n° {number}"
    pdf.add_page()
    width = pdf.epw

    pdf.set_text_color(60, 60, 110)
    _text(pdf, "Espace ESAT — Caf", "B", 9, 5)
    pdf.set_text_color(0)
    _text(pdf, title, "B", 16, 8)
    _text(pdf, t(form.title), "", 10, 5)
    pdf.ln(3)

    heading = f"Numéro de reçu : {number}"
    pdf.set_font(FAMILY, "B", 11)
    box = 3 + 6 * (len(_lines(pdf, heading, width, 6)) + 1)
    pdf.set_fill_color(236, 240, 248)
    top = pdf.get_y()
    pdf.rect(pdf.l_margin, top, width, box, style="F")
    pdf.set_y(top + 1.5)
    _text(pdf, heading, "B", 11, 6)
    _text(pdf, f"Reçu le {fmt.timestamp(data.received_at)}", "", 10, 6)
    pdf.set_y(top + box)
    if data.campaign_label:
        pdf.ln(2)
        _text(pdf, t(data.campaign_label), "B", 10, 5)

    _section(pdf, "Établissement")
    label_w = 45.0
    for label, value in (
        ("ESAT", t(data.esat_name)),
        ("Adresse", t(data.esat_address)),
        ("SIRET", t(data.esat_siret, SHORT)),
        ("Caf destinataire", t(data.caf_name)),
    ):
        _row(pdf, [(label, label_w, "L", ""), (value, width - label_w, "L", "")], muted_first=True)
    _section(pdf, "Travailleur")
    for label, value in (
        ("Nom et prénom", t(data.worker_name, SHORT)),
        ("N° allocataire", t(data.allocataire, SHORT)),
        ("Date de naissance", fmt.day(data.birth_date)),
    ):
        _row(pdf, [(label, label_w, "L", ""), (value, width - label_w, "L", "")], muted_first=True)

    _section(pdf, "Valeurs déclarées")
    rows = [
        (t(f.label), t(_format_value(f, data.values[f.id]), VALUE), f.type in ("amount", "rate"))
        for f in form.fields
        if f.id in data.values
    ]
    _values_table(pdf, width, rows)

    derived = [
        (t(d.label), t(data.derived[d.id], VALUE), True) for d in form.derived if data.derived.get(d.id)
    ]
    if derived:
        _section(pdf, "Informations calculées (indicatives)")
        _values_table(pdf, width, derived)

    pdf.ln(6)
    _text(pdf, f"Formulaire {t(form.id, SHORT)} version {form.version}", "", 9, 5)
    _text(pdf, f"Déclaré par {t(data.author, SHORT)}", "", 9, 5)
    _text(pdf, f"Code de vérification : {t(data.verification_code, SHORT)}", "B", 9, 5)
    pdf.ln(2)
    _text(
        pdf,
        "Ce document est la preuve du dépôt de la déclaration auprès de la Caf : conservez-le. "
        "Le code de vérification permet de contrôler qu’il correspond aux valeurs reçues.",
        "",
        9,
        4.5,
    )
    return bytes(pdf.output())


# Drawing helpers. Text is cut into lines once (``cell`` when it fits, fpdf2's word wrapping
# otherwise) and drawn with ``cell``: rows never straddle a page break.
LINE = 5.0  # line height of table text (mm)
PAD = 1.0  # vertical padding of a table row (mm)
MAX_LINES = 40  # lines of one cell (a cut text is far shorter; keeps every row within a page)


def _lines(pdf: FPDF, text: str, width: float, line_height: float) -> list[str]:
    if pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
        return [text]
    lines = pdf.multi_cell(width, line_height, text, align="L", dry_run=True, output="LINES")
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], lines[MAX_LINES - 1][:-1] + "…"]
    return lines or [""]


def _text(pdf: FPDF, text: str, style: str, size: float, line_height: float) -> None:
    """A paragraph across the page."""
    pdf.set_font(FAMILY, style, size)
    for line in _lines(pdf, text, pdf.epw, line_height):
        pdf.cell(pdf.epw, line_height, line, align="L", new_x="LMARGIN", new_y="NEXT")


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(4)
    if pdf.will_page_break(6 + 2 + 2 * LINE):  # a title is never left alone at the foot of a page
        pdf.add_page()
    _text(pdf, title, "B", 11, 6)
    pdf.set_draw_color(160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(1)


Cells = list[tuple[str, float, str, str]]  # (text, width, align, style) side by side


def _cut(pdf: FPDF, cells: Cells) -> tuple[list[list[str]], float]:
    """The lines of each cell at 10 pt, and the height of the row."""
    pdf.set_font_size(10)
    cut = []
    for text, w, _align, style in cells:
        pdf.set_font(FAMILY, style)
        cut.append(_lines(pdf, text, w, LINE))
    return cut, max(len(lines) for lines in cut) * LINE + 2 * PAD


def _draw(
    pdf: FPDF, cells: Cells, cut: list[list[str]], height: float, *, muted_first: bool, fill: bool, rule: bool
) -> None:
    top, x = pdf.get_y(), pdf.l_margin
    if fill:
        pdf.rect(x, top, sum(c[1] for c in cells), height, style="F")
    for i, ((_, w, align, style), lines) in enumerate(zip(cells, cut, strict=True)):
        pdf.set_font(FAMILY, style)
        pdf.set_text_color(85 if muted_first and i == 0 else 0)
        pdf.set_xy(x, top + PAD)
        for line in lines:
            pdf.cell(w, LINE, line, align=align, new_x="LEFT", new_y="NEXT")
        x += w
    pdf.set_text_color(0)
    pdf.set_y(top + height)
    if rule:
        pdf.set_draw_color(200)
        pdf.line(pdf.l_margin, top + height, x, top + height)


def _row(pdf: FPDF, cells: Cells, *, muted_first: bool = False) -> None:
    """One row of cells, on one page."""
    cut, height = _cut(pdf, cells)
    if pdf.will_page_break(height):
        pdf.add_page()
    _draw(pdf, cells, cut, height, muted_first=muted_first, fill=False, rule=False)


def _values_table(pdf: FPDF, width: float, rows: list[tuple[str, str, bool]]) -> None:
    """Label | value rows under a heading row, which is kept with the first row and repeated
    at the top of each new page."""
    label_w = round(width * 0.6, 1)
    value_w = width - label_w
    heading: Cells = [("Rubrique", label_w, "L", "B"), ("Valeur", value_w, "R", "B")]
    heading_cut, heading_h = _cut(pdf, heading)
    body: list[Cells] = [
        [(label, label_w, "L", ""), (value, value_w, "R" if numeric else "L", "")]
        for label, value, numeric in rows
    ] or [[("Aucune valeur", width, "L", "")]]
    pdf.set_fill_color(236, 240, 248)
    for i, cells in enumerate(body):
        cut, height = _cut(pdf, cells)
        with_heading = i == 0
        if pdf.will_page_break(height + (heading_h if with_heading else 0)):
            pdf.add_page()
            with_heading = True
        if with_heading:
            _draw(pdf, heading, heading_cut, heading_h, muted_first=False, fill=True, rule=False)
        _draw(pdf, cells, cut, height, muted_first=False, fill=False, rule=True)
