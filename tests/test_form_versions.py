"""Every form change bumps its version; declarations render with the version they were filed under."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from forms import FormError, load_all
from forms.loader import DEFINITIONS
from forms.versions import load_version, snapshot, snapshot_path, versions
from services import accounts, declarations


def test_every_definition_is_frozen_under_its_version():
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        form = load_all()[path.stem]
        frozen = snapshot_path(form.id, form.version)
        assert frozen.exists(), (
            f"{path.name}: run `python -m forms snapshot` after publishing version {form.version}"
        )
        assert frozen.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{path.name} changed without a new version: bump 'version' and run `python -m forms snapshot`"
        )


def test_a_change_without_a_version_bump_is_refused(tmp_path: Path):
    definitions, root = tmp_path / "definitions", tmp_path / "versions"
    definitions.mkdir()
    shutil.copy(DEFINITIONS / "depart_esat.yaml", definitions)
    assert snapshot(definitions, root) == ["depart_esat v1"]
    assert snapshot(definitions, root) == []  # nothing new
    path = definitions / "depart_esat.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Date du départ", "Date de départ"), encoding="utf-8"
    )
    with pytest.raises(FormError, match="augmentez 'version'"):
        snapshot(definitions, root)
    path.write_text(path.read_text(encoding="utf-8").replace("version: 1", "version: 2"), encoding="utf-8")
    assert snapshot(definitions, root) == ["depart_esat v2"]
    assert versions("depart_esat", root) == [1, 2]
    assert load_version("depart_esat", 1, root).field("date_depart").label == "Date du départ"
    assert load_version("depart_esat", 2, root).field("date_depart").label == "Date de départ"


def test_a_declaration_is_shown_with_the_version_it_was_filed_under(env, store, tmp_path, monkeypatch):
    """Publish a next version of the certificat with another label: old declarations keep theirs."""
    import forms.versions as fv

    filed = load_all()["certificat_emploi"].version  # the version the demo declarations were filed under
    root = tmp_path / "versions"
    shutil.copytree(fv.VERSIONS, root)
    nxt = (DEFINITIONS / "certificat_emploi.yaml").read_text(encoding="utf-8")
    nxt = nxt.replace(f"version: {filed}", f"version: {filed + 1}").replace(
        "label: Montant brut de la rémunération garantie", "label: Rémunération garantie brute (v-next)"
    )
    (root / "certificat_emploi" / f"v{filed + 1}.yaml").write_text(nxt, encoding="utf-8")
    monkeypatch.setattr(fv, "VERSIONS", root)
    fv.load_version.cache_clear()
    current_v2 = fv.load_version("certificat_emploi", filed + 1)
    monkeypatch.setattr(declarations, "forms", lambda: {**load_all(), "certificat_emploi": current_v2})

    demo = accounts.get(store, 1)
    old = store.scalar("SELECT min(id) FROM declaration WHERE esat_id = 1 AND form_id = 'certificat_emploi'")
    decl = declarations.get(store, demo, old)
    assert decl.form_version == filed
    assert (
        declarations.form_of(decl).field("remuneration_garantie").label
        == "Montant brut de la rémunération garantie"
    )
    fv.load_version.cache_clear()
