"""Validation of declarations: rules, named checks, calendar, dated parameters. No Streamlit."""

from rules.engine import Issue, Report, validate

__all__ = ["Issue", "Report", "validate"]
