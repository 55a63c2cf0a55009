"""Dashboards and PDFs for everyone (issue 14, point 6): French figures, the text alternative of
each chart, and the language, title and reading order of the PDF justificatif."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from forms import fmt
from services import accounts, backoffice
from services.pdf import render_receipt, render_receipts
from tests.test_pdf import long_form, receipt
from ui import charts

NBSP = "\u00a0"


# -- French figures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1 000"),
        (1234, "1 234"),
        (1234567, "1 234 567"),
        (-1234, "-1 234"),
    ],
)
def test_integers_group_thousands_with_a_no_break_space(value: int, text: str) -> None:
    assert fmt.integer(value) == text.replace(" ", NBSP)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_an_integer_reads_back_and_groups_by_three(value: int) -> None:
    text = fmt.integer(value)
    assert int(text.replace(NBSP, "")) == value
    assert all(len(group) == 3 for group in text.lstrip("-").split(NBSP)[1:])
    assert " " not in text and "," not in text


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (3.75, 1, "3,8"),  # half up, not to even
        (3.85, 1, "3,9"),
        (4, 1, "4,0"),
        (1234.56, 1, "1 234,6"),
        (Decimal("2.675"), 2, "2,68"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (-12.34, 1, "-12,3"),
        (1234.5, 0, "1 235"),
    ],
)
def test_decimals_use_a_comma_and_round_half_up(value: float, places: int, text: str) -> None:
    assert fmt.decimal(value, places) == text.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("share", "places", "text"),
    [
        (0.125, 1, "12,5 %"),
        (0.5, 1, "50,0 %"),
        (1, 1, "100,0 %"),
        (0, 1, "0,0 %"),
        (0.625, 0, "63 %"),
        (0.1225, 1, "12,3 %"),  # 12.25 rounds up, although 0.1225 is not exact in binary
        (12.345, 0, "1 235 %"),
    ],
)
def test_percentages_are_french(share: float, places: int, text: str) -> None:
    assert fmt.percent(share, places) == text.replace(" ", NBSP)


def test_months_are_written_in_words() -> None:
    assert fmt.month(date(2026, 11, 1)) == "novembre 2026"
    assert fmt.month(pd.Timestamp("2027-02-01")) == "février 2027"
    assert [fmt.month(date(2026, m, 1)).split()[0] for m in (1, 8, 12)] == ["janvier", "août", "décembre"]


# -- charts: accessible name, French locale, table of figures ------------------------------


def _n(text: str) -> str:
    return text.replace(" ", NBSP)


def weekly() -> pd.DataFrame:
    frame = pd.DataFrame(
        {"week": pd.to_datetime(["2026-11-30", "2026-12-07", "2026-12-14"]), "received": [12, 1300, 0]}
    )
    frame["cumulative"] = frame["received"].cumsum()
    return frame


def test_weekly_progress_table_lists_each_week() -> None:
    table = charts.weekly_progress_table(weekly())
    assert table.to_dict("list") == {
        "Semaine du": ["30/11/2026", "07/12/2026", "14/12/2026"],
        "Reçus dans la semaine": ["12", _n("1 300"), "0"],
        "Total reçu": ["12", _n("1 312"), _n("1 312")],
    }


def test_monthly_by_type_table_has_a_row_per_month_and_a_column_per_type() -> None:
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-10-01", "2026-11-01", "2026-11-01"]),
            "type": ["Départ de l'ESAT", "Départ de l'ESAT", "Retour dans l'ESAT"],
            "declarations": [1200, 1, 2],
        }
    )
    table = charts.monthly_by_type_table(frame)
    assert list(table.columns) == ["Mois", "Départ de l'ESAT", "Retour dans l'ESAT"]
    assert table.values.tolist() == [["octobre 2026", _n("1 200"), "0"], ["novembre 2026", "1", "2"]]


def test_bars_table_is_sorted_as_the_bars() -> None:
    frame = pd.DataFrame({"motif": ["Retraite", "Démission", "Décès"], "departures": [3, 1500, 3]})
    table = charts.bars_table(frame, "motif", "departures", "Motif", "Départs")
    assert table.to_dict("list") == {
        "Motif": ["Démission", "Retraite", "Décès"],
        "Départs": [_n("1 500"), "3", "3"],
    }


def test_started_ended_table() -> None:
    frame = pd.DataFrame(
        {"month": pd.to_datetime(["2026-10-01", "2026-11-01"]), "started": [2, 0], "ended": [1, 3]}
    )
    assert charts.started_ended_table(frame).to_dict("list") == {
        "Mois": ["octobre 2026", "novembre 2026"],
        "Débuts": ["2", "0"],
        "Fins": ["1", "3"],
    }


def test_rate_changes_chart_and_table_show_the_same_classes() -> None:
    frame = pd.DataFrame(
        {
            "change": [Decimal("-37.5"), -30.0, -0.5, 0.0, 20.0, 50.0, 59.9],
            "declarations": [1, 2, 4, 3, 4, 5, 6],
        }
    )
    table = charts.rate_changes_table(frame)
    assert table.to_dict("list") == {
        "Variation du taux ESAT (points)": [
            "de -40 à moins de -30",
            "de -30 à moins de -20",
            "de -10 à moins de 0",
            "de 0 à moins de 10",
            "de 20 à moins de 30",
            "de 50 à moins de 60",
        ],
        "Déclarations": ["1", "2", "4", "3", "4", "11"],
    }
    drawn = charts.rate_changes(frame).to_dict()
    values = drawn["datasets"][next(iter(drawn["datasets"]))]
    assert [(v["start"], v["end"], v["declarations"]) for v in values] == [
        (-40, -30, 1),
        (-30, -20, 2),
        (-10, 0, 4),
        (0, 10, 3),
        (20, 30, 4),
        (50, 60, 11),
    ]


def test_rating_trend_table() -> None:
    frame = pd.DataFrame(
        {"month": pd.to_datetime(["2026-10-01", "2026-11-01"]), "average": [3.75, 4.0], "count": [3, 1500]}
    )
    assert charts.rating_trend_table(frame).to_dict("list") == {
        "Mois": ["octobre 2026", "novembre 2026"],
        "Note moyenne (sur 5)": ["3,8", "4,0"],
        "Avis": ["3", _n("1 500")],
    }


def every_chart() -> dict[str, dict]:
    months = pd.to_datetime(["2026-10-01", "2026-11-01"])
    return {
        "weekly_progress": charts.weekly_progress(weekly(), date(2027, 1, 15)).to_dict(),
        "monthly_by_type": charts.monthly_by_type(
            pd.DataFrame({"month": months, "type": ["A", "B"], "declarations": [1, 2]})
        ).to_dict(),
        "bars": charts.bars(
            pd.DataFrame({"motif": ["a"], "departures": [1]}), "motif", "departures", "Motif", "Départs"
        ).to_dict(),
        "started_ended": charts.started_ended(
            pd.DataFrame({"month": months, "started": [1, 0], "ended": [0, 1]})
        ).to_dict(),
        "rate_changes": charts.rate_changes(pd.DataFrame({"change": [-10.0], "declarations": [1]})).to_dict(),
        "rating_trend": charts.rating_trend(
            pd.DataFrame({"month": months, "average": [4.0, 3.0], "count": [1, 2]})
        ).to_dict(),
    }


@pytest.mark.parametrize("name", list(every_chart()))
def test_every_chart_is_named_and_speaks_french(name: str) -> None:
    spec = every_chart()[name]
    # Vega sets the container's aria-label (role "graphics-document") from the description.
    assert spec["description"].endswith(charts.SEE_TABLE)
    assert len(spec["description"]) > len(charts.SEE_TABLE) + 20
    locale = spec["config"]["locale"]
    assert (locale["number"]["decimal"], locale["number"]["thousands"]) == (",", NBSP)
    assert locale["time"]["months"][10] == "novembre"
    assert "%B" not in locale["time"]["date"]  # dates print JJ/MM/AAAA


def test_the_deadline_line_has_a_name() -> None:
    # axe's svg-img-alt: Vega gives each SVG mark a role; an unnamed rule was a violation.
    layers = every_chart()["weekly_progress"]["layer"]
    rule = next(
        layer for group in layers for layer in group.get("layer", [group]) if layer["mark"]["type"] == "rule"
    )
    assert rule["encoding"]["description"] == {"value": "Échéance : 15/01/2027"}


def test_category_colours_contrast_with_white() -> None:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in [*charts.PALETTE, charts.BLUE, charts.RED]:
        assert 1.05 / (luminance(colour) + 0.05) >= 3, colour  # WCAG 1.4.11, graphical objects
    assert len(set(charts.PALETTE)) >= len(backoffice.form_titles())  # one colour per type


def _show_app() -> None:
    import pandas as pd

    from ui import charts

    frame = pd.DataFrame({"motif": ["Démission", "Retraite"], "departures": [1500, 3]})
    args = (frame, "motif", "departures", "Motif", "Départs")
    charts.show(charts.bars(*args), charts.bars_table(*args), "Départs par motif")


def test_show_puts_the_table_under_the_chart_in_a_named_expander() -> None:
    at = AppTest.from_function(_show_app, default_timeout=30).run()
    assert not at.exception
    [expander] = at.expander
    assert expander.label == "Voir les données : Départs par motif"
    [table] = expander.table
    assert table.proto.alt == "Données du graphique : Départs par motif"
    shown = table.value
    assert shown.index.name == "Motif"  # the first column heads the rows
    assert shown.to_dict() == {"Départs": {"Démission": _n("1 500"), "Retraite": "3"}}


def test_tables_of_the_demo_dashboards_match_their_figures(env, store) -> None:
    agent = accounts.get(store, store.scalar("SELECT id FROM account WHERE login = 'agent.caf@example.org'"))
    since = date(2024, 1, 1)

    def total(column: pd.Series) -> int:
        return sum(int(text.replace(NBSP, "")) for text in column)

    frame = backoffice.campaign_by_week(store, agent, 2026)
    assert len(frame)
    table = charts.weekly_progress_table(frame)
    assert total(table["Reçus dans la semaine"]) == backoffice.campaign_totals(store, agent, 2026).received
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", day) for day in table["Semaine du"])

    by_month = backoffice.changes_by_month(store, agent, since)
    table = charts.monthly_by_type_table(by_month)
    assert sum(total(table[c]) for c in table.columns[1:]) == int(by_month["declarations"].sum())
    assert all(re.fullmatch(r"[a-zéû]+ \d{4}", month) for month in table["Mois"])

    changes = backoffice.rate_changes(store, agent, since)
    assert total(charts.rate_changes_table(changes)["Déclarations"]) == int(changes["declarations"].sum())

    double = backoffice.double_activity_counts(store, agent, since)
    table = charts.started_ended_table(double)
    assert total(table["Débuts"]) + total(table["Fins"]) == int(double[["started", "ended"]].sum().sum())

    motifs = backoffice.departures_by_motif(store, agent, since)
    table = charts.bars_table(motifs, "motif", "departures", "Motif", "Départs")
    assert total(table["Départs"]) == int(motifs["departures"].sum())

    trend = backoffice.feedback_trend(store, agent)
    table = charts.rating_trend_table(trend)
    assert total(table["Avis"]) == int(trend["count"].sum())
    assert all(re.fullmatch(r"[1-5],\d", note) for note in table["Note moyenne (sur 5)"])


# -- the PDF justificatif -------------------------------------------------------------------


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf), strict=True)


@pytest.mark.parametrize(
    ("kind", "title"),
    [("one", "Justificatif de certificat d'emploi"), ("several", "Justificatifs de dépôt")],
)
def test_the_pdf_has_its_language_and_shows_its_title(kind: str, title: str) -> None:
    pdf = render_receipt(receipt()) if kind == "one" else render_receipts([receipt(), receipt()])
    document = read(pdf)
    catalog = document.trailer["/Root"]
    assert catalog["/Lang"] == "fr-FR"
    assert document.metadata is not None and document.metadata.title == title
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True  # the window shows the title
    assert document.pdf_header >= "%PDF-1.4"  # /Lang and /DisplayDocTitle are PDF 1.4
    # Untagged, on purpose: no partial structure tree that would hide the text from readers.
    assert "/StructTreeRoot" not in catalog and "/MarkInfo" not in catalog


def drawn(pdf: bytes) -> list[list[str]]:
    """The texts of each page in the order the content stream draws them (the reading order
    of an untagged PDF), runs of spaces collapsed."""
    pages = []
    for page in read(pdf).pages:
        texts: list[str] = []
        page.extract_text(visitor_text=lambda text, *_, into=texts: into.append(text))
        pages.append([t for t in (" ".join(t.replace(NBSP, " ").split()) for t in texts) if t])
    return pages


def in_order(items: list[str], expected: list[str]) -> bool:
    position = 0
    for text in items:
        if position < len(expected) and expected[position] in text:
            position += 1
    return position == len(expected)


def test_the_pdf_is_drawn_in_reading_order() -> None:
    [page] = drawn(render_receipt(receipt(verify_url="https://esat.example.org/verification")))
    expected = [
        "Espace ESAT — Caf",
        "Justificatif de certificat d'emploi",
        "Numéro de reçu : ESAT-2026-00000042",
        "Reçu le 03/12/2026 à 14:05",
        "Campagne 2026",
        "Établissement",
        "ESAT",
        "ESAT Les Ateliers du Rhône",
        "Adresse",
        "12 rue de la Paix",
        "Travailleur",
        "Nom et prénom",
        "DUPONT Zoé",
        "Valeurs déclarées",
        "Rubrique",
        "Valeur",
        "Montant brut de la rémunération garantie",
        "1 234,56 €",  # each value right after its label
        "Montant brut de l'aide au poste",
        "700,00 €",
        "Informations calculées (indicatives)",
        "Part financée par l'ESAT en % du SMIC mensuel brut",
        "29,81 %",
        "Formulaire certificat_emploi",
        "Déclaré par Marie Martin",
        "Code de vérification : ABCD-EF01-2345",
        "Vérifiez ce justificatif",
        "preuve du dépôt",
        "page 1/1",  # the footer last
    ]
    assert in_order(page, expected), page
    assert "page 1/1" in page[-1]


def test_a_long_pdf_reads_page_by_page_with_the_footer_last() -> None:
    form = long_form()
    values = {f"t{i}": f"valeur{i} " + "mot " * 45 for i in range(30)}
    pages = drawn(render_receipt(receipt(form=form, values=values, derived={})))
    assert len(pages) >= 2
    flat = [text for page in pages for text in page]
    assert in_order(flat, [part for i in range(30) for part in (f"Rubrique {i}", f"valeur{i}")])
    for number, page in enumerate(pages, start=1):
        assert f"page {number}/{len(pages)}" in page[-1]
    assert pages[1][0] == "Rubrique"  # the table's heading row is repeated first on a new page
