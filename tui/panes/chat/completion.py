"""CompletionView: completion mode for base and legacy fine-tuned models.

A raw prompt goes to `Backend.stream_completion`; the continuation streams in after the prompt, and every
generated token gets a row in a table: move through it with the keyboard to see that token's top alternatives and
their probabilities, and the token is highlighted in the text. Ctrl+L applies the classification recipe from
OpenAI's legacy fine-tuning guide (prompt ends with a separator, max_tokens=1, logprobs=5, greedy) so a
classifier's label and its runner-ups show in one run.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static, TextArea
from textual.worker import Worker

from ....core.backends.base import Backend, Delta, Finish, StreamEvent, TokenLogprob
from ....core.errors import GptbenchError, InputError, ParamError
from ....core.params import PRESETS, GenerationParams
from ....core.store import ReplyRecorder
from ...errors import one_line
from ...widgets.params_panel import check_field, format_stop, parse_stop
from ...widgets.usage_line import UsageLine, summarize

#: The separator the legacy fine-tuning guide puts between a classification prompt and its label.
DEFAULT_SEPARATOR = "\n\n###\n\n"
#: How many alternatives per token are asked for unless the user says otherwise (the legacy API's maximum).
DEFAULT_LOGPROBS = 5
#: The reply budget when the session's parameters set none (a continuation, not an essay).
DEFAULT_MAX_TOKENS = 64


def show_token(token: str) -> str:
    """A token with its whitespace visible, quoted so a leading space shows."""
    return "'" + token.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") + "'"


def percent(logprob: float) -> str:
    """A log-probability as a percentage."""
    return f"{100 * math.exp(logprob):.1f}%"


def finish_summary(finish: Finish) -> str:
    """The usage line after a reply, from its Finish event (the model is in the status line or a header)."""
    usage = finish.usage
    return summarize(
        finish_reason(finish),
        usage.prompt_tokens,
        usage.completion_tokens,
        finish.tokens_per_second,
        finish.time_to_first_token,
        finish.elapsed,
    )


def finish_reason(finish: Finish | None) -> str:
    """The first choice's finish reason ("stop" when the backend gave none)."""
    return finish.finish_reasons[0] if finish is not None and finish.finish_reasons else "stop"


async def record_stream(
    stream: AsyncIterator[StreamEvent],
    recorder: ReplyRecorder | None,
    on_delta: Callable[[Delta], Awaitable[None]],
) -> Finish | None:
    """Consume a reply stream: each Delta goes to `on_delta` and, with a recorder, to the store as it streams.

    The saved reply is finalised whatever happens: complete on Finish, "stopped" on cancel (Esc), "error" with
    the one-line message on a failure (which is then re-raised for the view to show).
    """
    finish: Finish | None = None
    try:
        async for event in stream:
            if isinstance(event, Finish):
                finish = event
                continue
            if recorder is not None:
                await recorder.add(event.text, event.index, event.logprobs)
            await on_delta(event)
    except asyncio.CancelledError:
        if recorder is not None:
            await recorder.stop()
        raise
    except Exception as exc:
        if recorder is not None:
            await recorder.stop(error=one_line(exc))
        raise
    if recorder is not None:
        if finish is not None:
            await recorder.finish(finish)
        else:
            await recorder.stop(error="the backend ended the stream without a finish event")
    return finish


def backend_for(
    widget: Any, backend: Backend | None, kind: str | None, model: str | None, base_url: str | None = None
) -> Backend:
    """The backend given to the widget, else the app's shared one for (kind, model, base_url)."""
    if backend is not None:
        return backend
    pool = getattr(widget.app, "pool", None)
    if pool is None:
        raise InputError("no backend: this view needs the app's backend pool or a backend passed in")
    return pool.get(kind, model, base_url)


async def ready(widget: Any, backend: Backend) -> None:
    """Wait for the app to load a local model (its status line shows progress); a no-op in a bare test app."""
    wait_loaded = getattr(widget.app, "wait_loaded", None)
    if wait_loaded is not None:
        await wait_loaded(backend)


