"""The Tokens pane: type (or paste) text and see it tokenized live — counts per tokenizer, token colours,
ids, context use and cost for a model, and the model's most likely next tokens.

Counting runs in a worker thread, one at a time: while it runs, further keystrokes only mark the text dirty and
the worker goes again with the latest text, so typing never waits. Only the pieces of text an edit touched are
re-encoded (core.tokens.live), which keeps a 50,000-token text within a few milliseconds per keystroke.
The pane reads `app.settings`, `app.backend` and `app.chat_pane` when the app has them and works without them;
ctrl+o copies the Chat pane's current conversation in as a JSON message list (read from the store, never changed).
"""

from __future__ import annotations

import json
import os
from typing import Any

from gptbench.core.errors import GptbenchError, InputError
from gptbench.core.prices import price_for
from gptbench.core.store import conversation
from gptbench.core.tokens import (
    chat_json_tokens,
    context_window,
    get_tokenizer,
    next_token_distribution,
    tokenizer_of_backend,
)
from gptbench.core.tokens.chat import RULES
from gptbench.core.tokens.live import LiveCounter, Snapshot
from gptbench.core.tokens.models import model_spec
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..errors import one_line
from ..widgets.token_area import TokenArea
from ..widgets.token_bar import ContextBar

#: Tokenizers always counted side by side (the chosen model's comes first).
SIDE_BY_SIDE = ("o200k_base", "cl100k_base", "r50k_base")
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_RESERVE = 256
NEXT_K = 10
#: An incremental count cheaper than this (seconds, measured on the last one) runs right in the key handler, so
#: the count is on screen with the keystroke; anything bigger (a paste, a model switch) goes to a worker.
INLINE_BUDGET = 0.008
#: An edit that changes the length by more than this many characters always goes to the worker.
INLINE_MAX_DELTA = 2000
#: Pause in typing before the slower counts: the local model's (a Hugging Face tokenizer encodes the whole text)
#: and the chat format of a JSON message list.
EXTRAS_DELAY = 0.3


def _short(model: str) -> str:
    """A model name fit for a narrow title (a folder path shows as its last part)."""
    return os.path.basename(str(model).rstrip("/")) or str(model)


