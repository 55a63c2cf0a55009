"""Storage: connection, numbered migrations, demo data. No Streamlit here."""
