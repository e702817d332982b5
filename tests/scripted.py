"""The one scripted in-test Backend (deterministic tokens, logprobs, pace, failures) and the Pilot helpers.

The backend speaks the real Backend protocol (core/backends/base.py: stream events, cancellation, count_tokens,
aclose), so the app code under test is exactly the code that talks to the local and OpenAI backends; only the
text it generates is scripted. ScriptedPool is a real BackendPool whose factory makes ScriptedBackends.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from gptbench.core.backends.base import Delta, Finish, ModelInfo, StreamEvent, TokenLogprob, Usage
from gptbench.core.backends.pool import BackendPool
from gptbench.core.chat import Message
from gptbench.core.config import Settings
from gptbench.core.errors import Unreachable
from gptbench.core.params import GenerationParams
from textual.app import App
from textual.widgets import Static

#: (prompt text, params) -> the tokens to generate.
Script = Callable[[str, GenerationParams], list[str]]


def words(text: str) -> list[str]:
    """`text` as word tokens, each but the first with its leading space (the way BPE splits prose)."""
    head, *rest = text.split(" ")
    return [head, *(" " + word for word in rest)]


class ScriptedBackend:
    """Streams scripted tokens, one per Delta, `delay` seconds apart, for each of the `params.n` choices.

    `script` is a callable (prompt text, params) -> tokens, a list of tokens, or None: the words of
    "Echo: <last user message>" for a chat, of "positive review" for a completion. `fail_after` makes the
    stream raise Unreachable after that many tokens; `hold` makes it wait on the event after its first token
    (cancel tests). All of them may be set after construction (ScriptedPool makes the backends).
    """

    def __init__(
        self,
        script: Script | list[str] | None = None,
        *,
        kind: str = "openai",
        model: str = "scripted",
        delay: float = 0.0,
        fail_after: int | None = None,
        hold: asyncio.Event | None = None,
    ) -> None:
        self.script = script
        self.kind = kind
        self.model = model
        self.delay = delay
        self.fail_after = fail_after
        self.hold = hold
        #: Every request as prompt text, in order; the messages of every chat request (what was sent).
        self.prompts: list[str] = []
        self.calls: list[list[Message]] = []
        #: Streams running right now, and the most seen at once (compare mode's scheduling).
        self.active = 0
        self.max_active = 0
        #: Streams cancelled mid-way, and aclose() calls.
        self.cancelled = 0
        self.closed = 0

    @staticmethod
    def _text(messages: Sequence[Message]) -> str:
        return "\n".join(f"{m.role}: {m.content}" for m in messages)

    def stream_chat(
        self, messages: Sequence[Message], params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        self.calls.append(list(messages))
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        return self._stream(self._text(messages), params, model, f"Echo: {last}")

    def stream_completion(
        self, prompt: str, params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        return self._stream(prompt, params, model, "positive review")

    def _tokens(self, prompt: str, params: GenerationParams, default: str) -> list[str]:
        if callable(self.script):
            return list(self.script(prompt, params))
        return list(self.script) if self.script is not None else words(default)

    def _stream(
        self, prompt: str, params: GenerationParams, model: str | None, default: str
    ) -> AsyncIterator[StreamEvent]:
        self.prompts.append(prompt)
        tokens = self._tokens(prompt, params, default)
        truncated = params.max_tokens is not None and len(tokens) > params.max_tokens
        return self._events(prompt, tokens[: params.max_tokens], truncated, params, model)

    async def _events(
        self,
        prompt: str,
        tokens: list[str],
        truncated: bool,
        params: GenerationParams,
        model: str | None,
    ) -> AsyncIterator[StreamEvent]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        started = time.perf_counter()
        first = 0.0
        sent = 0
        try:
            for index in range(params.n):
                for token in tokens:
                    if self.fail_after is not None and sent >= self.fail_after:
                        raise Unreachable(f"{self.model}: the server closed the stream")
                    await asyncio.sleep(self.delay)
                    first = first or time.perf_counter() - started
                    sent += 1
                    yield Delta(token, index, self._logprobs(token, params))
                    if self.hold is not None and sent == 1:
                        await self.hold.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1
        yield Finish(
            ("length" if truncated else "stop",) * params.n,
            Usage(len(prompt.split()), sent),
            first,
            time.perf_counter() - started,
            model or self.model,
        )

    @staticmethod
    def _logprobs(token: str, params: GenerationParams) -> tuple[TokenLogprob, ...]:
        """The chosen token at 60 %, then alternatives "alt1".."altK" sharing the rest, when logprobs are asked."""
        if params.logprobs is None:
            return ()
        top = [(token, math.log(0.6))]
        top += [(f"alt{k}", math.log(0.4 / (k + 1))) for k in range(1, params.logprobs)]
        return (TokenLogprob(token, math.log(0.6), tuple(top[: max(params.logprobs, 1)])),)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(self.model)]

    async def count_tokens(self, messages: Sequence[Message] | str, model: str | None = None) -> int:
        """Words of the prompt text, the same count the stream's Usage reports."""
        return len((messages if isinstance(messages, str) else self._text(messages)).split())

    async def aclose(self) -> None:
        self.closed += 1


class ScriptedPool(BackendPool):
    """A real BackendPool whose factory makes ScriptedBackends (kept in `made`, by model name)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.made: dict[str, ScriptedBackend] = {}
        super().__init__(settings or Settings(), self._make)

    def _make(
        self, settings: Settings, kind: str | None, model: str | None, base_url: str | None
    ) -> ScriptedBackend:
        backend = ScriptedBackend(kind=kind or "local", model=model or "scripted")
        self.made[backend.model] = backend
        return backend


def screen(app: App) -> str:
    """The characters on screen, one line per row: what a person reads."""
    update = app.screen._compositor.render_full_update()
    return "\n".join("".join(seg.text for strip in line for seg in strip) for line in update.strips)


def shown(app: App, selector: str) -> str:
    """The plain text a Static shows."""
    return str(app.query_one(selector, Static).render())


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    """Let the app run until `predicate()` is true, failing the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def wait_idle(pilot: Any, view: Any, timeout: float = 60.0) -> None:
    """Let the view's run (its `.running`) finish, failing the test after `timeout` seconds."""
    await pilot.pause()
    await wait_for(pilot, lambda: not view.running, timeout)
    await pilot.pause()
