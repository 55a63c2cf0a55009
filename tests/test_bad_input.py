"""Bad input never crashes the real pages and never stores anything (AppTest, no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from data.store import Store
from services import declarations, partner
from tests import stores
from tests.apptest import button, no_legacy_pages
from tests.test_pages import logged_in, titles, to_workers

__all__ = ["no_legacy_pages"]

FORM_ID = "certificat_emploi"
VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
LONG = "1" * 10_000  # text_input has max_chars=20; set through the widget anyway
BAD_VALUES = [
    "abc",
    "-12",
    "12,345",
    "",
    "99999999999",
    "1e5",
    "=1+1",
    "<script>alert(1)</script>",
    "１２３",  # fullwidth digits
    "0x10",
    LONG,
]
HOSTILE_LAST = "**GRAS** [lien](http://evil.example) <b>x</b> `code`"
# PostgreSQL text cannot hold NUL (U+0000): the PostgreSQL pass uses another control character.
HOSTILE_FIRST = "Zoé\u202e" + ("\u0001" if stores.PG else "\u0000") + "'; DROP TABLE worker;--"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def walk(node: Any) -> Iterator[Any]:
    """Every element of the tree, in display order."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def shown(at) -> str:
    """Everything on screen (main and sidebar), each element's protobuf as text."""
    parts = []
    for root in (at.main, at.sidebar):
        for node in walk(root):
            proto = getattr(node, "proto", None)
            if proto is not None:
                parts.append(str(proto))
            for attr in ("value", "label", "body"):
                try:
                    parts.append(str(getattr(node, attr, "")))
                except Exception:  # some widgets have no value outside a run
                    continue
    return "\n".join(parts)


def stored(store: Store) -> tuple[int, int]:
    return store.scalar("SELECT count(*) FROM declaration"), store.scalar("SELECT count(*) FROM outbox")


def field_labels() -> dict[str, str]:
    return {f.id: f.label for f in declarations.forms()[FORM_ID].fields}


def choose_certificat(at, worker_id: int = 1):
    """Mes travailleurs → tile → Déclarer pour la sélection → Certificat d'emploi → fiche."""
    at.button(key=f"tile_{worker_id}").click().run()
    button(at, "Déclarer pour la sélection").click().run()
    assert at.radio, "the choice pop-up is open"
    at.radio[0].set_value(FORM_ID)
    button(at, "Confirmer").click().run()
    assert titles(at) == ["Fiche travailleur"]
    return at


def to_saisie():
    at = choose_certificat(to_workers(logged_in()))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    assert titles(at) == ["Certificat d'emploi"]
    return at


def field(at, field_id: str):
    return next(w for w in at.text_input if w.key and w.key.endswith(f"_{field_id}"))


@pytest.mark.parametrize(
    "bad", BAD_VALUES, ids=lambda v: repr(v[:12]) + (f"…{len(v)}" if len(v) > 12 else "")
)
def test_a_bad_amount_is_refused_next_to_its_field(env, store, bad):
    at = to_saisie()
    labels = field_labels()
    before = stored(store)
    for target in VALID:
        for field_id, good in VALID.items():
            field(at, field_id).set_value(bad if field_id == target else good)
        at.run()
        button(at, "Suivant : récapitulatif").click().run()

        where = f"{bad[:20]!r} in {target}"
        assert not at.exception, where
        assert titles(at) == ["Certificat d'emploi"], where
        assert "Étape 1 sur 3" in [c.value for c in at.caption], f"still on Saisie: {where}"
        assert [b for b in at.button if b.label == "Suivant : récapitulatif"], f"still on Saisie: {where}"
        nodes = list(walk(at.main))
        index = next(i for i, n in enumerate(nodes) if getattr(n, "key", None) == field(at, target).key)
        after = nodes[index + 1]
        assert type(after).__name__ == "Error", f"{where}: {type(after).__name__} after the field"
        assert f"« {labels[target]} »" in after.value, f"{where}: {after.value}"
        assert stored(store) == before, where
    assert not at.exception


def test_hostile_worker_names_are_shown_literally(env, store):
    store.execute(
        "UPDATE worker SET last_name = ?, first_name = ? WHERE id = 1", [HOSTILE_LAST, HOSTILE_FIRST]
    )
    worker = store.one("SELECT last_name, first_name, allocataire FROM worker WHERE id = 1")
    assert (worker["last_name"], worker["first_name"]) == (HOSTILE_LAST, HOSTILE_FIRST)

    at = to_workers(logged_in())
    assert not at.exception
    tile = at.button(key="tile_1")
    raw = f"{HOSTILE_LAST} {HOSTILE_FIRST} — {worker['allocataire']}"
    assert re.sub(r"\\(.)", r"\1", tile.label) == CONTROL.sub(" ", raw)
    assert "<b>" not in tile.label and "**GRAS**" not in tile.label, "Markdown and HTML are escaped"

    choose_certificat(at)
    assert not at.exception
    by_label = {w.label: w for w in at.text_input}
    assert by_label["Nom"].value == HOSTILE_LAST
    assert by_label["Prénom"].value == HOSTILE_FIRST
    assert by_label["Nom"].disabled and by_label["Prénom"].disabled
    assert store.scalar("SELECT count(*) FROM worker") > 0, "the worker table still exists"
    assert store.scalar("SELECT first_name FROM worker WHERE id = 1") == HOSTILE_FIRST


def test_an_unexpected_error_shows_the_french_message_without_details(env, monkeypatch):
    at = logged_in()
    assert titles(at) == ["Espace ESAT"]

    def broken(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM /var/lib/x")

    monkeypatch.setattr(partner, "list_workers", broken)
    button(at, "Mes travailleurs").click().run()
    assert not at.exception
    assert any("Une erreur technique" in e.value for e in at.error)
    screen = shown(at)
    assert "Une erreur technique" in screen  # the check below does read the screen
    for secret in ("Traceback", "SELECT", "/var/lib", "RuntimeError"):
        assert secret not in screen, secret
