"""The PDF justificatif (receipt) of one declaration, drawn with fpdf2 (``render_receipt``), and
several of them in one document (``render_receipts``: each from a new page, numbering its own
pages). ``receipt_content`` gives the texts a justificatif prints, which the accessible HTML
version (services/justificatifs.py) writes too.

Fonts: DejaVu Sans regular and bold, kept in ``services/fonts/`` (licence beside them), so a
fresh machine renders French text (’ € œ – … « ») without any system font. At first use,
once per process (``_load_fonts``), both fonts are subset in memory with fontTools to the
characters a justificatif needs (``UNICODE_RANGES``) and parsed; every receipt is a new FPDF
with light copies of them (``_Font.for_document``).

What makes it fast (about 5 ms a receipt, 150–200 a second on one core: ``python -m
scripts.bench_pdf``), each drawing exactly what fpdf2's own calls drew:
- each PDF embeds only the glyphs it draws, but fpdf2's fontTools subsetting at every output
  (two thirds of the time) is replaced by ``FontProgram``, which cuts the prepared font by
  copying bytes (glyph ids kept, unused outlines left empty), embedded by ``_ReceiptOutput``;
- lines are written with ``FPDF.text`` at the place ``FPDF.cell`` would put them (``_cell``),
  without fpdf2's styled-fragment machinery, and characters are encoded from a per-document
  table (``_Font.encode_text``);
- widths are summed from the font metrics (``_width``) and texts too long for their cell are
  cut into lines by ``_wrap``, fpdf2's word wrapping in linear time (fpdf2's is quadratic).

For screen readers: the document's language is fr-FR, the viewer shows its title, and it is
drawn in reading order (headings, each label before its value, the footer last). It is not
tagged, because fpdf2 has no public API for a structure tree. The accessible version is the HTML
twin (docs/accessibility-outputs.md).

User text is never read as markup (no markdown, no HTML): ``clean`` drops control and format
characters, prints any character the fonts lack as ``?`` and cuts absurdly long texts with ``…``.

Relies on fpdf2 2.8.9 internals (pinned in requirements.txt): ``TTFFont`` built from bytes, its
``subset`` map, its ``MultiLineBreak`` rules (``_wrap``, checked against ``multi_cell`` by the
tests), the font objects of ``fpdf.output`` (see ``_ReceiptOutput``), and its page-count
placeholders and ``_render_footer`` (``_ReceiptsPDF.finish``).
"""

from __future__ import annotations

import array
import bisect
import copy
import functools
import io
import itertools
import logging
import re
import struct
import sys
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
from fpdf import FPDF, ViewerPreferences
from fpdf.errors import FPDFException
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.line_break import BREAKING_SPACE_SYMBOLS_STR
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFContentStream,
    PDFFont,
    PDFFontStream,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray

from forms import fmt
from forms.schema import Field, FormDefinition
from rules.checks import options

LOGGER = logging.getLogger(__name__)
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
_BLANKS = frozenset((" ", NBSP, NNBSP))  # the spaces ``clean`` keeps
_SPACES = re.compile(r" {2,}")
READ_FACTOR = 100  # characters of a text read, at most, per character it may print
_LINE_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")

# Fixed texts of every justificatif (services/justificatifs.py prints them in the HTML version).
HEADER = "Espace ESAT — Caf"
NOTICE = (
    "Ce document est la preuve du dépôt de la déclaration auprès de la Caf : conservez-le. "
    "Le code de vérification permet de contrôler qu’il correspond aux valeurs reçues."
)


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
    replaces: str | None = None  # a rectificatif: "Remplace le justificatif n° … reçu le …"
    verify_url: str | None = None  # the public page where the code can be checked


class _Subset(SubsetMap):
    """fpdf2's map of the glyphs one document uses, which also remembers the code of each
    character drawn (``_Font.encode_text``)."""

    def __init__(self, font: TTFFont) -> None:
        super().__init__(font)
        self.codes: dict[str, str] = {}  # character -> its code ("" without a glyph)