class GenerationView(Vertical):
    """A view that runs one generation at a time in a worker: Esc cancels it, and the footer offers Cancel only
    while it runs."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._worker: Worker | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in place of any running generation (errors are shown by the view, never raised)."""
        self.action_cancel()
        self._worker = self.run_worker(work, group=type(self).__name__, exclusive=True, exit_on_error=False)
        self.refresh_bindings()

    def action_cancel(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.running if action == "cancel" else True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._worker:
            self.refresh_bindings()


class CompletionView(GenerationView):
    """Raw prompt in, continuation out, with per-token top logprobs on demand."""

    BINDINGS = [
        Binding("ctrl+r", "run", "Run", id="completion.run"),
        Binding("escape", "cancel", "Cancel", id="completion.cancel"),
        Binding("ctrl+l", "classify", "Classify preset", id="completion.classify"),
    ]

    DEFAULT_CSS = """
    CompletionView { height: 1fr; }
    CompletionView .completion-controls { height: 1; }
    CompletionView .completion-controls Label { padding: 0 1; }
    CompletionView .completion-controls Input { width: 1fr; }
    CompletionView #completion-max_tokens, CompletionView #completion-logprobs { width: 7; }
    CompletionView #completion-prompt { height: 1fr; min-height: 3; }
    CompletionView #completion-output-box { height: 1fr; min-height: 3; border-top: solid $primary; }
    CompletionView #completion-tokens-box { height: 1fr; min-height: 7; }
    CompletionView #completion-tokens { width: 1fr; }
    CompletionView #completion-alternatives { width: 1fr; padding: 0 1; }
    CompletionView #completion-status { height: 1; padding: 0 1; color: $text-muted; }
    CompletionView #completion-status.-error { color: $error; }
    """

    class Saved(Message):
        """A run was saved in the store, in session `session_id` (mode "completion")."""

        def __init__(self, session_id: int) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(
        self,
        backend: Backend | None = None,
        kind: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
        *,
        session_id: int | None = None,
        base_url: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._backend = backend
        self._kind = kind
        self._model = model
        self._base_url = base_url
        self._params = params
        #: The store session runs are saved in (created on the first run when the app has a store).
        self.session_id = session_id
        self._prompt = ""
        self._text = ""
        #: Per generated token: its logprob record and its [start, end) span in the continuation.
        self._tokens: list[tuple[TokenLogprob, int, int]] = []
        self._selected: int | None = None

    def compose(self) -> ComposeResult:
        params = self.base_params
        yield TextArea(id="completion-prompt", soft_wrap=True)
        with Horizontal(classes="completion-controls"):
            yield Label("stop")
            yield Input(format_stop(params.stop), placeholder="none", id="completion-stop", compact=True)
            yield Label("separator")
            yield Input(format_stop((DEFAULT_SEPARATOR,)), id="completion-separator", compact=True)
        with Horizontal(classes="completion-controls"):
            yield Label("max_tokens")
            yield Input(
                str(params.max_tokens or DEFAULT_MAX_TOKENS), id="completion-max_tokens", compact=True
            )
            yield Label("logprobs")
            logprobs = DEFAULT_LOGPROBS if params.logprobs is None else params.logprobs
            yield Input(str(logprobs), id="completion-logprobs", compact=True)
        with VerticalScroll(id="completion-output-box"):
            yield Static("", id="completion-output")
        with Horizontal(id="completion-tokens-box"):
            yield DataTable(id="completion-tokens", cursor_type="row", zebra_stripes=True)
            yield Static("", id="completion-alternatives")
        yield UsageLine(id="completion-usage")
        yield Static("ctrl+r run · esc cancel · ctrl+l classification preset", id="completion-status")

    async def on_mount(self) -> None:
        self.query_one("#completion-tokens", DataTable).add_columns("#", "token", "p")
        store = getattr(self.app, "store", None)
        if store is not None and self.session_id is not None:
            await self._restore(store, self.session_id)

    async def _restore(self, store: Any, session_id: int) -> None:
        """Show the session's last prompt and continuation again, with its token table when it was saved."""
        try:
            path = await store.path(session_id)
        except GptbenchError as err:
            self._status(one_line(err), error=True)
            return
        prompts = [m for m in path if m.role == "user"]
        if not prompts:
            return
        self.query_one("#completion-prompt", TextArea).text = prompts[-1].content
        reply = path[-1] if path[-1].role == "assistant" else None
        self._start(prompts[-1].content)
        self._text = reply.content if reply is not None else ""
        if reply is not None:
            try:
                self._add_tokens(reply.logprobs, 0, len(self._text))
            except GptbenchError as err:  # a hand-edited row: the text still shows
                self._status(f"token table not shown: {one_line(err)}", error=True)
            if self._tokens:
                self._show_alternatives(0)
        self._render_output()

    # ----------------------------------------------------------------- configuration

    @property
    def base_params(self) -> GenerationParams:
        """The session's parameters (or the app's defaults) that the fields here override."""
        if self._params is not None:
            return self._params
        settings = getattr(self.app, "settings", None)
        return settings.params if settings is not None else GenerationParams()

    def set_params(self, params: GenerationParams) -> None:
        """Use these parameters (e.g. from a ParamsPanel) under the stop/max_tokens/logprobs fields."""
        self._params = params

    def set_target(self, kind: str | None, model: str | None, base_url: str | None = None) -> None:
        """Send later runs to another backend kind / model from the app's pool."""
        self._kind, self._model, self._base_url = kind, model, base_url
        self._backend = None

    def run_params(self) -> GenerationParams:
        """The parameters a run uses: the base ones with this view's fields applied (ParamError names a field)."""
        values: dict[str, Any] = {}
        for name in ("stop", "max_tokens", "logprobs"):
            values[name] = check_field(name, self.query_one(f"#completion-{name}", Input).value)
        return self.base_params.merged(**values)

    @property
    def continuation(self) -> str:
        """The text generated by the last (or current) run."""
        return self._text

    # ----------------------------------------------------------------- actions

    def action_classify(self) -> None:
        """The classification recipe: separator at the end of the prompt, one greedy token, top 5 logprobs."""
        try:
            separators = parse_stop(self.query_one("#completion-separator", Input).value)
        except ParamError as err:
            self._status("separator" + str(err).removeprefix("stop"), error=True)
            return
        separator = separators[0] if separators else DEFAULT_SEPARATOR
        prompt = self.query_one("#completion-prompt", TextArea)
        if not prompt.text.endswith(separator):
            prompt.text = prompt.text.rstrip() + separator
        recipe = PRESETS["classify"]
        self.query_one("#completion-max_tokens", Input).value = str(recipe.max_tokens)
        self.query_one("#completion-logprobs", Input).value = str(recipe.logprobs)
        self.query_one("#completion-stop", Input).value = ""
        self._params = self.base_params.merged(temperature=recipe.temperature, do_sample=recipe.do_sample)
        self._status("classification preset: separator appended, max_tokens=1, logprobs=5, greedy")

    def action_run(self) -> None:
        prompt = self.query_one("#completion-prompt", TextArea).text
        if not prompt.strip():
            self._status("the prompt is empty: write a prompt first", error=True)
            return
        try:
            params = self.run_params()
            backend = backend_for(self, self._backend, self._kind, self._model, self._base_url)
        except GptbenchError as err:
            self._status(one_line(err), error=True)
            return
        self.start(self._generate(backend, prompt, params))

    # ----------------------------------------------------------------- streaming

    async def _generate(self, backend: Backend, prompt: str, params: GenerationParams) -> None:
        self._start(prompt)
        usage = self.query_one(UsageLine)
        usage.start()
        started, count = time.monotonic(), 0
        recorder: ReplyRecorder | None = None

        async def show(delta: Delta) -> None:
            nonlocal count
            if delta.index == 0:
                count += 1
                usage.add_tokens()
                self._append(delta)

        try:
            await ready(self, backend)
            recorder = await self._record(backend, prompt, params)
            finish = await record_stream(backend.stream_completion(prompt, params), recorder, show)
        except asyncio.CancelledError:
            usage.finish(f"stopped · ↓{count} · {time.monotonic() - started:.1f}s")
            self._saved(recorder)
            raise
        except Exception as exc:  # noqa: BLE001 - a backend failure is one line on screen, never a traceback
            usage.clear()
            self._status(one_line(exc), error=True)
            self._saved(recorder)
            return
        usage.finish(finish_summary(finish) if finish else "stop")
        self._saved(recorder)

    def _saved(self, recorder: ReplyRecorder | None) -> None:
        if recorder is not None:
            self.post_message(self.Saved(recorder.messages[0].session_id))

    async def _record(self, backend: Backend, prompt: str, params: GenerationParams) -> ReplyRecorder | None:
        """Save the prompt and open the reply rows, when the app has a store (a failure only skips saving)."""
        store = getattr(self.app, "store", None)
        if store is None:
            return None
        model = self._model or backend.model
        try:
            if self.session_id is None:
                title = " ".join(prompt.split())[:40]
                session = await store.create_session(
                    title, backend=backend.kind, model=model, params=params, mode="completion"
                )
                self.session_id = session.id
            user = await store.add_user_message(self.session_id, prompt)
            replies = await store.begin_replies(
                self.session_id, user.id, n=params.n, backend=backend.kind, model=model, params=params
            )
        except GptbenchError as err:
            self._status(f"not saved: {one_line(err)}", error=True)
            return None
        return ReplyRecorder(store, replies)

    def _start(self, prompt: str) -> None:
        self._prompt, self._text, self._tokens, self._selected = prompt, "", [], None
        self.query_one("#completion-tokens", DataTable).clear()
        self.query_one("#completion-alternatives", Static).update("")
        self._status("")
        self._render_output()

    def _append(self, delta: Delta) -> None:
        start = len(self._text)
        self._add_tokens(delta.logprobs, start, start + len(delta.text))
        self._text += delta.text
        if self._selected is None and self._tokens:
            self._show_alternatives(0)
        self._render_output()

    def _add_tokens(self, logprobs: Sequence[TokenLogprob], start: int, limit: int) -> None:
        """Rows for tokens whose text starts at `start` in the continuation (spans clipped to `limit`)."""
        table = self.query_one("#completion-tokens", DataTable)
        for lp in logprobs:
            end = min(start + len(lp.token), limit)
            self._tokens.append((lp, start, end))
            table.add_row(str(len(self._tokens)), show_token(lp.token), percent(lp.logprob))
            start = end

    def _render_output(self) -> None:
        text = Text(self._prompt, style="dim")
        body = Text(self._text, style="bold")
        if self._selected is not None and self._selected < len(self._tokens):
            _, start, end = self._tokens[self._selected]
            body.stylize("reverse", start, end)
        text.append_text(body)
        self.query_one("#completion-output", Static).update(text)
        self.query_one("#completion-output-box", VerticalScroll).scroll_end(animate=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_alternatives(event.cursor_row)
        self._render_output()

    def _show_alternatives(self, row: int) -> None:
        if not 0 <= row < len(self._tokens):
            return
        self._selected = row
        lp, _, _ = self._tokens[row]
        lines = Text(f"token {row + 1}: {show_token(lp.token)} {percent(lp.logprob)}\n", style="bold")
        for token, logprob in lp.top or ((lp.token, lp.logprob),):
            mark = "▸ " if token == lp.token else "  "
            lines.append(f"{mark}{show_token(token):<16} {percent(logprob):>6}\n")
        self.query_one("#completion-alternatives", Static).update(lines)

    def _status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#completion-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")
