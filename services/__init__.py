"""Orchestration without Streamlit: accounts, declarations, receipts, email."""