class _Font(TTFFont):
    """fpdf2's TrueType font, encoding text with a per-document table of character codes
    instead of asking the subset map for every character (a third of the time of a line)."""

    __slots__ = ()

    def for_document(self) -> _Font:
        """A copy for one document. The widths, glyph ids and character map are shared: they
        are only read while drawing (a width asked for a character the font lacks adds the
        same default width, whichever document asks). The glyphs used, the glyphs missing and
        the descriptor (which the output numbers) are the document's own."""
        clone = copy.copy(self)
        clone.missing_glyphs = []
        clone.desc = copy.copy(self.desc)
        clone.subset = _Subset(clone)
        return clone

    def encode_text(self, text: str) -> str:
        codes: dict[str, str] = self.subset.codes  # type: ignore[attr-defined]
        try:
            mapped = "".join([codes[ch] for ch in text])
        except KeyError:  # new characters get their codes in order of use, as fpdf2 gives them
            pick = self.subset.pick
            for ch in text:
                if ch not in codes:
                    code = pick(ord(ch))
                    codes[ch] = "" if code is None else chr(code)
            mapped = "".join([codes[ch] for ch in text])
        return f"({self.escape_text(mapped)}) Tj"


class _ReceiptPDF(FPDF):
    """A justificatif page: the footer repeats the receipt number and numbers the pages."""

    footer_text = ""
    first_page = 1  # the page the current justificatif starts on (several in one document)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(90)
        page = self.page_no() - self.first_page + 1
        self.cell(0, 5, f"{self.footer_text} — page {page}/{_PAGES_ALIAS}", align="C")
        self.set_text_color(0)


class _ReceiptsPDF(_ReceiptPDF):
    """Several justificatifs one after the other, each numbering its own pages ("page 1/2")
    under its own receipt number: ``finish`` puts each one's page count where fpdf2 would put
    the document's (its ``TotalPagesSubstitutionFragment`` placeholders)."""

    starts: list[int]
    finished = False

    def footer(self) -> None:
        if not self.finished:  # ``output`` asks again for the last page's footer: drawn already
            super().footer()

    def finish(self) -> None:
        self._render_footer()  # the last page's, which ``output`` would draw
        self.finished = True
        ends = [*self.starts[1:], self.page + 1]
        for start, end in zip(self.starts, ends, strict=True):
            total = str(end - start)
            for number in range(start, end):
                page = self.pages[number]
                for item in page.get_text_substitutions():
                    page.contents = page.contents.replace(  # type: ignore[union-attr]
                        item.get_placeholder_string().encode("latin-1"),
                        item.render_text_substitution(total).encode("latin-1"),
                    )
                page._text_substitution_fragments.clear()


