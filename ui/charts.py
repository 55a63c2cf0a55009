"""Altair charts of the Caf back office, with French titles and formats."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

DAY = "%d/%m/%Y"
DAY_SHORT = "%d/%m"
BLUE = "#000091"
RED = "#c9191e"


def weekly_progress(frame: pd.DataFrame, milestone: date) -> alt.LayerChart:
    """Certificats received per week (bars) and in total (line), with the 15 January milestone."""
    base = alt.Chart(frame).encode(x=alt.X("week:T", title="Semaine du", axis=alt.Axis(format=DAY_SHORT)))
    bars = base.mark_bar(color=BLUE, opacity=0.5, size=14).encode(
        y=alt.Y("received:Q", title="Reçus dans la semaine"),
        tooltip=[
            alt.Tooltip("week:T", title="Semaine du", format=DAY),
            alt.Tooltip("received:Q", title="Reçus"),
        ],
    )
    line = base.mark_line(color=BLUE, point=True).encode(
        y=alt.Y("cumulative:Q", title="Total reçu", axis=alt.Axis(format="d")),
        tooltip=[
            alt.Tooltip("week:T", title="Semaine du", format=DAY),
            alt.Tooltip("cumulative:Q", title="Total"),
        ],
    )
    rule = (
        alt.Chart(frame)
        .mark_rule(color=RED, strokeDash=[6, 4], size=2)
        .encode(x=alt.datum(alt.DateTime(year=milestone.year, month=milestone.month, date=milestone.day)))
    )
    return alt.layer(bars + rule, line).resolve_scale(y="independent")


def monthly_by_type(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("month:T", title="Mois", axis=alt.Axis(format="%m/%Y", labelAngle=0)),
            y=alt.Y("declarations:Q", title="Déclarations"),
            color=alt.Color("type:N", title="Type"),
            tooltip=[
                alt.Tooltip("month:T", title="Mois", format="%m/%Y"),
                alt.Tooltip("type:N", title="Type"),
                alt.Tooltip("declarations:Q", title="Déclarations"),
            ],
        )
    )


def bars(frame: pd.DataFrame, category: str, value: str, category_title: str, value_title: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(f"{value}:Q", title=value_title),
            y=alt.Y(f"{category}:N", title=category_title, sort="-x"),
            tooltip=[
                alt.Tooltip(f"{category}:N", title=category_title),
                alt.Tooltip(f"{value}:Q", title=value_title),
            ],
        )
    )


def started_ended(frame: pd.DataFrame) -> alt.Chart:
    long = frame.melt(id_vars="month", value_vars=["started", "ended"], var_name="kind", value_name="count")
    long["kind"] = long["kind"].map({"started": "Débuts", "ended": "Fins"})
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("month:T", title="Mois", axis=alt.Axis(format="%m/%Y", labelAngle=0)),
            xOffset="kind:N",
            y=alt.Y("count:Q", title="Doubles activités"),
            color=alt.Color("kind:N", title=""),
            tooltip=[alt.Tooltip("kind:N", title=""), alt.Tooltip("count:Q", title="Nombre")],
        )
    )


def rate_changes(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X("change:Q", title="Variation du taux ESAT (points)", bin=alt.Bin(step=10)),
            y=alt.Y("sum(declarations):Q", title="Déclarations"),
            tooltip=[alt.Tooltip("sum(declarations):Q", title="Déclarations")],
        )
    )


def rating_trend(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True, color=BLUE)
        .encode(
            x=alt.X("month:T", title="Mois", axis=alt.Axis(format="%m/%Y", labelAngle=0)),
            y=alt.Y("average:Q", title="Note moyenne (sur 5)", scale=alt.Scale(domain=[1, 5])),
            tooltip=[
                alt.Tooltip("month:T", title="Mois", format="%m/%Y"),
                alt.Tooltip("average:Q", title="Note moyenne", format=".1f"),
                alt.Tooltip("count:Q", title="Avis"),
            ],
        )
    )
