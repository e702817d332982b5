"""A scripted in-test Backend (deterministic tokens, logprobs, timing) and Pilot helpers for the chat views' tests.

The backend speaks the real Backend protocol (core/backends/base.py); only the text it generates is scripted.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from gptbench.core.backends.base import Delta, Finish, ModelInfo, StreamEvent, TokenLogprob, Usage
from gptbench.core.chat import Message
from gptbench.core.errors import BackendError
from gptbench.core.params import GenerationParams
from textual.app import App
from textual.widgets import Static

#: (prompt text, params) -> the tokens to generate.
Script = Callable[[str, GenerationParams], list[str]]


class ScriptedBackend:
    """Generates `script(prompt, params)` one token per Delta, `delay` seconds apart; can fail mid-stream."""

    def __init__(
        self,
        script: Script,
        *,
        kind: str = "openai",
        model: str = "scripted",
        delay: float = 0.0,
        fail_after: int | None = None,
    ) -> None:
        self.script = script
        self.kind = kind
        self.model = model
        self.delay = delay
        self.fail_after = fail_after
        #: Every prompt received, in order (tests check what was sent).
        self.prompts: list[str] = []
        #: Streams running right now, and the most seen at once (compare mode's scheduling).
        self.active = 0
        self.max_active = 0

    def stream_chat(
        self, messages: Sequence[Message], params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        return self._stream("\n".join(f"{m.role}: {m.content}" for m in messages), params, model)

    def stream_completion(
        self, prompt: str, params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        return self._stream(prompt, params, model)

    async def _stream(
        self, prompt: str, params: GenerationParams, model: str | None
    ) -> AsyncIterator[StreamEvent]:
        self.prompts.append(prompt)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        started = time.perf_counter()
        first = 0.0
        tokens = self.script(prompt, params)
        if params.max_tokens is not None:
            tokens = tokens[: params.max_tokens]
        reason = "length" if params.max_tokens is not None and len(tokens) == params.max_tokens else "stop"
        try:
            for i, token in enumerate(tokens):
                if self.fail_after is not None and i == self.fail_after:
                    raise BackendError(f"{self.model}: the server closed the stream")
                await asyncio.sleep(self.delay)
                first = first or time.perf_counter() - started
                yield Delta(token, 0, self._logprobs(token, params))
        finally:
            self.active -= 1
        yield Finish(
            (reason,),
            Usage(len(prompt.split()), len(tokens)),
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
        text = messages if isinstance(messages, str) else " ".join(m.content for m in messages)
        return len(text.split())

    async def aclose(self) -> None:
        return None


def shown(app: App, selector: str) -> str:
    """The plain text a Static shows."""
    return str(app.query_one(selector, Static).render())


async def wait_idle(pilot: Any, view: Any, timeout: float = 60.0) -> None:
    """Let the view's run (its `.running`) finish, failing the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while view.running:
        assert time.monotonic() < deadline, "the run did not finish in time"
        await pilot.pause(0.05)
    await pilot.pause()