class FontProgram:
    """A prepared (already subset) TrueType font, cut for one document by copying bytes.

    Parsed once with fontTools; ``subset`` then keeps every glyph id and table but empties the
    outlines the document does not use (``glyf`` and ``loca`` rebuilt, checksums recomputed),
    which takes well under a millisecond where fontTools' subsetter takes about ten."""

    def __init__(self, data: bytes) -> None:
        font = TTFont(io.BytesIO(data), lazy=False)
        order = font.getGlyphOrder()
        glyf = font["glyf"]
        self.gids: dict[str, int] = {name: gid for gid, name in enumerate(order)}
        locations = font["loca"].locations
        raw = font.reader["glyf"]
        self._glyphs: list[bytes] = [
            _pad(raw[locations[gid] : locations[gid + 1]]) for gid in range(len(order))
        ]

        def parts(name: str) -> set[int]:  # a glyph and, for a composite, its components
            found = {self.gids[name]}
            for component in glyf[name].getComponentNames(glyf):
                found |= parts(component)
            return found

        self._parts = [frozenset(parts(name)) for name in order]
        self._head = bytearray(font.reader["head"])
        self._head[8:12] = bytes(4)  # checkSumAdjustment, set per file
        self._head[50:52] = struct.pack(">h", 1)  # indexToLocFormat: 32-bit offsets
        self._tables = {
            tag: bytes(font.reader[tag])
            for tag in sorted(font.reader.keys())
            if tag not in ("glyf", "loca", "head")
        }
        self._sums = {tag: _checksum(table) for tag, table in self._tables.items()}
        self._version: int = struct.unpack(">I", font.reader.sfntVersion.encode("latin-1"))[0]

    def subset(self, gids: Iterable[int]) -> bytes:
        """The font file with the outlines of ``gids`` (plus ``.notdef`` and components) only."""
        keep: set[int] = set(self._parts[0])
        for gid in gids:
            keep |= self._parts[gid]
        offsets: list[int] = []
        chunks: list[bytes] = []
        position = 0
        for gid, glyph in enumerate(self._glyphs):
            offsets.append(position)
            if gid in keep and glyph:
                chunks.append(glyph)
                position += len(glyph)
        offsets.append(position)
        tables = dict(self._tables)
        tables["glyf"] = b"".join(chunks)
        tables["loca"] = struct.pack(f">{len(offsets)}I", *offsets)
        tables["head"] = bytes(self._head)
        sums = dict(self._sums)
        for tag in ("glyf", "loca", "head"):
            sums[tag] = _checksum(tables[tag])

        tags = sorted(tables)
        selector = len(tags).bit_length() - 1
        search = 16 << selector
        directory = [
            struct.pack(">IHHHH", self._version, len(tags), search, selector, 16 * len(tags) - search)
        ]
        body: list[bytes] = []
        offset = 12 + 16 * len(tags)
        head_at = 0
        for tag in tags:
            table = tables[tag]
            if tag == "head":
                head_at = offset
            directory.append(struct.pack(">4sIII", tag.encode("latin-1"), sums[tag], offset, len(table)))
            body.append(_pad(table))
            offset += len(body[-1])
        header = b"".join(directory)
        adjustment = (0xB1B0AFBA - _checksum(header) - sum(sums.values())) & 0xFFFFFFFF
        out = bytearray(header + b"".join(body))
        out[head_at + 8 : head_at + 12] = struct.pack(">I", adjustment)
        return bytes(out)


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _checksum(data: bytes) -> int:
    """The TrueType checksum: the sum of the big-endian 32-bit words, modulo 2³²."""
    data = _pad(data)
    if _WORD.itemsize != 4:  # C's unsigned int is 32 bits on every platform we know of
        return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF
    words = array.array("I", data)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


_WORD = array.array("I")


