"""CompareView: one conversation sent to two targets, the answers side by side.

A target is a backend kind and model plus a parameter set, so the two sides can differ by model (local smollm2 vs
an OpenAI model) or only by parameters (seed 1 vs seed 2, temperature 0 vs 1). Each side streams with its own usage
line (tokens, tokens/s, finish reason, time to first token).

Scheduling: remote targets stream concurrently (the wait is the network). Two local targets run one after the
other: a local forward pass already uses both cores, and two decode loops fighting over them each slow down more
than 2× (measured here: 2 threads fell 4× under a competing process), so the first answer arrives sooner and the
pair finishes no later. A local target next to a remote one runs concurrently: only one of them uses the CPU.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Select, Static

from ....core.backends.base import Backend, Delta
from ....core.chat import Message, check_messages
from ....core.errors import GptbenchError, ParamError
from ....core.params import GenerationParams
from ....core.store import ReplyRecorder
from ...errors import one_line
from ...widgets.message_view import MessageView
from ...widgets.params_panel import format_stop, parse_stop
from ...widgets.usage_line import UsageLine
from .completion import GenerationView, backend_for, finish_reason, finish_summary, ready, record_stream

SIDES = ("left", "right")
KINDS = ("local", "openai")
_PAIR = re.compile(r'\s*(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s"]+)\s*')


@dataclass
class Target:
    """Where one side's answer comes from: backend kind, model (None = the kind's default) and parameters."""

    kind: str = "local"
    model: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    #: A backend to use as is (tests); otherwise the app's pool provides one for (kind, model).
    backend: Backend | None = None

    @property
    def label(self) -> str:
        """Kind and model (the parameters are in the form right above the answer)."""
        return f"{self.kind}:{self.model or 'default'}"


def format_params(params: GenerationParams) -> str:
    """Parameters as one editable line: `temperature=0.7 seed=2 stop="\\n, ###"`."""
    parts = []
    for key, value in params.to_dict().items():
        if key == "stop":
            parts.append(f'stop="{format_stop(tuple(value)).replace(chr(34), chr(92) + chr(34))}"')
        else:
            parts.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    return " ".join(parts)


def parse_params(text: str) -> GenerationParams:
    """The inverse of `format_params` (HF spellings accepted); ParamError names the bad key or value."""
    values: dict[str, Any] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if not match:
            bad = text[pos:].split()[0]
            raise ParamError(bad.split("=")[0], f"expected key=value, got {bad!r}")
        key, value = match.group(1), match.group(2)
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        values[key] = parse_stop(value) if key in ("stop", "stop_sequences", "stop_strings") else value
        pos = match.end()
    return GenerationParams.from_dict(values)


def prompt_part(messages: Sequence[Message]) -> list[Message]:
    """The conversation up to its last user turn: compare answers that turn afresh, not the reply already given."""
    out = list(messages)
    while out and out[-1].role == "assistant":
        out.pop()
    return out


class CompareView(GenerationView):
    """Two target forms on top, two streaming answers below; ctrl+r runs both, Esc stops both."""

    BINDINGS = [
        Binding("ctrl+r", "run", "Run both", id="compare.run"),
        Binding("escape", "cancel", "Cancel", id="compare.cancel"),
    ]

    DEFAULT_CSS = """
    CompareView { height: 1fr; }
    CompareView #compare-targets { height: auto; }
    CompareView .target { width: 1fr; height: auto; padding: 0 1; }
    CompareView .target-row { height: 1; }
    CompareView .target-row Select { width: 14; }
    CompareView .target-row Input { width: 1fr; }
    CompareView .target-error { color: $error; height: auto; display: none; }
    CompareView .target-error.-shown { display: block; }
    CompareView #compare-answers { height: 1fr; }
    CompareView .answer { width: 1fr; height: 1fr; border: round $primary; }
    CompareView .answer-scroll { height: 1fr; }
    CompareView .answer UsageLine { height: auto; }
    CompareView #compare-status { height: 1; padding: 0 1; color: $text-muted; }
    CompareView #compare-status.-error { color: $error; }
    """

    def __init__(
        self,
        messages: Sequence[Message] = (),
        *,
        left: Target | None = None,
        right: Target | None = None,
        backend: Backend | None = None,
        kind: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
        session_id: int | None = None,
        parent_id: int | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Targets default to the session's (backend, kind, model, params) on both sides, ready to edit.

        With the app's store, `session_id` and `parent_id` (the stored user message the conversation ends with),
        both answers are saved as further replies to that prompt without changing the session's active branch.
        """
        super().__init__(id=id, classes=classes)
        self.session_id = session_id
        self.parent_id = parent_id
        self._messages = prompt_part(messages)
        session = Target(kind or "local", model, params or GenerationParams(), backend)
        self._targets = {"left": left or session, "right": right or session}
        #: Per side, the last run's answer text and finish reason (or "stopped" / "error").
        self.results: dict[str, tuple[str, str]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="compare-targets"):
            for side in SIDES:
                target = self._targets[side]
                with Vertical(classes="target"):
                    with Horizontal(classes="target-row"):
                        yield Select(
                            [(k, k) for k in KINDS],
                            value=target.kind if target.kind in KINDS else "local",
                            allow_blank=False,
                            id=f"{side}-kind",
                            compact=True,
                        )
                        yield Input(
                            target.model or "",
                            placeholder="model (default)",
                            id=f"{side}-model",
                            compact=True,
                        )
                    with Horizontal(classes="target-row"):
                        yield Input(
                            format_params(target.params),
                            placeholder="params, e.g. temperature=0.7 seed=2",
                            id=f"{side}-params",
                            compact=True,
                        )
                    yield Static("", id=f"{side}-error", classes="target-error", markup=False)
        with Horizontal(id="compare-answers"):
            for side in SIDES:
                with Vertical(classes="answer", id=f"{side}-answer"):
                    with VerticalScroll(classes="answer-scroll"):
                        yield MessageView("assistant", header=self._targets[side].label, message_id=side)
                    yield UsageLine(id=f"{side}-usage")
        yield Static(
            f"{len(self._messages)} messages · ctrl+r run both · esc cancel",
            id="compare-status",
            markup=False,
        )

    # ----------------------------------------------------------------- configuration

    def set_conversation(self, messages: Sequence[Message], parent_id: int | None = None) -> None:
        """The conversation both targets answer, and the stored user message it ends with (for saving)."""
        self._messages = prompt_part(messages)
        self.parent_id = parent_id
        self._status(f"{len(self._messages)} messages · ctrl+r run both · esc cancel")

    def read_targets(self) -> dict[str, Target]:
        """The two targets as the forms describe them; a bad field shows its error and raises ParamError."""
        targets: dict[str, Target] = {}
        failed: ParamError | None = None
        for side in SIDES:
            error = self.query_one(f"#{side}-error", Static)
            try:
                params = parse_params(self.query_one(f"#{side}-params", Input).value)
            except ParamError as err:
                error.update(f"{side}: {err}")
                error.add_class("-shown")
                failed = failed or err
                continue
            error.update("")
            error.remove_class("-shown")
            kind = str(self.query_one(f"#{side}-kind", Select).value)
            model = self.query_one(f"#{side}-model", Input).value.strip() or None
            old = self._targets[side]
            same = kind == old.kind and model == old.model
            targets[side] = Target(kind, model, params, old.backend if same else None)
        if failed is not None:
            raise failed
        self._targets = targets
        return targets

    # ----------------------------------------------------------------- actions

    def action_run(self) -> None:
        try:
            check_messages(self._messages)
            targets = self.read_targets()
            backends = {side: backend_for(self, t.backend, t.kind, t.model) for side, t in targets.items()}
        except GptbenchError as err:
            self._status(one_line(err), error=True)
            return
        self.start(self._compare(targets, backends))

    # ----------------------------------------------------------------- streaming

    async def _compare(self, targets: dict[str, Target], backends: dict[str, Backend]) -> None:
        self.results = {}
        sequential = all(b.kind == "local" for b in backends.values())
        self._status(
            "running one after the other (local models share the CPU)" if sequential else "running both"
        )
        for side in SIDES:
            await self._reset(side, targets[side], "waiting…" if sequential else "")
        if sequential:
            for side in SIDES:
                await self._side(side, targets[side], backends[side])
        else:
            await asyncio.gather(*(self._side(side, targets[side], backends[side]) for side in SIDES))
        self._status(
            " · ".join(f"{side}: {reason}" for side, (_, reason) in self.results.items())
            + " · ctrl+r run again"
        )

    async def _reset(self, side: str, target: Target, note: str) -> None:
        view = self.query_one(f"#{side}-answer MessageView", MessageView)
        view.set_header(f"{target.label}  {note}".rstrip())
        await view.set_content("")
        self.query_one(f"#{side}-usage", UsageLine).clear()

    async def _side(self, side: str, target: Target, backend: Backend) -> None:
        view = self.query_one(f"#{side}-answer MessageView", MessageView)
        usage = self.query_one(f"#{side}-usage", UsageLine)
        view.set_header(target.label)
        usage.start()

        async def show(delta: Delta) -> None:
            if delta.index == 0:
                usage.add_tokens()
                await view.append(delta.text)

        try:
            await ready(self, backend)
            recorder = await self._recorder(target, backend)
            stream = backend.stream_chat(self._messages, target.params, target.model)
            finish = await record_stream(stream, recorder, show)
        except asyncio.CancelledError:
            await view.end_stream()
            usage.finish("stopped")
            view.set_header(f"{target.label}  (stopped)")
            self.results[side] = (view.source, "stopped")
            raise
        except Exception as exc:  # noqa: BLE001 - a backend failure is one line on screen, never a traceback
            await view.end_stream()
            usage.clear()
            view.set_header(f"{target.label}  ⚠ {one_line(exc)}")
            self.results[side] = (view.source, "error")
            return
        await view.end_stream()
        usage.finish(finish_summary(finish) if finish else "stop")
        self.results[side] = (view.source, finish_reason(finish))

    async def _recorder(self, target: Target, backend: Backend) -> ReplyRecorder | None:
        """Save this side's answer as another reply to the prompt (not made the active branch), if the app has a
        store and the view knows which stored prompt it answers."""
        store = getattr(self.app, "store", None)
        if store is None or self.session_id is None or self.parent_id is None:
            return None
        try:
            replies = await store.begin_replies(
                self.session_id,
                self.parent_id,
                n=target.params.n,
                backend=backend.kind,
                model=target.model or backend.model,
                params=target.params,
                select=False,
            )
        except GptbenchError as err:
            self._status(f"not saved: {one_line(err)}", error=True)
            return None
        return ReplyRecorder(store, replies)

    def _status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#compare-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")
