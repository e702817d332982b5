"""The workbench app: one screen of panes (tabs), a status line, the footer, the command palette.

Kept light on purpose: this module and the Chat pane import only Textual and the light parts of the core, so
the first frame comes as fast as a bare Textual app's. The local model is loaded in a worker after `on_ready`,
with its progress in the status line. Worker failures go through `report_error`: one notification, never a
traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gptbench import themes
from gptbench.core.config import Settings, load_settings
from gptbench.core.errors import GptbenchError
from gptbench.themes.palettes import DEFAULT_THEME, THEME_NAMES, THEMES
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import ContentSwitcher, Footer, Static

from .errors import one_line
from .panes.registry import PANES
from .state import load_state, save_state

if TYPE_CHECKING:  # the pool and the backends are imported after the first frame
    from gptbench.core.backends.base import Backend
    from gptbench.core.backends.pool import BackendPool

T = TypeVar("T")
#: When set, the app writes time.time() of its first `on_ready` to this file (bench/bench_first_frame.py).
BENCH_READY_ENV = "GPTBENCH_BENCH_READY"
#: Longest wait for the first pane before keys typed at start-up are let through anyway (seconds).
TYPEAHEAD_WAIT = 10.0


def describe_backend(backend: Backend) -> tuple[str, str]:
    """(where it runs, load state) for the status line."""
    if backend.kind == "local":
        loaded = getattr(backend, "loaded", False)
        device = getattr(backend, "device", None) if loaded else None
        dtype = getattr(backend, "dtype", None) if loaded else None
        where = " ".join(str(x) for x in (device, dtype) if x) or "device: auto"
        return where, "ready" if loaded else "not loaded"
    base_url = getattr(backend, "base_url", None)
    return (str(base_url) if base_url else "api.openai.com"), "remote"


class StatusLine(Static):
    """backend · model · device · load state, at the top of the screen."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; color: $text; }
    """


class PaneBar(Static):
    """The pane names and their keys, the shown one highlighted (one widget: cheaper to start than tabs)."""

    DEFAULT_CSS = """
    PaneBar { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    """

    def show(self, active: str) -> None:
        parts = []
        for i, spec in enumerate(PANES):
            label = f" {spec.title} F{i + 1} "
            parts.append(Content.styled(label, "bold reverse") if spec.id == active else Content(label))
        self.update(Content(" ").join(parts))


class WorkbenchCommands(Provider):
    """Palette entries for panes, themes, chat sessions and models."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        app = self.app
        assert isinstance(app, GptBenchApp)
        for spec in PANES:
            keys = spec.keys.replace(",", " / ")
            yield (
                f"Pane: {spec.title}",
                partial(app.action_show_pane, spec.id),
                f"show the {spec.title} pane ({keys})",
            )
        yield (
            "Tokens: count the current chat",
            app.action_tokens_from_chat,
            "chat-format tokens, context window and cost of the open chat (F3, then ctrl+o)",
        )
        for name in app.theme_names():
            yield f"Theme: {name}", partial(setattr, app, "theme", name), "switch theme (remembered)"
        chat = app.chat_pane
        if chat is not None:
            yield from chat.palette_commands()

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)


