"""The layering holds: Streamlit only in app.py, pages/ and ui/; security settings as documented."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds the baseline apps of the screen benchmark; scripts/loadgen.py speaks Streamlit's
# protocol (its protobuf classes) to drive the app; scripts/bench_campaign.py times a page in
# AppTest, as the tests do: none is part of the app.
STREAMLIT_ALLOWED = (
    "app.py",
    "pages/",
    "ui/",
    "tests/",
    "bench/",
    "scripts/loadgen.py",
    "scripts/bench_campaign.py",
)


def python_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "__pycache__" not in p.parts]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_streamlit_is_imported_only_at_the_edge():
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files()
        if "streamlit" in imports(p) and not str(p.relative_to(ROOT)).startswith(STREAMLIT_ALLOWED)
    ]
    assert offenders == []
    # The check can fail: the UI does import streamlit.
    assert "streamlit" in imports(ROOT / "ui" / "state.py")


def test_lower_layers_do_not_import_upper_ones():
    rules = {
        "forms": {"rules", "services", "data", "ui", "pages"},
        "rules": {"services", "data", "ui", "pages"},
    }
    rules["data"] = {"ui", "pages"}
    rules["services"] = {"ui", "pages"}
    for package, forbidden in rules.items():
        for path in (ROOT / package).rglob("*.py"):
            assert not imports(path) & forbidden, (
                f"{path.relative_to(ROOT)} imports {imports(path) & forbidden}"
            )


def test_security_relevant_streamlit_config():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableStaticServing"] is False
    assert config["server"]["maxUploadSize"] <= 50


def html_calls(tree: ast.AST) -> list[str]:
    """The argument of each ``st.html(…)`` call, as source."""
    return [
        ast.unparse(node.args[0]) if node.args else ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "html"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "st"
    ]


def test_no_raw_html_from_the_code():
    """No HTML from the code, so none built from data. One exception: the focus style of
    ui/layout.py, a string literal holding one <style> element and nothing else."""
    found = {}
    for path in python_files():
        if "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "unsafe_allow_html" not in text, path
        if calls := html_calls(ast.parse(text)):
            found[str(path.relative_to(ROOT))] = calls
    assert found == {"ui/layout.py": ["FOCUS_STYLE"]}
    layout = ast.parse((ROOT / "ui" / "layout.py").read_text(encoding="utf-8"))
    [value] = [
        node.value
        for node in layout.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["FOCUS_STYLE"]
    ]
    assert isinstance(value, ast.Constant) and re.fullmatch(r"<style>[^<]*</style>", value.value)


def test_every_page_is_routed_by_app_py():
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    for page in (ROOT / "pages").glob("*.py"):
        assert f'"pages/{page.name}"' in app, f"{page.name} is not in app.py's navigation"
