"""Frozen copies of every published version of every form definition.

``forms/versions/<form_id>/v<N>.yaml`` is the exact text of version N. A declaration keeps
the version it was filed under, so its recap and PDF are rendered from that copy even after
the definition changes. A test fails when a definition differs from the copy of its version:
changing a form means bumping its version and running ``python -m forms snapshot``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from forms.loader import DEFINITIONS, FormError, _load, load_form
from forms.schema import FormDefinition

VERSIONS = Path(__file__).resolve().parent / "versions"


def snapshot_path(form_id: str, version: int, root: Path | None = None) -> Path:
    return (root or VERSIONS) / form_id / f"v{version}.yaml"


def versions(form_id: str, root: Path | None = None) -> list[int]:
    folder = (root or VERSIONS) / form_id
    return sorted(int(p.stem[1:]) for p in folder.glob("v*.yaml")) if folder.is_dir() else []


@lru_cache(maxsize=64)
def load_version(form_id: str, version: int, root: Path | None = None) -> FormDefinition:
    """The definition as it was at ``version`` (read from its frozen copy)."""
    path = snapshot_path(form_id, version, root)
    if not path.exists():
        raise FormError(f"{form_id} : version {version} inconnue")
    form = load_form_as(path, form_id)
    if form.version != version:
        raise FormError(f"{path.name} : la copie de la version {version} déclare la version {form.version}")
    return form


def load_form_as(path: Path, form_id: str) -> FormDefinition:
    """Load a frozen copy (its file is named v<N>.yaml, not <form_id>.yaml)."""
    form = _load(path, FormDefinition, check_stem=False)
    if form.id != form_id:
        raise FormError(f"{path} : id '{form.id}' au lieu de '{form_id}'")
    return form


def snapshot(definitions: Path = DEFINITIONS, root: Path | None = None) -> list[str]:
    """Freeze the current version of every definition that has no copy yet.

    Refuses (FormError) when a copy of the same version exists with a different text: the
    definition changed without its version being bumped.
    """
    written = []
    for path in sorted(definitions.glob("*.yaml")):
        form = load_form(path)
        target = snapshot_path(form.id, form.version, root)
        text = path.read_text(encoding="utf-8")
        if target.exists():
            if target.read_text(encoding="utf-8") != text:
                raise FormError(
                    f"{path.name} a changé depuis la version {form.version} publiée : augmentez 'version' puis recommencez"
                )
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(f"{form.id} v{form.version}")
    return written