class GptBenchApp(App):
    TITLE = "gptbench"
    CSS_PATH = str(Path(themes.__file__).with_name("app.tcss"))
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    BINDINGS = [
        *(Binding(s.keys, f"show_pane('{s.id}')", s.title, id=s.binding_id, show=False) for s in PANES),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(
        self, settings: Settings | None = None, store: Any = None, pool: BackendPool | None = None
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else load_settings()
        self._pool = pool
        #: The chat store (gptbench.core.store); opened in on_mount when not given. None if it cannot be used.
        self.store = store
        #: Why the store could not be opened (shown by the Chat pane), else None.
        self.store_error: str | None = None
        self._loads: dict[int, Any] = {}
        self._store_lock = asyncio.Lock()
        self._load_text = ""
        #: Keys read before the first pane is ready (typed while the app starts), replayed to it in order.
        self._typeahead: list[events.Key] | None = []
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = self._initial_theme()
        self.set_keymap(self.settings.keymap)

    @property
    def pool(self) -> BackendPool:
        """The backends (made on first use, after the first frame: nothing before it needs one)."""
        if self._pool is None:
            from gptbench.core.backends.pool import BackendPool

            self._pool = BackendPool(self.settings)
        return self._pool

    @pool.setter
    def pool(self, pool: BackendPool) -> None:
        self._pool = pool

    # ---- themes -------------------------------------------------------------------------------------
    def _initial_theme(self) -> str:
        """Remembered choice, then the config's `theme`, then gptbench-dark."""
        for name in (load_state().get("theme"), self.settings.theme):
            if isinstance(name, str) and name in self.available_themes:
                return name
        return DEFAULT_THEME

    def theme_names(self) -> list[str]:
        rest = sorted(n for n in self.available_themes if n not in THEME_NAMES)
        return [*THEME_NAMES, *rest]

    def _remember_theme(self, theme: Any) -> None:
        save_state(theme=theme.name)

    # ---- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield PaneBar(id="pane-bar")
        with ContentSwitcher(id="panes", initial=PANES[0].id):
            yield Vertical(id=PANES[0].id, classes="pane")  # the others' slots are made on first show
        yield Footer()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.query_one(PaneBar).show(PANES[0].id)
        # From the settings alone: making the backend object waits until after the first frame.
        settings = self.settings
        self.query_one(StatusLine).update(f"{settings.backend} · {settings.default_model} · starting…")

    async def get_store(self) -> Any:
        """The session store, opened on first use; None (and `store_error` set, shown once) if unusable."""
        async with self._store_lock:
            if self.store is None and self.store_error is None:
                from gptbench.core.store import AsyncStore

                try:
                    self.store = await AsyncStore.open()
                except GptbenchError as exc:
                    self.store_error = str(exc)
                    self.notify(self.store_error, severity="error", timeout=30)
            return self.store

    async def on_event(self, event: events.Event) -> None:
        """Hold back keys until the first pane can take them (see `_release_typeahead`)."""
        if self._typeahead is not None and isinstance(event, events.Key) and not event.is_forwarded:
            self._typeahead.append(event)
            return
        await super().on_event(event)

    class TypeaheadReady(events.Event):
        """The first pane is ready for keys: replay the ones typed while the app was starting."""

    async def on_gpt_bench_app_typeahead_ready(self) -> None:
        # Runs in the app's own message loop, so every key read before this message is in the list and every
        # key read after it comes after the replayed ones.
        keys, self._typeahead = self._typeahead or [], None
        for key in keys:
            await super().on_event(events.Key(key.key, key.character))

    async def _release_typeahead(self) -> None:
        chat = self.chat_pane
        if chat is not None:  # its prompt has the focus once its session is open
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(chat.started.wait(), TYPEAHEAD_WAIT)
        self.post_message(self.TypeaheadReady())

    async def on_ready(self) -> None:
        """The shell is on screen: now build the first pane, then start loading the model."""
        shown = time.time()
        await self._populate(PANES[0].id)
        self._focus_pane(PANES[0].id)
        self.run_worker(self._release_typeahead(), group="typeahead")
        self.refresh_status()
        bench = os.environ.get(BENCH_READY_ENV)
        if bench:
            self.run_worker(self._bench_exit(Path(bench), shown), exit_on_error=False)
            return
        self.ensure_loaded(self.backend)

    async def _bench_exit(self, path: Path, shown: float) -> None:
        """bench/bench_first_frame.py: record the first frame and the moment the chat session is shown."""
        chat = self.chat_pane
        if chat is not None:
            await chat.started.wait()
        path.write_text(f"{shown!r} {time.time()!r}")
        self.exit()

    # ---- panes --------------------------------------------------------------------------------------
    @property
    def chat_pane(self) -> Any:
        from .panes.chat import ChatPane

        found = self.query(ChatPane)
        return found.first() if found else None

    @property
    def active_pane(self) -> str:
        return self.query_one("#panes", ContentSwitcher).current or PANES[0].id

    async def action_show_pane(self, pane_id: str) -> None:
        await self._populate(pane_id)  # focus needs the pane mounted, not just scheduled
        self.query_one("#panes", ContentSwitcher).current = pane_id
        self.query_one(PaneBar).show(pane_id)
        self.call_after_refresh(self._focus_pane, pane_id)
        self.refresh_status()

    async def action_tokens_from_chat(self) -> None:
        """Palette: show the Tokens pane and count the open chat there (it is built on first show)."""
        from .panes.tokens import TokensPane

        await self.action_show_pane("tokens")
        for pane in self.query(TokensPane):  # none when the pane could not be built (it says why)
            pane.action_from_chat()

    async def _populate(self, pane_id: str) -> None:
        """Build a pane the first time it is shown (its imports happen then, not before the first frame)."""
        switcher = self.query_one("#panes", ContentSwitcher)
        slots = switcher.query_children(f"#{pane_id}")
        if slots:
            pane = slots.first(Vertical)
        else:
            pane = Vertical(id=pane_id, classes="pane")
            pane.display = False  # until the switcher shows it
            await switcher.mount(pane)
        if not pane.children:
            spec = next(s for s in PANES if s.id == pane_id)
            await pane.mount(spec.factory())

    def _focus_pane(self, pane_id: str) -> None:
        pane = self.query_one(f"#{pane_id}", Vertical)
        if self.focused is not None and pane in self.focused.ancestors:
            return  # the pane already put the focus where it wants it
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return

    # ---- backends -----------------------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        """The active chat session's backend (the configured default before any session is open)."""
        chat = self.chat_pane
        if chat is not None and chat.session is not None:
            return self.pool.get(chat.session.backend, chat.session.model)
        return self.pool.get()

    def ensure_loaded(self, backend: Backend) -> Any:
        """Start loading a local model in a worker (once); returns the worker, or None if nothing to load."""
        if getattr(backend, "loaded", True) or not hasattr(backend, "load"):
            self.refresh_status()
            return None
        worker = self._loads.get(id(backend))
        if worker is None or worker.is_finished and worker.error is not None:
            worker = self.run_worker(
                self.guarded(self._load(backend)),
                group="load",
                name=f"load {backend.model}",
                exit_on_error=False,
            )
            self._loads[id(backend)] = worker
        return worker

    async def wait_loaded(self, backend: Backend) -> None:
        """Wait for the model load started by `ensure_loaded` (raises its error, if it failed)."""
        worker = self.ensure_loaded(backend)
        if worker is not None:
            await worker.wait()
            if not getattr(backend, "loaded", True):
                raise GptbenchError(self._load_text or f"{backend.model}: the model could not be loaded")

    async def _load(self, backend: Backend) -> None:
        self._set_load_text(f"loading {backend.model}…")
        try:
            await backend.load(self._progress)  # type: ignore[attr-defined]
        except GptbenchError as exc:
            self._set_load_text(f"load failed: {exc}")
            raise
        self._set_load_text("")

    def _progress(self, message: str) -> None:
        """Load progress from the backend (called from its loading thread)."""
        text = f"loading: {message}"
        if threading.get_ident() == self._thread_id:
            self._set_load_text(text)
        else:
            self.call_from_thread(self._set_load_text, text)

    def _set_load_text(self, text: str) -> None:
        self._load_text = text
        self.refresh_status()

    def refresh_status(self) -> None:
        """Redraw the status line from the active backend."""
        if not self.is_mounted:
            return
        backend = self.backend
        where, state = describe_backend(backend)
        state = self._load_text or state
        self.query_one(StatusLine).update(f"{backend.kind} · {backend.model} · {where} · {state}")

    # ---- errors -------------------------------------------------------------------------------------
    def report_error(self, exc: BaseException) -> None:
        """The one place a failure becomes visible: one notification line, no traceback."""
        self.notify(one_line(exc), severity="error", timeout=10)

    async def guarded(self, work: Awaitable[T]) -> T | None:
        """Await `work`, reporting any failure (other than cancellation) through `report_error`."""
        try:
            return await work
        except Exception as exc:  # noqa: BLE001 - every worker failure must reach the user as one line
            self.report_error(exc)
            return None

    async def action_quit(self) -> None:
        self.exit()

    async def on_unmount(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self.store is not None:
            await self.store.close()
