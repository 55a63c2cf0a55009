"""The project's load generator: drives a Streamlit app through Streamlit's own WebSocket protocol.

    .venv/bin/python -m scripts.loadgen URL [--sessions 4] [--duration 10] [--login ID]

A browser talks to a Streamlit server over one WebSocket, ``/_stcore/stream`` (subprotocol
``streamlit``). It sends ``BackMsg`` protobufs; a rerun is ``BackMsg.rerun_script``, a
``ClientState`` carrying the page (``page_script_hash``) and the widget values that changed
(``WidgetStates``: ``trigger_value`` for a button click or a form submit, ``string_value`` for a
text input, ``bool_value`` for a checkbox…). The server answers with ``ForwardMsg``s: a
``new_session`` when a script run starts (it names the page being run), the ``delta``s that
build the screen (each widget element carries its ``id``), a ``navigation`` message listing the
pages of ``st.navigation``, and a ``script_finished`` when the run ends. ``st.rerun`` and
``st.switch_page`` end a run with ``FINISHED_EARLY_FOR_RERUN`` and start the next one at once,
so one click is timed until the first ``script_finished`` of another status.

:class:`Session` is one such client: ``rerun`` sends a ``rerun_script`` and returns the
:class:`Screen` the run left (the widgets with their ids, the texts, the page, how long it
took). :func:`open_partner` logs in through the real login form and accepts the CGU when they
are shown; :class:`Partner` clicks a partner's round over Accueil, Mes travailleurs, a fiche and
the declaration form. ``scripts/bench_screens.py`` uses both; this script's command line runs
that round in ``--sessions`` concurrent sessions for ``--duration`` seconds and prints the
latency of each step.

Only the Python standard library, ``websockets`` (a Streamlit dependency) and Streamlit's own
protobuf classes are used. Point it only at a server on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect

DEMO_LOGIN = "esat.demo@example.org"
DEMO_PASSWORD = os.environ.get("ESAT_DEMO_PASSWORD") or "Demo-Espace-ESAT-2026"
STREAM_PATH = "/_stcore/stream"
EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR


class ProtocolError(RuntimeError):
    """The server did not answer as a Streamlit server does, or the app showed an error."""


@dataclass(frozen=True)
class Widget:
    """One widget of the screen, as the deltas describe it."""

    kind: str  # the element type: button, text_input, checkbox, radio, selectbox…
    id: str  # the id the server expects back in WidgetState.id
    label: str
    form_id: str = ""
    disabled: bool = False
    fragment_id: str = ""  # set when the widget is drawn by a fragment (a st.dialog is one)


@dataclass
class Screen:
    """What one interaction left on screen, and how long it took."""

    seconds: float = 0.0
    runs: int = 0  # script runs (a st.rerun or st.switch_page adds one)
    page_hash: str = ""
    page: str = ""  # title of the page (from st.navigation), "" when unknown
    status: int = -1  # ForwardMsg.ScriptFinishedStatus of the last run
    widgets: list[Widget] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    messages: int = 0
    bytes: int = 0

    def find(self, kind: str, label: str | None = None, *, startswith: str | None = None) -> Widget:
        """The first enabled widget of this kind with this label (or label prefix)."""
        for w in self.widgets:
            if w.kind != kind or w.disabled:
                continue
            if label is not None and w.label != label:
                continue
            if startswith is not None and not w.label.startswith(startswith):
                continue
            return w
        seen = ", ".join(f"{w.kind}:{w.label!r}" for w in self.widgets)
        raise LookupError(f"no {kind} {label or startswith!r} on page {self.page!r}; widgets: {seen}")

    def has(self, kind: str, label: str | None = None, *, startswith: str | None = None) -> bool:
        try:
            self.find(kind, label, startswith=startswith)
        except LookupError:
            return False
        return True

    def all(self, kind: str, *, id_contains: str = "") -> list[Widget]:
        return [w for w in self.widgets if w.kind == kind and id_contains in w.id]


def click(widget: Widget) -> WidgetState:
    """A button click, or a form submit when the button is the form's submit button."""
    return WidgetState(id=widget.id, trigger_value=True)


def text(widget: Widget, value: str) -> WidgetState:
    return WidgetState(id=widget.id, string_value=value)


def check(widget: Widget, value: bool = True) -> WidgetState:
    return WidgetState(id=widget.id, bool_value=value)


