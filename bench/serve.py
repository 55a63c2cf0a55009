"""Serve a baseline script the way ui.server serves app.py (the same framework fixes).

.venv/bin/python -m bench.serve bench/floor_app.py [streamlit run options]
"""

import sys

from ui.server import serve

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    serve(sys.argv[1], sys.argv[2:])
