"""The accessibility audit of a screen: axe-core injected with Playwright into Debian's chromium.

axe-core comes from the npm registry at the version pinned in the Makefile (``make axe`` unpacks
it into ``.cache/axe/``). ``audit(page)`` runs its WCAG 2.0/2.1 A and AA rules on the page as it
stands once Streamlit has finished its script run, and adds the checks of the issue that axe's
WCAG rules leave out (one h1, ``lang="fr"``, the page title). docs/accessibility.md has the
screens covered and what was fixed.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parent.parent
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TITLE_SUFFIX = " – Espace ESAT"


def axe_version() -> str:
    """The axe-core version pinned in the Makefile (``AXE_VERSION := x.y.z``)."""
    found = re.search(r"^AXE_VERSION := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert found, "AXE_VERSION is not set in the Makefile"
    return found.group(1)


def axe_script() -> Path:
    path = ROOT / ".cache" / "axe" / f"axe-core-{axe_version()}" / "axe.min.js"
    assert path.exists(), f"axe-core is missing ({path}): run `make axe` (make test does it)"
    return path


def settle(page: Page) -> None:
    """Wait until Streamlit has drawn the page and its script run is over: no "running" widget,
    no skeleton, no element still shown as stale (greyed out) from the previous run."""
    expect(page.get_by_test_id("stApp")).to_be_visible()
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    expect(page.locator("[data-stale='true']")).to_have_count(0)
    # A dialog fading in is half transparent: wait for the finite CSS animations and transitions.
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter(a => a.effect && a.effect.getComputedTiming().iterations !== Infinity)
            .map(a => a.finished.catch(() => null)))"""
    )


def run_axe(page: Page, context: Any = None) -> list[dict[str, Any]]:
    """The axe violations of the page (or of ``context``, an axe context such as a selector)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_script()))
    return page.evaluate(
        """([context, tags]) => axe.run(context || document, {
               runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']
           }).then(r => r.violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
               nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))
           })))""",
        [context, TAGS],
    )


def structure_problems(page: Page, title: str) -> list[str]:
    """What the WCAG rules of axe do not check: one h1, headings without a skipped level,
    ``lang="fr"``, and the title "<screen> – Espace ESAT"."""
    with contextlib.suppress(AssertionError):  # the title may follow the run's end: reported below
        expect(page).to_have_title(title + TITLE_SUFFIX, timeout=5_000)
    found = page.evaluate(
        """() => ({
            lang: document.documentElement.lang,
            title: document.title,
            headings: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
                .filter(h => h.getClientRects().length > 0)
                .map(h => [Number(h.tagName[1]), h.innerText.trim()]),
        })"""
    )
    problems = []
    if found["lang"] != "fr":
        problems.append(f'<html lang="{found["lang"]}"> au lieu de "fr"')
    if found["title"] != title + TITLE_SUFFIX:
        problems.append(f"titre « {found['title']} » au lieu de « {title}{TITLE_SUFFIX} »")
    levels = [level for level, _ in found["headings"]]
    if levels.count(1) != 1:
        problems.append(f"{levels.count(1)} titre(s) h1 : {found['headings']}")
    for (before, _), (level, text) in zip(found["headings"], found["headings"][1:], strict=False):
        if level > before + 1:
            problems.append(f"niveau de titre sauté : h{before} puis h{level} « {text} »")
    return problems


def format_violations(violations: list[dict[str, Any]]) -> str:
    """One readable block per rule: id, impact, what it asks, each element with its fix."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            html = " ".join(node["html"].split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {html[:200]}")
            for line in (node["summary"] or "").splitlines():
                lines.append(f"      {line.strip()}")
    return "\n".join(lines)


def audit(page: Page, screen: str, title: str) -> list[str]:
    """Everything wrong with the page as it stands, as readable lines (empty: nothing).

    ``screen`` names what is audited in the report; ``title`` is the screen's expected title
    (without " – Espace ESAT")."""
    settle(page)
    problems = structure_problems(page, title)
    violations = run_axe(page)
    if violations:
        problems.append(format_violations(violations))
    return [f"{screen}: {p}" for p in problems]