class TokensPane(Vertical):
    """Editor with live token counts; ctrl+t ids, ctrl+n next tokens, ctrl+l model, ctrl+o the current chat."""

    DEFAULT_CSS = """
    TokensPane { height: 1fr; }
    TokensPane #tokens-controls { height: 1; padding: 0 1; }
    TokensPane #tokens-controls Label { padding: 0 1 0 0; color: $text-muted; }
    TokensPane #tokens-controls Input { border: none; height: 1; padding: 0; margin: 0 2 0 0; }
    TokensPane #tokens-model { width: 28; }
    TokensPane #tokens-max { width: 8; }
    TokensPane #tokens-main { height: 1fr; }
    TokensPane #tokens-editor { width: 1fr; height: 1fr; }
    TokensPane #tokens-next { width: 30; height: 1fr; display: none; border-left: solid $panel; }
    TokensPane #tokens-next.-shown { display: block; }
    TokensPane #tokens-next-title { height: auto; color: $text-muted; padding: 0 1; }
    TokensPane #tokens-next-list { height: 1fr; border: none; }
    TokensPane .tokens-line { height: 1; padding: 0 1; }
    TokensPane ContextBar { padding: 0 1; }
    TokensPane #tokens-ids { height: 4; padding: 0 1; display: none; border-top: solid $panel; }
    TokensPane #tokens-ids.-shown { display: block; }
    TokensPane #tokens-note { display: none; color: $text-muted; }
    TokensPane #tokens-note.-shown { display: block; }
    TokensPane #tokens-note.-warning { color: $warning; }
    TokensPane .-error { color: $error; }
    """

    BINDINGS = [
        Binding("ctrl+t", "toggle_ids", "Ids", id="tokens.toggle_ids"),
        Binding("ctrl+n", "next_token", "Next token", id="tokens.next_token"),
        Binding("ctrl+l", "focus_model", "Model", id="tokens.model"),
        Binding("ctrl+o", "from_chat", "From chat", id="tokens.from_chat"),
        Binding("escape", "close_next", "Close", id="tokens.close_next", show=False),
    ]

    def __init__(self, text: str = "", *, id: str | None = "tokens-pane") -> None:
        super().__init__(id=id)
        self._initial = text
        self._counter: LiveCounter | None = None
        self._snapshot: Snapshot | None = None
        self._busy = False
        self._dirty = False
        self._last_cost = float("inf")
        #: The tokenizers changed since the last count started.
        self._stale = False
        #: (tokenizer name, count) of the loaded local model, and (messages, tokens) when the text is a JSON
        #: message list; both computed after a pause in typing, for text version `_extras_version`.
        self._local_count: tuple[str, int] | None = None
        self._chat_count: tuple[int, int] | None = None
        self._extras_version = -1
        self._extras_timer: Any = None
        self._next_tokens: list[str] = []
        #: The editor version the one-line note (#tokens-note) was written for; the next edit hides it.
        self._note_version = -1

    # ---- layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="tokens-controls"):
            yield Label("model")
            yield Input(self._default_model(), id="tokens-model", placeholder="gpt-4o-mini, r50k_base, local")
            yield Label("max_tokens")
            yield Input(str(self._default_reserve()), id="tokens-max", type="integer")
        with Horizontal(id="tokens-main"):
            yield TokenArea(
                self._initial,
                id="tokens-editor",
                soft_wrap=True,
                show_line_numbers=False,
                on_edit=self._recount,
            )
            with Vertical(id="tokens-next"):
                yield Static("next token", id="tokens-next-title", markup=False)
                yield OptionList(id="tokens-next-list")
        yield Static("", id="tokens-note", classes="tokens-line", markup=False)
        yield Static("counting…", id="tokens-counts", classes="tokens-line", markup=False)
        yield Static("", id="tokens-ratios", classes="tokens-line", markup=False)
        yield ContextBar(id="tokens-bar")
        yield Static("", id="tokens-cost", classes="tokens-line", markup=False)
        yield Static("", id="tokens-ids")

    def on_mount(self) -> None:
        self.editor.focus()
        self._configure()

    @property
    def editor(self) -> TokenArea:
        return self.query_one("#tokens-editor", TokenArea)

    # ---- what the app offers (both optional) ------------------------------------------------------------
    def _settings(self) -> Any:
        return getattr(self.app, "settings", None)

    def _backend(self) -> Any:
        try:
            return getattr(self.app, "backend", None)
        except GptbenchError:
            return None

    def _default_model(self) -> str:
        settings = self._settings()
        if settings is not None and getattr(settings, "backend", None) == "openai" and settings.model:
            return settings.model
        return DEFAULT_MODEL

    def _default_reserve(self) -> int:
        settings = self._settings()
        params = getattr(settings, "params", None)
        return getattr(params, "max_tokens", None) or DEFAULT_RESERVE

    def _local(self) -> Any:
        """The loaded local model's tokenizer, if the app has one loaded."""
        backend = self._backend()
        if (
            backend is None
            or getattr(backend, "kind", None) != "local"
            or not getattr(backend, "loaded", False)
        ):
            return None
        return tokenizer_of_backend(backend)

    # ---- choosing the model ---------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.query_one("#tokens-model", Input).value.strip() or DEFAULT_MODEL

    @property
    def reserve(self) -> int:
        value = self.query_one("#tokens-max", Input).value.strip()
        return int(value) if value.isdigit() else 0

    @on(Input.Changed, "#tokens-model")
    def _model_changed(self) -> None:
        self._configure()

    @on(Input.Changed, "#tokens-max")
    def _reserve_changed(self) -> None:
        self._show_context()

    def _configure(self) -> None:
        """Pick the tokenizers for the model typed in (building encodings happens in a worker)."""
        self.run_worker(self._build_counter, thread=True, exclusive=True, group="tokens-setup")

    def _build_counter(self) -> None:
        model = self.model
        try:
            local = self._local()
            if model == "local":
                if local is None:
                    raise GptbenchError("local: no local model is loaded (open the Chat pane to load it)")
                primary = local
            else:
                primary = get_tokenizer(model)
            others = [get_tokenizer(n) for n in SIDE_BY_SIDE if n != primary.name]
        except GptbenchError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._adopt, [primary, *others])

    def _adopt(self, tokenizers: list[Any]) -> None:
        if self._counter is None:
            self._counter = LiveCounter(tokenizers)
        else:
            self._counter.set_tokenizers(tokenizers)  # safe: counts run one at a time and read the list once
        self._last_cost = float("inf")  # a new tokenizer encodes the whole text: in the worker
        self._stale = True
        self._extras_version = -1  # the chat-format and local counts were for the previous model
        self._recount()

    def _show_error(self, message: str) -> None:
        counts = self.query_one("#tokens-counts", Static)
        counts.update(message)
        counts.add_class("-error")

    # ---- live counting ----------------------------------------------------------------------------------
    @on(TokenArea.Changed, "#tokens-editor")
    def _text_changed(self) -> None:
        if self._note_version != self.editor.version:
            self.query_one("#tokens-note", Static).remove_class("-shown")
        self._recount()

    def _recount(self) -> None:
        """Count the current text (inline when cheap, else in the worker); skipped when already counted."""
        counted = self._snapshot is not None and self.editor.snapshot_version == self.editor.version
        if self._counter is None or (counted and not self._stale and not self._busy):
            return
        if self._busy:
            self._dirty = True
            return
        counter, text, version = self._counter, self.editor.text, self.editor.version
        previous = self._snapshot.characters if self._snapshot else 0
        self._dirty = self._stale = False
        if self._last_cost < INLINE_BUDGET and abs(len(text) - previous) <= INLINE_MAX_DELTA:
            self._apply(counter.count(text), version, counter.primary)
            return
        self._busy = True
        self.run_worker(lambda: self._count(counter, text, version), thread=True, group="tokens-count")

    def _count(self, counter: LiveCounter, text: str, version: int) -> None:
        try:
            snap = counter.count(text)
        except Exception as exc:  # a worker must hand every failure back as a message
            self.app.call_from_thread(self._count_failed, exc)
            return
        self.app.call_from_thread(self._apply, snap, version, counter.primary)

    def _count_failed(self, exc: Exception) -> None:
        self._busy = False
        self._show_error(f"counting failed: {exc}")

    def _apply(self, snap: Snapshot, version: int, primary: Any) -> None:
        self._busy = False
        self._last_cost = snap.seconds
        self._snapshot = snap
        self.editor.show_tokens(snap, version, primary)
        self._show_counts()
        self._show_context()
        self._show_ids()
        if self._dirty or version != self.editor.version:
            self._recount()
        elif self._extras_version != version:
            self._schedule_extras()

    def _schedule_extras(self) -> None:
        """After a pause in typing: the local model's count and, for a JSON message list, its chat-format count."""
        if self._extras_timer is not None:
            self._extras_timer.stop()
        self._extras_timer = self.set_timer(EXTRAS_DELAY, self._count_extras)

    def _count_extras(self) -> None:
        local = self._local()
        text, version, model = self.editor.text, self.editor.version, self.model
        looks_like_chat = text.lstrip()[:1] in ("[", "{")
        if (local is None or model == "local") and not looks_like_chat:
            self._set_extras(None, None, version)
            return

        def work() -> None:
            counted = local is not None and model != "local"  # else it is the primary count already
            local_count = (local.name, local.count(text)) if counted else None
            chat = (
                chat_json_tokens(text, local or model)
                if looks_like_chat and (local or model != "local")
                else None
            )
            self.app.call_from_thread(self._set_extras, local_count, chat, version)

        self.run_worker(work, thread=True, exclusive=True, group="tokens-extras")

    def _set_extras(self, local: tuple[str, int] | None, chat: tuple[int, int] | None, version: int) -> None:
        self._local_count, self._chat_count, self._extras_version = local, chat, version
        self._show_counts()
        self._show_context()

    # ---- showing ----------------------------------------------------------------------------------------
    def _show_counts(self) -> None:
        snap = self._snapshot
        if snap is None:
            return
        line = Text()
        for i, (name, n) in enumerate(snap.counts.items()):
            line.append("  " if i else "")
            line.append(f"{name} ", style="bold" if i == 0 else "dim")
            line.append(f"{n:,}", style="bold" if i == 0 else "")
        if self._local_count is not None:
            line.append(f"  {self._local_count[0]} ", style="dim")
            line.append(f"{self._local_count[1]:,}")
        counts = self.query_one("#tokens-counts", Static)
        counts.remove_class("-error")
        counts.update(line, layout=False)
        primary = self.primary_count
        ratio = (
            f"{snap.characters / primary:.2f} chars/token · {snap.bytes / primary:.2f} bytes/token"
            if primary
            else "empty"
        )
        chat = self.chat_count
        if chat is not None:
            ratio = f"chat format: {chat[1]:,} tokens for {chat[0]} messages"
        self.query_one("#tokens-ratios", Static).update(
            f"{snap.characters:,} chars · {snap.bytes:,} bytes · {ratio}", layout=False
        )

    @property
    def chat_count(self) -> tuple[int, int] | None:
        """(messages, tokens) of the text as a chat request, when it is a JSON message list (and up to date)."""
        return self._chat_count if self._extras_version == self.editor.version else None

    @property
    def primary_count(self) -> int:
        snap = self._snapshot
        return next(iter(snap.counts.values()), 0) if snap else 0

    def _show_context(self) -> None:
        if self._snapshot is None:
            return
        chat = self.chat_count
        model, prompt, reserve = self.model, chat[1] if chat else self.primary_count, self.reserve
        backend = self._backend()
        window = getattr(backend, "context_window", None) if model == "local" else context_window(model)
        self.query_one(ContextBar).show(prompt, reserve, window or None, "chat" if chat else "context")
        settings = self._settings()
        price = price_for(model, getattr(settings, "prices", None)) if model != "local" else None
        cost = self.query_one("#tokens-cost", Static)
        if price is None:
            cost.update(f"cost: no price for {model} (add one under [prices] in the config)", layout=False)
            return
        cost.update(
            f"cost ≤ ${price.cost(prompt, reserve):.6f}  (${price.input:g}/1M in, ${price.output:g}/1M out; "
            f"{price.source} price as of {price.as_of})",
            layout=False,
        )

    def _show_ids(self) -> None:
        panel = self.query_one("#tokens-ids", Static)
        if not panel.has_class("-shown"):
            return
        row = self.editor.cursor_location[0]
        line = self.editor.document.get_line(row)
        out = Text(f"line {row + 1}: ", style="dim")
        for start, end, index, token_id in self.editor.line_tokens(row):
            out.append(repr(line[start:end])[1:-1] or "·", style="reverse" if index % 2 else "underline")
            out.append(f":{token_id} ", style="dim")
        panel.update(out)

    @on(TokenArea.SelectionChanged, "#tokens-editor")
    def _cursor_moved(self) -> None:
        self._show_ids()

    # ---- actions ------------------------------------------------------------------------------------------
    def action_toggle_ids(self) -> None:
        self.query_one("#tokens-ids", Static).toggle_class("-shown")
        self._show_ids()

    def action_focus_model(self) -> None:
        self.query_one("#tokens-model", Input).focus()

    def action_from_chat(self) -> None:
        """Put the Chat pane's current conversation into the editor as a JSON message list (in a worker)."""
        self.run_worker(self._from_chat(), exclusive=True, group="tokens-from-chat")

    async def _from_chat(self) -> None:
        chat = getattr(self.app, "chat_pane", None)
        session, store = getattr(chat, "session", None), getattr(chat, "store", None)
        if session is None or store is None:
            self._note("no chat session is open: nothing to count", "-warning")
            return
        try:  # from the store, as the next request would read it; nothing is written
            session = await store.get_session(session.id)
            messages = conversation(session, await store.path(session.id))
        except Exception as exc:  # noqa: BLE001 - a store failure is one line, never a traceback
            self._note(f"chat session: {one_line(exc)}", "-error")
            return
        if not messages:
            self._note("the chat session is empty: nothing to count", "-warning")
            return
        model = self._chat_model(session)
        if model is not None and model != self.model:
            self.query_one("#tokens-model", Input).value = model  # re-picks the tokenizers
        text = json.dumps([m.to_dict() for m in messages], ensure_ascii=False, indent=2)
        editor = self.editor
        editor.replace(text, (0, 0), editor.document.end)  # an edit: ctrl+z brings the previous text back
        editor.move_cursor((0, 0))
        editor.focus()
        self._note(f"from chat {session.title!r}: {len(messages)} messages, counted for {self.model}")

    def _note(self, text: str, kind: str = "") -> None:
        """One line above the counts (not a toast: a toast would cover the counts it is about)."""
        note = self.query_one("#tokens-note", Static)
        note.update(text)
        note.set_classes(f"tokens-line -shown {kind}".strip())
        self._note_version = self.editor.version

    def _chat_model(self, session: Any) -> str | None:
        """The model the Tokens pane should count the session for: the session's own when it can count it
        ("local" when its local model is loaded), else None (keep the model chosen here)."""
        if session.backend == "local":
            return "local" if self._local() is not None else None
        model = session.model or getattr(self._backend(), "model", None)
        if not model:
            return None
        try:
            return model if model_spec(model).family in RULES else None
        except InputError:  # e.g. a model of an OpenAI-compatible server the counter does not know
            return None

    def action_close_next(self) -> None:
        self.query_one("#tokens-next").remove_class("-shown")
        self.editor.focus()

    def action_next_token(self) -> None:
        """Ask the backend for the most likely next tokens after the text (in a worker)."""
        panel = self.query_one("#tokens-next")
        panel.add_class("-shown")
        title = self.query_one("#tokens-next-title", Static)
        backend = self._backend()
        if backend is None:
            title.update("next token: no model (the app has no backend)")
            return
        title.update(f"next token · {_short(backend.model)} · …")
        self.run_worker(self._next(backend, self.editor.text), exclusive=True, group="tokens-next")

    async def _next(self, backend: Any, text: str) -> None:
        title = self.query_one("#tokens-next-title", Static)
        options = self.query_one("#tokens-next-list", OptionList)
        try:
            top = await next_token_distribution(backend, text, NEXT_K)
        except GptbenchError as exc:
            title.update(Text(f"next token: {exc}", style="bold"))
            return
        title.update(f"next token · {_short(backend.model)}\n↑↓ pick · enter append · esc close")
        options.clear_options()
        options.add_options(
            Option(Text.assemble((f"{p * 100:>7.3g}% ", "bold"), repr(token)), id=f"t{i}")
            for i, (token, p) in enumerate(top)
        )
        self._next_tokens = [token for token, _ in top]
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#tokens-next-list")
    def _pick(self, event: OptionList.OptionSelected) -> None:
        token = self._next_tokens[event.option_index]
        editor = self.editor
        editor.insert(token, editor.document.end)
        editor.move_cursor(editor.document.end)
        self.action_next_token()
