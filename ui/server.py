"""Start the Streamlit server for app.py with the project's framework fixes applied.

``python -m ui.server [streamlit run options]`` is what ``make run`` uses.

Fixes applied before the server starts (measured in docs/benchmarks.md):
- Streamlit treats a folder named ``pages/`` next to the main script as the legacy
  multipage mode until ``st.navigation`` has run once, so the very first request of a fresh
  process could execute ``pages/<x>.py`` without going through app.py's login gate. We use
  ``st.navigation`` only: the legacy mode is switched off for the whole process.
- ``runner.postScriptGC`` is off. Streamlit's default runs ``gc.collect(2)`` after every script
  run: with pandas and pyarrow loaded that full collection is most of the CPU of a rerun. Python's
  own generational collector still runs, and memory stays flat without it (benchmark soak). It is
  a command-line default, so ``--runner.postScriptGC=true`` still turns it back on (to measure),
  and a re-read of config.toml keeps it.
- TCP_NODELAY on every accepted connection. Streamlit binds its listening socket with
  ``socket.socket(family)``, i.e. ``proto=0``; the sockets it accepts inherit ``proto=0`` and
  asyncio's transport sets TCP_NODELAY only when ``proto == IPPROTO_TCP``. Without it, Nagle's
  algorithm holds each small message that follows a larger one (the end of a rerun) until the
  browser's delayed ACK: about 40 ms added to every rerun. We re-declare the same listening file
  descriptor as IPPROTO_TCP, so asyncio's own code sets TCP_NODELAY on each connection it accepts.
- ``<html lang="fr">``. Streamlit's page shell (its ``index.html``) says ``lang="en"`` whatever
  the app's language, and no option changes it (streamlit/streamlit#15726): screen readers would
  read every French word with English rules (WCAG 3.1.1, RGAA 8.3). The static files' handler
  is wrapped so the HTML it sends says ``lang="fr"`` (same length: nothing else of the answer
  changes); tests/test_accessibility.py checks it on every screen (docs/accessibility.md).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streamlit import config
from streamlit.logger import get_logger
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli
from streamlit.web.server.starlette import starlette_server, starlette_static_routes

from data.store import Store, open_or_exit
from services.config import load_settings

APP = Path(__file__).resolve().parent.parent / "app.py"
# Our defaults, placed before the caller's options: a later option of the same name wins.
DEFAULT_OPTIONS = ("--runner.postScriptGC=false",)

_LOGGER = get_logger(__name__)
_STORE: Store | None = None  # held by main(): see DATA-05


def disable_legacy_pages() -> None:
    PagesManager.uses_pages_directory = False


def tcp_listening_socket(sock: socket.socket) -> socket.socket:
    """The same listening socket, declared IPPROTO_TCP so asyncio sets TCP_NODELAY on what it accepts."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.setblocking(False)
    return tcp


def settings_in_effect() -> str:
    """One log line of the settings above, as the running server sees them (read by a test)."""
    return f"server tuning: runner.postScriptGC={config.get_option('runner.postScriptGC')}"


def enable_tcp_nodelay() -> None:
    """Wrap Streamlit's socket binding (idempotent); fails loudly if Streamlit renamed it."""
    original: Callable[[str, int, int], socket.socket] = starlette_server._bind_socket
    if getattr(original, "declares_tcp", False):
        return

    def bind_socket(address: str, port: int, backlog: int) -> socket.socket:
        sock = tcp_listening_socket(original(address, port, backlog))
        # Bound once the configuration (files, environment, options) is final.
        _LOGGER.info("%s, listening socket proto=%s (TCP_NODELAY when 6)", settings_in_effect(), sock.proto)
        return sock

    bind_socket.declares_tcp = True  # type: ignore[attr-defined]
    starlette_server._bind_socket = bind_socket


ENGLISH_SHELL, FRENCH_SHELL = b'<html lang="en">', b'<html lang="fr">'  # same length (Content-Length)


class FrenchShell:
    """ASGI wrapper of Streamlit's static files: an HTML answer says ``lang="fr"``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # No zero-copy file sending: the body must go through send_french.
        scope = {
            **scope,
            "extensions": {
                k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"
            },
        }
        html = False

        async def send_french(message: dict[str, Any]) -> None:
            nonlocal html
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                html = headers.get(b"content-type", b"").startswith(b"text/html")
            elif message["type"] == "http.response.body" and html:
                message = {
                    **message,
                    "body": message.get("body", b"").replace(ENGLISH_SHELL, FRENCH_SHELL, 1),
                }
            await send(message)

        await self.app(scope, receive, send_french)


def french_page_shell() -> None:
    """Wrap Streamlit's static files handler (idempotent); fails loudly if Streamlit renamed it."""
    original: Callable[..., Any] = starlette_static_routes.create_streamlit_static_handler
    if getattr(original, "french", False):
        return

    def handler(*args: Any, **kwargs: Any) -> FrenchShell:
        return FrenchShell(original(*args, **kwargs))

    handler.french = True  # type: ignore[attr-defined]
    starlette_static_routes.create_streamlit_static_handler = handler


def serve(script: Path | str, argv: Sequence[str]) -> None:
    """Serve ``script`` with the fixes above (``bench/serve.py`` uses it for the baselines)."""
    disable_legacy_pages()
    enable_tcp_nodelay()
    french_page_shell()
    sys.argv = ["streamlit", "run", str(script), *DEFAULT_OPTIONS, *argv]
    cli.main()


def main(argv: list[str] | None = None) -> None:
    # Opened (and migrated) before serving, and held for the life of the process: a second
    # server on the same DuckDB file stops here with a French message (DATA-05).
    global _STORE
    _STORE = open_or_exit(load_settings().db)
    serve(APP, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
