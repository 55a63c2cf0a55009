"""Showing user data as literal text in widgets whose labels understand Markdown."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$^=])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def literal(value: str) -> str:
    """Escape Markdown so a name such as ``**X**`` or ``[a](http://b)`` is shown as typed."""
    return _MARKDOWN.sub(r"\\\1", _CONTROL.sub(" ", value))