@dataclass(frozen=True)
class _Prepared:
    fonts: dict[str, _Font]  # fontkey -> the font, copied for every receipt (``for_document``)
    programs: dict[str, FontProgram]  # fontkey -> the subset font, cut again for each receipt
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
    opts.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "kern", "gasp", "hdmx", "VDMX", "LTSH"]
    font = TTFont(path, recalcTimestamp=False)
    subsetter = ftsubset.Subsetter(opts)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _document(kind: type[_ReceiptPDF] = _ReceiptPDF) -> _ReceiptPDF:
    """A page-less justificatif with the settings all share, without fonts."""
    pdf = kind(orientation="P", unit="mm", format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.alias_nb_pages(_PAGES_ALIAS)
    pdf.set_creator("Espace ESAT")
    pdf.set_lang("fr-FR")  # the catalog's /Lang: screen readers speak the text in French
    # The viewer's window shows the document's title (set by the caller), not the file name.
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    return pdf


def _load_fonts() -> _Prepared:
    """Subset and parse both fonts (once per process)."""
    pdf = _document()  # the fonts are numbered in it; every receipt gets copies
    fonts: dict[str, _Font] = {}
    programs: dict[str, FontProgram] = {}
    charset: set[int] | None = None
    wanted = _unicodes()
    for style, filename in FONT_FILES.items():
        key = FAMILY + style
        data = subset_font(FONTS_DIR / filename, wanted)
        programs[key] = FontProgram(data)
        # FPDF.add_font only reads files: the in-memory subset goes through TTFFont itself.
        font = _Font(pdf, io.BytesIO(data), key, style)  # type: ignore[arg-type]
        font.ttfont = None  # type: ignore[assignment]  # never read again: FontProgram embeds
        font.cw[ord(_PAGES_ALIAS[0])]  # the alias's (default) width, entered before any sharing
        pdf.fonts[key] = fonts[key] = font
        cmap = set(font.cmap)
        charset = cmap if charset is None else charset & cmap
    return _Prepared(fonts=fonts, programs=programs, charset=frozenset(charset or ()))


def _prepared() -> _Prepared:
    global _PREPARED
    prepared = _PREPARED
    if prepared is None:
        with _LOCK:
            if _PREPARED is None:
                _PREPARED = _load_fonts()
            prepared = _PREPARED
    return prepared


def _new_document(prepared: _Prepared, kind: type[_ReceiptPDF] = _ReceiptPDF) -> _ReceiptPDF:
    pdf = _document(kind)
    for key, font in prepared.fonts.items():
        pdf.fonts[key] = font.for_document()
    return pdf


class _ReceiptOutput(OutputProducer):
    """fpdf2's output, but our fonts are embedded by ``FontProgram`` instead of fontTools.

    The PDF objects are those fpdf2 2.8.9 writes for a TrueType font (``OutputProducer.
    _add_fonts``: Type0 font, CIDFontType2 with its widths, ToUnicode map, descriptor,
    CIDToGIDMap, FontFile2); only the font file differs: glyph ids are kept, so the
    CIDToGIDMap points at the prepared font's ids."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> dict[int, Any]:
        programs = _prepared().programs
        font_objs_per_index: dict[int, Any] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda font: font.i):
            program = programs.get(font.fontkey)
            if program is None or not isinstance(font, TTFFont) or font.color_font or font.is_cff:
                raise TypeError(f"police inattendue dans un justificatif : {font.fontkey}")
            fontname = f"MPDFAA+{font.name}"
            if font.missing_glyphs:
                LOGGER.warning(
                    "Font %s is missing the following glyphs: %s",
                    fontname,
                    ", ".join(f"U+{code:04X}" for code in font.missing_glyphs[:10]),
                )
            used = [(glyph, code) for glyph, code in font.subset.items() if glyph is not None]
            code_to_glyph = {code: program.gids.get(glyph.glyph_name, 0) for glyph, code in used}

            composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
            self._add_pdf_obj(composite, "fonts")
            font_objs_per_index[font.i] = composite
            cid_font = PDFFont(
                subtype="CIDFontType2",
                base_font=fontname,
                d_w=font.desc.missing_width,
                w=_tt_font_widths(font),
            )
            self._add_pdf_obj(cid_font, "fonts")
            composite.descendant_fonts = PDFArray([cid_font])

            # The Unicode text of each code: what copying or searching the PDF gives.
            bf_char = [
                f"<{code:04X}> <{''.join(_utf16_hex(u) for u in glyph.unicode)}>\n"
                for glyph, code in used
                if isinstance(glyph.unicode, tuple) and glyph.unicode
            ]
            to_unicode = PDFContentStream(
                (
                    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
                    "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                    f"{_build_cmap_blocks(bf_char, 'bfchar')}"
                    "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
                ).encode("latin-1")
            )
            self._add_pdf_obj(to_unicode, "fonts")
            composite.to_unicode = to_unicode

            system_info = CIDSystemInfo()
            self._add_pdf_obj(system_info, "fonts")
            cid_font.c_i_d_system_info = system_info

            descriptor = font.desc
            descriptor.font_name = Name(fontname)
            self._add_pdf_obj(descriptor, "fonts")
            cid_font.font_descriptor = descriptor

            # Two bytes per code, up to the highest code used (codes past the end have no glyph).
            cid_to_gid = bytearray(2 * (max(code_to_glyph, default=0) + 1))
            for code, gid in code_to_glyph.items():
                cid_to_gid[2 * code : 2 * code + 2] = gid.to_bytes(2, "big")
            cid_to_gid_obj = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
            self._add_pdf_obj(cid_to_gid_obj, "fonts")
            cid_font.c_i_d_to_g_i_d_map = cid_to_gid_obj

            font_file = PDFFontStream(contents=program.subset(code_to_glyph.values()))
            self._add_pdf_obj(font_file, "fonts")
            descriptor.font_file2 = font_file

            font.subset.pick.cache_clear()
            font.subset.get_glyph.cache_clear()
        return font_objs_per_index


@functools.lru_cache(maxsize=1024)
def _utf16_hex(code: int) -> str:
    return chr(code).encode("utf-16-be").hex().upper()


def clean(text: Any, limit: int = LONG, charset: frozenset[int] | None = None) -> str:
    """``text`` made safe to draw on one line: NFC, line breaks and odd spaces become spaces,
    control/format/private characters are dropped, characters without a glyph become ``?``,
    and beyond ``limit`` characters the text is cut with ``…``. Only the first ``limit`` ×
    ``READ_FACTOR`` characters are read (what lies beyond in a text that long is not printed)."""
    glyphs = _prepared().charset if charset is None else charset
    text = unicodedata.normalize("NFC", str(text)[: limit * READ_FACTOR])
    result = _SPACES.sub(" ", _unsafe(glyphs).sub(_replace_run, text)).strip()
    if len(result) > limit:
        result = result[: limit - 1].rstrip() + "…"
    return result


@functools.lru_cache(maxsize=4)
def _unsafe(glyphs: frozenset[int]) -> re.Pattern[str]:
    """A character ``clean`` does not keep as is: anything but the printable characters of
    the fonts (one pattern, so that ordinary text is checked at C speed)."""
    kept = sorted(
        chr(c)
        for c in glyphs
        if chr(c) not in _LINE_BREAKS and (unicodedata.category(chr(c))[0] not in "CZ" or chr(c) in _BLANKS)
    )
    return re.compile("[^" + "".join(re.escape(ch) for ch in kept) + "]+")


def _replace_run(match: re.Match[str]) -> str:
    return "".join(map(_replacement, match.group()))


@functools.lru_cache(maxsize=4096)
def _replacement(ch: str) -> str:
    """What ``clean`` prints for a character that is not kept as is."""
    if ch in _LINE_BREAKS:
        return " "
    category = unicodedata.category(ch)
    if category[0] == "C":  # Cc, Cf (RTL marks, zero-width…), Cs, Co, Cn
        return ""
    if category[0] == "Z" and ch not in (NBSP, NNBSP):
        return " "
    return REPLACEMENT  # no glyph in the fonts


def format_value(f: Field, raw: Any) -> str:
    labels = {o.value: o.label for o in options(f)} if f.type == "choice" else None
    try:
        return fmt.value(f.type, raw, labels)
    except (AttributeError, TypeError, ValueError, InvalidOperation):
        return str(raw)  # a value of an unexpected type is still printed as received


def render_receipt(data: ReceiptData) -> bytes:
    """The justificatif of one declaration as an A4 PDF (one page, more if the values need it)."""
    prepared = _prepared()
    content = receipt_content(data, prepared.charset)
    pdf = _new_document(prepared)
    pdf.set_title(content.title)  # metadata: the receipt title only, no personal data
    pdf.set_subject("Justificatif de dépôt d'une déclaration — Espace ESAT")
    _draw_receipt(pdf, content)
    return bytes(pdf.output(output_producer_class=_ReceiptOutput))


def render_receipts(receipts: Iterable[ReceiptData]) -> bytes:
    """Several justificatifs in one A4 PDF, in the order given: each starts on a new page, its
    footer names its receipt number and numbers its own pages, as in its own PDF."""
    prepared = _prepared()
    pdf = _new_document(prepared, _ReceiptsPDF)
    assert isinstance(pdf, _ReceiptsPDF)
    pdf.set_title("Justificatifs de dépôt")  # metadata: no personal data
    pdf.set_subject("Justificatifs de dépôt de déclarations — Espace ESAT")
    pdf.starts = []
    for data in receipts:
        pdf.starts.append(pdf.page + 1)
        _draw_receipt(pdf, receipt_content(data, prepared.charset))
    if not pdf.starts:
        raise ValueError("aucun justificatif")
    pdf.finish()
    return bytes(pdf.output(output_producer_class=_ReceiptOutput))


@dataclass(frozen=True)
class ReceiptContent:
    """What a justificatif prints, every text made safe (``clean``) and formatted in French: the
    PDF draws it, the accessible HTML version (services/justificatifs.py) writes the same."""

    title: str  # "Justificatif de …", "Rectificatif — Justificatif de …"
    form_title: str
    number: str  # the receipt number
    received: str  # "Reçu le 03/12/2026 à 14:05"
    campaign: str | None
    replaces: str | None
    establishment: list[tuple[str, str]]  # (label, value)
    worker: list[tuple[str, str]]
    values: list[tuple[str, str, bool]]  # (label, value, numeric), form order
    derived: list[tuple[str, str, bool]]
    form_line: str  # "Formulaire certificat_emploi version 3"
    author_line: str  # "Déclaré par …"
    code_line: str  # "Code de vérification : …"
    verify_line: str | None  # where to check it


def receipt_content(data: ReceiptData, charset: frozenset[int] | None = None) -> ReceiptContent:
    """The texts of ``data``'s justificatif, as printed."""
    charset = _prepared().charset if charset is None else charset

    def t(text: Any, limit: int = LONG) -> str:
        return clean(text, limit, charset)

    form = data.form
    return ReceiptContent(
        title=t(form.receipt.title if data.replaces is None else f"Rectificatif — {form.receipt.title}"),
        form_title=t(form.title),
        number=t(data.receipt_number, SHORT),
        received=f"Reçu le {fmt.timestamp(data.received_at)}",
        campaign=t(data.campaign_label) if data.campaign_label else None,
        replaces=t(data.replaces) if data.replaces else None,
        establishment=[
            ("ESAT", t(data.esat_name)),
            ("Adresse", t(data.esat_address)),
            ("SIRET", t(data.esat_siret, SHORT)),
            ("Caf destinataire", t(data.caf_name)),
        ],
        worker=[
            ("Nom et prénom", t(data.worker_name, SHORT)),
            ("N° allocataire", t(data.allocataire, SHORT)),
            ("Date de naissance", fmt.day(data.birth_date)),
        ],
        values=[
            (t(f.label), t(format_value(f, data.values[f.id]), VALUE), f.type in ("amount", "rate"))
            for f in form.fields
            if f.id in data.values
        ],
        derived=[
            (t(d.label), t(data.derived[d.id], VALUE), True) for d in form.derived if data.derived.get(d.id)
        ],
        form_line=f"Formulaire {t(form.id, SHORT)} version {form.version}",
        author_line=f"Déclaré par {t(data.author, SHORT)}",
        code_line=f"Code de vérification : {t(data.verification_code, SHORT)}",
        verify_line=(
            f"Vérifiez ce justificatif sur {t(data.verify_url)} avec son numéro de reçu et son code de "
            "vérification."
            if data.verify_url
            else None
        ),
    )


def _draw_receipt(pdf: _ReceiptPDF, c: ReceiptContent) -> None:
    """Draw one justificatif into ``pdf``, from a new page."""
    pdf.add_page()  # the previous justificatif's last footer is drawn first, with its own number
    pdf.footer_text = f"Espace ESAT — reçu n° {c.number}"
    pdf.first_page = pdf.page
    width = pdf.epw

    pdf.set_text_color(60, 60, 110)
    _text(pdf, HEADER, "B", 9, 5)
    pdf.set_text_color(0)
    _text(pdf, c.title, "B", 16, 8)
    _text(pdf, c.form_title, "", 10, 5)
    pdf.ln(3)

    heading = f"Numéro de reçu : {c.number}"
    _font(pdf, "B", 11)
    box = 3 + 6 * (len(_lines(pdf, heading, width)) + 1)
    pdf.set_fill_color(236, 240, 248)
    top = pdf.get_y()
    pdf.rect(pdf.l_margin, top, width, box, style="F")
    pdf.set_y(top + 1.5)
    _text(pdf, heading, "B", 11, 6)
    _text(pdf, c.received, "", 10, 6)
    pdf.set_y(top + box)
    for note in (c.campaign, c.replaces):
        if note:
            pdf.ln(2)
            _text(pdf, note, "B", 10, 5)

    label_w = 45.0
    for title, rows in (("Établissement", c.establishment), ("Travailleur", c.worker)):
        _section(pdf, title)
        for label, value in rows:
            _row(pdf, [(label, label_w, "L", ""), (value, width - label_w, "L", "")], muted_first=True)

    _section(pdf, "Valeurs déclarées")
    _values_table(pdf, width, c.values)
    if c.derived:
        _section(pdf, "Informations calculées (indicatives)")
        _values_table(pdf, width, c.derived)

    pdf.ln(6)
    _text(pdf, c.form_line, "", 9, 5)
    _text(pdf, c.author_line, "", 9, 5)
    _text(pdf, c.code_line, "B", 9, 5)
    if c.verify_line:
        _text(pdf, c.verify_line, "", 9, 5)
    pdf.ln(2)
    _text(pdf, NOTICE, "", 9, 4.5)


# Drawing helpers. Text is cut into lines once (as is when it fits, fpdf2's word wrapping
# otherwise) and drawn line by line with ``_cell``: rows never straddle a page break.
LINE = 5.0  # line height of table text (mm)
PAD = 1.0  # vertical padding of a table row (mm)
MAX_LINES = 40  # lines of one cell (a cut text is far shorter; keeps every row within a page)
# Characters fpdf2's line breaking treats specially, besides the space; ``clean`` removes them.
_WRAP_SLOW = frozenset("\n\r\f\u00ad" + BREAKING_SPACE_SYMBOLS_STR.replace(" ", ""))
_TOLERANCE = 1e-9  # fpdf2's FloatTolerance


def _width(pdf: FPDF, text: str) -> float:
    """``pdf.get_string_width(text)`` in the current font, computed as fpdf2 does (sum of the
    glyph widths, times the size) without building its styled fragments."""
    widths = pdf.current_font.cw
    return sum(map(widths.__getitem__, map(ord, text))) * pdf.font_size_pt * 0.001 / pdf.k


def _lines(pdf: FPDF, text: str, width: float) -> list[str]:
    if _width(pdf, text) <= width - 2 * pdf.c_margin:
        return [text]
    lines = _wrap(pdf, text, width, MAX_LINES + 1)
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], lines[MAX_LINES - 1][:-1] + "…"]
    return lines or [""]


