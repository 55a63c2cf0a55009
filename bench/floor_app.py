"""Baseline for scripts/bench_screens.py: the framework's floor, a title and a button."""

import streamlit as st

st.title("Plancher")
st.button("Bouton")