def _read_element(screen: Screen, element: object, fragment_id: str) -> None:
    kind = element.WhichOneof("type")  # type: ignore[attr-defined]
    if kind is None:
        return
    sub = getattr(element, kind)
    if kind == "exception":
        screen.exceptions.append(f"{sub.type}: {sub.message}")
        return
    widget_id = getattr(sub, "id", "")
    if widget_id and hasattr(sub, "label"):
        screen.widgets.append(
            Widget(
                kind=kind,
                id=widget_id,
                label=sub.label,
                form_id=getattr(sub, "form_id", ""),
                disabled=bool(getattr(sub, "disabled", False)),
                fragment_id=fragment_id,
            )
        )
    body = getattr(sub, "body", None)
    if isinstance(body, str) and body:
        screen.texts.append(body)


class Session:
    """One browser session: a WebSocket to ``/_stcore/stream``, one rerun at a time."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # page title → page_script_hash (from st.navigation)
        self.sticky: dict[str, WidgetState] = {}  # values the browser keeps sending
        self.screen = Screen()

    @classmethod
    async def open(cls, base_url: str, timeout: float = 30.0) -> Session:
        """Connect as a browser tab does (no first run yet: call :meth:`rerun`)."""
        url = base_url.replace("http://", "ws://", 1).rstrip("/") + STREAM_PATH
        ws = await asyncio.wait_for(
            connect(url, subprotocols=["streamlit"], compression=None, max_size=None, open_timeout=timeout),
            timeout,
        )
        return cls(ws)

    async def close(self) -> None:
        await self.ws.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def rerun(
        self,
        states: Iterable[WidgetState] = (),
        *,
        page: str | None = None,
        timeout: float = 60.0,
        strict: bool = True,
    ) -> Screen:
        """Send one ``rerun_script`` and wait for the end of the last run it causes.

        ``states`` are the widgets that changed (a click, a submitted form…); values set
        earlier are sent again, as the browser does. ``page`` navigates to the page with
        that title (as a link of the navigation menu does). With ``strict``, a
        screen showing a Python exception raises :class:`ProtocolError`.
        """
        msg = BackMsg()
        client_state = msg.rerun_script
        if page is not None:
            client_state.page_script_hash = self.pages[page]
        else:
            client_state.page_script_hash = self.page_hash
        changed = list(states)
        # As the browser does, a widget drawn by a fragment (a dialog's buttons) reruns that
        # fragment only: its script run starts with the widget's callback and runs the fragment.
        fragments = {w.fragment_id for w in self.screen.widgets if w.id in {s.id for s in changed}}
        if len(fragments) == 1:
            client_state.fragment_id = fragments.pop()
        values = {s.id: s for s in changed if s.WhichOneof("value") != "trigger_value"}
        sent = {**self.sticky, **values}
        client_state.widget_states.widgets.extend(
            [*sent.values(), *(s for s in changed if s.WhichOneof("value") == "trigger_value")]
        )
        payload = msg.SerializeToString()
        started = time.perf_counter()
        await self.ws.send(payload)
        screen = await asyncio.wait_for(self._receive_until_finished(), timeout)
        screen.seconds = time.perf_counter() - started
        # The browser forgets the values of widgets that are no longer on screen.
        present = {w.id for w in screen.widgets}
        self.sticky = {k: v for k, v in sent.items() if k in present}
        self.screen = screen
        if strict and screen.exceptions:
            raise ProtocolError(f"page {screen.page!r} shows an exception: {screen.exceptions[0]}")
        if screen.status == COMPILE_ERROR:
            raise ProtocolError(f"page {screen.page!r}: the script did not compile")
        return screen

    async def _receive_until_finished(self) -> Screen:
        screen = Screen()
        while True:
            data = await self.ws.recv()
            if isinstance(data, str):
                raise ProtocolError("text frame from the server: not a Streamlit stream")
            screen.messages += 1
            screen.bytes += len(data)
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "delta":
                if fwd.delta.WhichOneof("type") == "new_element":
                    _read_element(screen, fwd.delta.new_element, fwd.delta.fragment_id)
            elif kind == "new_session":
                # A new run starts: what the previous run of this chain drew is replaced.
                screen.widgets, screen.texts, screen.exceptions = [], [], []
                screen.runs += 1
                screen.page_hash = fwd.new_session.page_script_hash
            elif kind == "navigation":
                # The default page's url path is "" whatever it is: name pages by title.
                self.pages.update({p.page_name: p.page_script_hash for p in fwd.navigation.app_pages})
                screen.page_hash = fwd.navigation.page_script_hash or screen.page_hash
            elif kind == "session_event" and fwd.session_event.HasField("script_compilation_exception"):
                exc = fwd.session_event.script_compilation_exception
                screen.exceptions.append(f"{exc.type}: {exc.message}")
            elif kind == "script_finished":
                screen.status = fwd.script_finished
                if fwd.script_finished != EARLY:
                    self.page_hash = screen.page_hash
                    by_hash = {h: p for p, h in self.pages.items()}
                    screen.page = by_hash.get(screen.page_hash, "")
                    return screen


# -- the partner journey of Espace ESAT ------------------------------------------------------


async def open_partner(base_url: str, login: str = DEMO_LOGIN, password: str = DEMO_PASSWORD) -> Session:
    """A logged-in ESAT session on Accueil: first render, login form, CGU when shown."""
    session = await Session.open(base_url)
    try:
        screen = await session.rerun()
        await submit_login(session, screen, login, password)
        await accept_cgu_if_shown(session)
        if session.screen.page != "Accueil":
            raise ProtocolError(f"after login: page {session.screen.page!r}, not Accueil")
        if session.screen.has("button", "Reprendre la saisie"):
            # Another session of the account left its batch open (it is kept in the store and taken
            # up at login): abandoned, so that this session starts with nothing selected.
            for label in ("Mes travailleurs", "Abandonner la saisie", "Confirmer", "Retour à l'accueil"):
                await _click(session, label)
    except BaseException:
        await session.close()
        raise
    return session


async def submit_login(session: Session, screen: Screen, login: str, password: str) -> Screen:
    """Fill the login form (keys login_id / login_pw) and press its submit button."""
    ident = next((w for w in screen.all("text_input", id_contains="login_id")), None)
    secret = next((w for w in screen.all("text_input", id_contains="login_pw")), None)
    if ident is None or secret is None:
        raise ProtocolError(f"no login form on page {screen.page!r}")
    submit = next(
        (w for w in screen.widgets if w.kind == "button" and w.form_id and w.form_id == ident.form_id),
        None,
    )
    if submit is None:
        raise ProtocolError("the login form has no submit button")
    after = await session.rerun([text(ident, login), text(secret, password), click(submit)])
    if after.page in {"", "Bienvenue"}:
        shown = " | ".join(after.texts[-3:])
        raise ProtocolError(f"login refused for {login}: {shown}")
    return after


async def accept_cgu_if_shown(session: Session) -> Screen:
    screen = session.screen
    if screen.page != "Conditions générales d'utilisation":
        return screen
    boxes = [w for w in screen.widgets if w.kind == "checkbox"]
    return await session.rerun([*(check(b) for b in boxes), click(screen.find("button", "Continuer"))])


async def _click(session: Session, label: str, *, startswith: bool = False) -> Screen:
    widget = session.screen.find(
        "button", None if startswith else label, startswith=label if startswith else None
    )
    return await session.rerun([click(widget)])


def _expect(screen: Screen, page: str) -> Screen:
    if screen.page != page:
        raise ProtocolError(f"expected page {page!r}, got {screen.page!r}: {' | '.join(screen.texts[:3])}")
    return screen


class Partner:
    """A logged-in ESAT manager going round Accueil, Mes travailleurs, a fiche, the declaration.

    Each :meth:`next` is one click, from a round that ends where it starts (Accueil) and files
    nothing (the declaration is left through "Quitter"), so it can loop as long as needed:
    Mes travailleurs → select a worker (its tile) → Déclarer pour la sélection → Confirmer
    (Fiche) → Déclarer (Déclaration) → Quitter → Confirmer → Abandonner la saisie → Confirmer
    → Page suivante → Page précédente → Retour à l'accueil. Quitting the declaration leaves the
    batch open (it is kept in the store), so the round abandons it, which also empties the
    selection. A worker already declared this campaign has no "Déclarer" button: the round then
    goes back to Mes travailleurs from the fiche.
    """

    def __init__(self, session: Session, tile: int = 0) -> None:
        self.session = session
        self.tile = tile  # index of the tile this partner selects on the first page
        self.position = 0
        self.steps: tuple[tuple[str, Callable[[], Awaitable[Screen]]], ...] = (
            ("Accueil → Mes travailleurs", self.to_workers),
            ("Mes travailleurs: select a worker", self.select),
            ("Mes travailleurs: Déclarer pour la sélection (dialog)", self.open_choice),
            ("dialog: Confirmer → Fiche travailleur", self.confirm_choice),
            ("Fiche travailleur: Déclarer → Déclaration", self.declare),
            ("Déclaration: Quitter (dialog)", self.quit),
            ("dialog: Confirmer → Mes travailleurs", self.confirm_quit),
            ("Mes travailleurs: Abandonner la saisie (dialog)", self.abandon),
            ("dialog: Confirmer → selection emptied", self.confirm_abandon),
            ("Mes travailleurs: Page suivante", self.next_page),
            ("Mes travailleurs: Page précédente", self.previous_page),
            ("Mes travailleurs → Accueil", self.home),
        )

    async def next(self) -> tuple[str, Screen]:
        """Do the next click of the round; return its name and the screen it led to."""
        name, step = self.steps[self.position]
        self.position = (self.position + 1) % len(self.steps)
        if step == self.declare and not self.session.screen.has("button", startswith="Déclarer :"):
            # Already declared for this campaign: back to the list, skip the declaration.
            self.position += 2
            return "Fiche travailleur → Mes travailleurs (already declared)", _expect(
                await _click(self.session, "Retour à Mes travailleurs"), "Mes travailleurs"
            )
        return name, await step()

    async def to_workers(self) -> Screen:
        return _expect(await _click(self.session, "Mes travailleurs"), "Mes travailleurs")

    async def select(self) -> Screen:
        tiles = self.session.screen.all("button", id_contains="tile_")
        if not tiles:
            raise ProtocolError("Mes travailleurs shows no worker tile")
        return await self.session.rerun([click(tiles[self.tile % len(tiles)])])

    async def open_choice(self) -> Screen:
        return await _click(self.session, "Déclarer pour la sélection")

    async def confirm_choice(self) -> Screen:
        return _expect(await _click(self.session, "Confirmer"), "Fiche travailleur")

    async def declare(self) -> Screen:
        return _expect(await _click(self.session, "Déclarer :", startswith=True), "Déclaration")

    async def quit(self) -> Screen:
        return await _click(self.session, "Quitter")

    async def confirm_quit(self) -> Screen:
        return _expect(await _click(self.session, "Confirmer"), "Mes travailleurs")

    async def abandon(self) -> Screen:
        return _expect(await _click(self.session, "Abandonner la saisie"), "Mes travailleurs")

    async def confirm_abandon(self) -> Screen:
        self.tile += 1  # the next round selects another worker
        return _expect(await _click(self.session, "Confirmer"), "Mes travailleurs")

    async def next_page(self) -> Screen:
        return await _click(self.session, "Page suivante")

    async def previous_page(self) -> Screen:
        return await _click(self.session, "Page précédente")

    async def home(self) -> Screen:
        return _expect(await _click(self.session, "Retour à l'accueil"), "Accueil")


# -- command line ----------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


async def _run(args: argparse.Namespace) -> None:
    partners = [
        Partner(await open_partner(args.url, args.login, args.password), tile=random.Random(i).randrange(24))
        for i in range(args.sessions)
    ]
    times: dict[str, list[float]] = {}
    deadline = time.monotonic() + args.duration

    async def drive(partner: Partner) -> None:
        while time.monotonic() < deadline:
            name, screen = await partner.next()
            times.setdefault(name, []).append(screen.seconds * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(drive(p) for p in partners))
    elapsed = time.perf_counter() - started
    for p in partners:
        await p.session.close()
    total = sum(len(v) for v in times.values())
    print(f"{args.sessions} sessions, {total} interactions in {elapsed:.1f} s: {total / elapsed:.1f}/s")
    print("| step | n | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 95):.1f} |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="http://127.0.0.1:PORT of a server on this machine")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (bounded run)")
    parser.add_argument("--login", default=DEMO_LOGIN)
    parser.add_argument("--password", default=DEMO_PASSWORD)
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("only a server on this machine (127.0.0.0/8, localhost, [::1])")
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