def _wrap(pdf: FPDF, text: str, width: float, max_lines: int) -> list[str]:
    """The first ``max_lines`` lines of
    ``pdf.multi_cell(width, text=text, align="L", dry_run=True, output="LINES")``, computed
    the same way as fpdf2 2.8.9's ``MultiLineBreak`` for one fragment (a line ends before the
    first character that does not fit: there if it is a space, which is dropped, else at the
    last space of the line, dropped too, else before that character; a non-breaking space is
    returned as a space), but from prefix sums of the glyph widths, where fpdf2 re-measures
    the whole line at every character."""
    widths = pdf.current_font.cw
    if not _WRAP_SLOW.isdisjoint(text) or (NBSP in text and widths[ord(NBSP)] != widths[ord(" ")]):
        # Line feeds, soft hyphens, other breaking spaces: never in a text from ``clean``.
        lines = pdf.multi_cell(width, LINE, text, align="L", dry_run=True, output="LINES")
        return list(lines[:max_lines])
    size, k = pdf.font_size_pt, pdf.k
    room = width
    room -= pdf.c_margin
    room -= pdf.c_margin
    sure = room / (size * 0.001 / k) - 1  # font units that surely fit (the exact test is fpdf2's)
    sums = [0, *itertools.accumulate(map(widths.__getitem__, map(ord, text)))]  # units of text[:j]
    end = len(text)
    lines: list[str] = []
    start = 0
    forced_at: int | None = None
    while start < end and len(lines) < max_lines:
        begin = start
        last_forced, forced_at = forced_at, None
        # The first character that does not fit: none of those before ``j`` can fail the test.
        j = bisect.bisect_left(sums, sums[begin] + sure, begin + 1) - 1
        while j < end:
            units, w = sums[j] - sums[begin], sums[j + 1] - sums[j]
            if (units * size * 0.001 / k + w * size * 0.001 / k) - room > _TOLERANCE:
                break
            j += 1
        if j >= end:  # the rest fits
            stop, start = end, end
        elif text[j] == " ":  # the space is dropped
            stop, start = j, j + 1
        elif (space := text.rfind(" ", begin, j)) >= 0:  # back to the last space, dropped
            stop, start = space, space + 1
        elif last_forced == j:
            raise FPDFException("Not enough horizontal space to render a single character")
        else:  # a word longer than the line: cut before this character
            stop = start = forced_at = j
        lines.append(text[begin:stop].replace(NBSP, " "))
    return lines


