"""The figures of the accessibility audit, in one place: the "Déclaration d'accessibilité" page
(pages/accessibilite.py) shows them and tests/test_accessibility.py checks them against the audit
it runs (screens visited, axe-core version, rules run, violations found). docs/accessibility.md
tells how the audit works.
"""

from __future__ import annotations

from datetime import date

AUDITED_ON = date(2026, 12, 7)  # the day these figures were measured
AXE_VERSION = "4.14.1"  # axe-core, pinned in the Makefile (AXE_VERSION)
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
AXE_RULES = 69  # axe-core rules carrying one of AXE_TAGS in that version
SCREENS = 72  # screens audited by tests/test_accessibility.py, every role together
VIOLATIONS = 0  # axe violations, any impact, over every screen
CONFORMITY = "partiellement conforme"  # no full RGAA audit yet: never "totalement conforme"
CONTACT = "accessibilite@espace-esat.example.org"
