"""Altair charts of the Caf back office, with French titles and formats, and their text alternative.

Each chart has:
- a ``description``, which Vega puts as the ``aria-label`` of the chart's container (with
  ``role="graphics-document"``), so a screen reader names the chart;
- Vega's French number and date locale (``FRENCH``): axes and tooltips print ``1 234`` and
  ``3,5``, month names in French;
- a ``…_table`` function giving the table of its figures (French column names, values formatted
  by ``forms.fmt``), which ``show`` prints under the chart, in an expander, as an HTML table.
"""

from __future__ import annotations

import math
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from forms import fmt

DAY = "%d/%m/%Y"
DAY_SHORT = "%d/%m"
MONTH = "%m/%Y"
BLUE = "#000091"
RED = "#c9191e"
RATE_STEP = 10  # points of ESAT rate per bar of ``rate_changes``
# Colours of the categories (types, débuts/fins), each at least 3:1 against white (WCAG 1.4.11).
PALETTE = ["#000091", "#b34000", "#18753c", "#6a6af4", "#3a3a3a", "#a558a0", "#695240"]
COUNT_AXIS = alt.Axis(format=",d", tickMinStep=1)  # counts: no 0,5 between 0 and 1
MONTH_AXIS = alt.Axis(format=MONTH, labelAngle=0, tickCount={"interval": "month", "step": 1})
MONTH_LABELS = alt.Axis(format=MONTH, labelAngle=0)  # months as categories (``yearmonth(month):O``)

SHORT_MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
# d3's fr-FR number and time locales (Vega-Lite ``config.locale``).
FRENCH = alt.Locale(
    number=alt.NumberLocale(
        decimal=",", thousands="\u00a0", grouping=[3], currency=["", "\u00a0€"], percent="\u00a0%"
    ),
    time=alt.TimeLocale(
        dateTime="%A %e %B %Y à %X",
        date="%d/%m/%Y",
        time="%H:%M:%S",
        periods=["AM", "PM"],
        days=["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        shortDays=["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        months=list(fmt.MONTHS),
        shortMonths=list(SHORT_MONTHS),
    ),
)
SEE_TABLE = "Les chiffres sont dans le tableau « Voir les données » sous le graphique."


def _finish(chart: alt.TopLevelMixin, description: str) -> alt.TopLevelMixin:
    """The chart's accessible name and French locale."""
    return chart.properties(description=f"{description} {SEE_TABLE}").configure(locale=FRENCH)


def show(chart: alt.TopLevelMixin, table: pd.DataFrame, name: str) -> None:
    """``chart`` across the page and, right under it, the table of its figures in an expander
    named after the chart (several charts on a page give distinct names). The first column
    of ``table`` (the month, week or category) heads each row."""
    st.altair_chart(chart, width="stretch")
    with st.expander(f"Voir les données : {name}"):
        st.table(table.set_index(table.columns[0]), alt=f"Données du graphique : {name}")


def _day(value: object) -> str:
    return fmt.day(pd.Timestamp(value))


def _month(value: object) -> str:
    return fmt.month(pd.Timestamp(value))


def weekly_progress(frame: pd.DataFrame, milestone: date) -> alt.TopLevelMixin:
    """Certificats received per week (bars) and in total (line), with the 15 January milestone."""
    base = alt.Chart(frame).encode(x=alt.X("week:T", title="Semaine du", axis=alt.Axis(format=DAY_SHORT)))
    bars = base.mark_bar(color=BLUE, opacity=0.5, size=14).encode(
        y=alt.Y("received:Q", title="Reçus dans la semaine", axis=COUNT_AXIS),
        tooltip=[
            alt.Tooltip("week:T", title="Semaine du", format=DAY),
            alt.Tooltip("received:Q", title="Reçus", format=",d"),
        ],
    )
    line = base.mark_line(color=BLUE, point=True).encode(
        y=alt.Y("cumulative:Q", title="Total reçu", axis=COUNT_AXIS),
        tooltip=[
            alt.Tooltip("week:T", title="Semaine du", format=DAY),
            alt.Tooltip("cumulative:Q", title="Total", format=",d"),
        ],
    )
    deadline = f"Échéance : {fmt.day(milestone)}"
    rule = (
        alt.Chart(frame)
        .mark_rule(color=RED, strokeDash=[6, 4], size=2)
        .encode(
            x=alt.datum(alt.DateTime(year=milestone.year, month=milestone.month, date=milestone.day)),
            description=alt.value(deadline),  # the SVG line's name (axe: svg-img-alt)
            tooltip=alt.value(deadline),
        )
    )
    return _finish(
        alt.layer(bars + rule, line).resolve_scale(y="independent"),
        "Graphique : certificats reçus chaque semaine (barres) et total reçu (ligne), "
        f"avec l'échéance du {fmt.day(milestone)} (trait rouge).",
    )


def weekly_progress_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Semaine du": frame["week"].map(_day),
            "Reçus dans la semaine": frame["received"].map(fmt.integer),
            "Total reçu": frame["cumulative"].map(fmt.integer),
        }
    )


def monthly_by_type(frame: pd.DataFrame) -> alt.TopLevelMixin:
    chart = (
        alt.Chart(frame)
        .mark_bar(stroke="white", strokeWidth=1)  # a line between the types of a month
        .encode(
            x=alt.X("yearmonth(month):O", title="Mois", axis=MONTH_LABELS),  # a bar per month
            y=alt.Y("declarations:Q", title="Déclarations", axis=COUNT_AXIS),
            color=alt.Color("type:N", title="Type", scale=alt.Scale(range=PALETTE)),
            tooltip=[
                alt.Tooltip("month:T", title="Mois", format="%B %Y"),
                alt.Tooltip("type:N", title="Type"),
                alt.Tooltip("declarations:Q", title="Déclarations", format=",d"),
            ],
        )
    )
    return _finish(
        chart, "Graphique : changements de situation reçus chaque mois, par type (barres empilées)."
    )