def _cell(pdf: FPDF, w: float, h: float, text: str, align: str) -> None:
    """One line of ``text`` in a ``w`` × ``h`` box at the current position, placed as
    ``pdf.cell(w, h, text, align=align)`` places it (padding ``c_margin``, same baseline,
    page break first if the box does not fit), then the position moves down by ``h``.

    ``pdf.text`` writes the line without fpdf2's styled-fragment machinery, which was the
    larger part of the drawing time; the text is one font, no markup, no link."""
    if pdf.will_page_break(h):
        x = pdf.x
        pdf.add_page()
        pdf.x = x
    if text:
        if align == "L":
            dx = pdf.c_margin
        else:
            free = w - _width(pdf, text)
            dx = free - pdf.c_margin if align == "R" else free / 2
        pdf.text(pdf.x + dx, pdf.y + (0.5 * h + 0.3 * pdf.font_size), text)
    pdf.y += h


def _font(pdf: FPDF, style: str, size: float) -> None:
    """``pdf.set_font(FAMILY, style, size)``, unless that is the current font already
    (``set_font`` normalises its arguments before finding out: a tenth of a line's time)."""
    if pdf.font_style != style or pdf.font_size_pt != size or pdf.font_family != FAMILY:
        pdf.set_font(FAMILY, style, size)


def _text(pdf: FPDF, text: str, style: str, size: float, line_height: float) -> None:
    """A paragraph across the page."""
    _font(pdf, style, size)
    for line in _lines(pdf, text, pdf.epw):
        _cell(pdf, pdf.epw, line_height, line, "L")
        pdf.x = pdf.l_margin


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
    cut = []
    for text, w, _align, style in cells:
        _font(pdf, style, 10)
        cut.append(_lines(pdf, text, w))
    return cut, max(len(lines) for lines in cut) * LINE + 2 * PAD


def _draw(
    pdf: FPDF, cells: Cells, cut: list[list[str]], height: float, *, muted_first: bool, fill: bool, rule: bool
) -> None:
    top, x = pdf.get_y(), pdf.l_margin
    if fill:
        pdf.rect(x, top, sum(c[1] for c in cells), height, style="F")
    for i, ((_, w, align, style), lines) in enumerate(zip(cells, cut, strict=True)):
        _font(pdf, style, 10)
        pdf.set_text_color(85 if muted_first and i == 0 else 0)
        pdf.set_xy(x, top + PAD)
        for line in lines:
            _cell(pdf, w, LINE, line, align)
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