def monthly_by_type_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per month, one column per type (0 where none was received)."""
    counts = frame.pivot_table(
        index="month", columns="type", values="declarations", aggfunc="sum", fill_value=0
    )
    table = counts.map(fmt.integer).reset_index()
    table.columns.name = None
    table["month"] = table["month"].map(_month)
    return table.rename(columns={"month": "Mois"})


def bars(
    frame: pd.DataFrame, category: str, value: str, category_title: str, value_title: str
) -> alt.TopLevelMixin:
    chart = (
        alt.Chart(frame)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(f"{value}:Q", title=value_title, axis=COUNT_AXIS),
            y=alt.Y(f"{category}:N", title=category_title, sort="-x"),
            tooltip=[
                alt.Tooltip(f"{category}:N", title=category_title),
                alt.Tooltip(f"{value}:Q", title=value_title, format=",d"),
            ],
        )
    )
    return _finish(chart, f"Graphique en barres : {value_title.lower()} par {category_title.lower()}.")


def bars_table(
    frame: pd.DataFrame, category: str, value: str, category_title: str, value_title: str
) -> pd.DataFrame:
    """The bars from the longest, as the chart sorts them."""
    ordered = frame.sort_values(value, ascending=False, kind="stable")
    return pd.DataFrame(
        {category_title: ordered[category].astype(str), value_title: ordered[value].map(fmt.integer)}
    ).reset_index(drop=True)


def started_ended(frame: pd.DataFrame) -> alt.TopLevelMixin:
    long = frame.melt(id_vars="month", value_vars=["started", "ended"], var_name="kind", value_name="count")
    long["kind"] = long["kind"].map({"started": "Débuts", "ended": "Fins"})
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            # Months as categories: the two bars of a month side by side (``xOffset`` needs them).
            x=alt.X("yearmonth(month):O", title="Mois", axis=MONTH_LABELS),
            xOffset="kind:N",
            y=alt.Y("count:Q", title="Doubles activités", axis=COUNT_AXIS),
            color=alt.Color("kind:N", title="", scale=alt.Scale(range=PALETTE)),
            tooltip=[
                alt.Tooltip("month:T", title="Mois", format="%B %Y"),
                alt.Tooltip("kind:N", title=""),
                alt.Tooltip("count:Q", title="Nombre", format=",d"),
            ],
        )
    )
    return _finish(
        chart, "Graphique : débuts et fins de double activité déclarés chaque mois (barres côte à côte)."
    )


def started_ended_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Mois": frame["month"].map(_month),
            "Débuts": frame["started"].map(fmt.integer),
            "Fins": frame["ended"].map(fmt.integer),
        }
    )


def _rate_bins(frame: pd.DataFrame) -> pd.DataFrame:
    """Declarations per class of ``RATE_STEP`` points of change: from ``start`` (included) to
    ``end`` (excluded). The chart draws these classes and the table lists them."""
    start = frame["change"].map(lambda change: math.floor(float(change) / RATE_STEP) * RATE_STEP)
    classes = (
        pd.DataFrame({"start": start, "declarations": frame["declarations"].astype(int)})
        .groupby("start", as_index=False)["declarations"]
        .sum()
    )
    classes["end"] = classes["start"] + RATE_STEP
    return classes


def rate_changes(frame: pd.DataFrame) -> alt.TopLevelMixin:
    chart = (
        alt.Chart(_rate_bins(frame))
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(
                "start:Q", title="Variation du taux ESAT (points)", bin=alt.Bin(binned=True, step=RATE_STEP)
            ),
            x2="end:Q",
            y=alt.Y("declarations:Q", title="Déclarations", axis=COUNT_AXIS),
            tooltip=[
                alt.Tooltip("start:Q", title="De (points)"),
                alt.Tooltip("end:Q", title="À moins de (points)"),
                alt.Tooltip("declarations:Q", title="Déclarations", format=",d"),
            ],
        )
    )
    return _finish(
        chart,
        f"Histogramme : nombre de déclarations selon la variation du taux d'activité en ESAT, "
        f"par tranches de {RATE_STEP} points.",
    )


def rate_changes_table(frame: pd.DataFrame) -> pd.DataFrame:
    classes = _rate_bins(frame)
    return pd.DataFrame(
        {
            "Variation du taux ESAT (points)": [
                f"de {fmt.integer(start)} à moins de {fmt.integer(end)}"
                for start, end in zip(classes["start"], classes["end"], strict=True)
            ],
            "Déclarations": classes["declarations"].map(fmt.integer),
        }
    )


def rating_trend(frame: pd.DataFrame) -> alt.TopLevelMixin:
    chart = (
        alt.Chart(frame)
        .mark_line(point=True, color=BLUE)
        .encode(
            x=alt.X("month:T", title="Mois", axis=MONTH_AXIS),
            y=alt.Y("average:Q", title="Note moyenne (sur 5)", scale=alt.Scale(domain=[1, 5])),
            tooltip=[
                alt.Tooltip("month:T", title="Mois", format="%B %Y"),
                alt.Tooltip("average:Q", title="Note moyenne", format=".1f"),
                alt.Tooltip("count:Q", title="Avis", format=",d"),
            ],
        )
    )
    return _finish(chart, "Graphique : note moyenne des avis (sur 5) chaque mois (ligne).")


def rating_trend_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Mois": frame["month"].map(_month),
            "Note moyenne (sur 5)": frame["average"].map(fmt.decimal),
            "Avis": frame["count"].map(fmt.integer),
        }
    )
