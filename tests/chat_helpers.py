"""A scripted backend for the app tests: deterministic replies, controllable pace, injectable failures.

It implements the Backend protocol for real (stream events, cancellation, count_tokens), so the app code under
test is exactly the code that talks to the local and OpenAI backends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from gptbench.core.backends.base import Delta, Finish, ModelInfo, TokenLogprob, Usage
from gptbench.core.backends.pool import BackendPool
from gptbench.core.chat import Message
from gptbench.core.config import Settings
from gptbench.core.errors import Unreachable
from gptbench.core.params import GenerationParams


class ScriptedBackend:
    """Replies "Echo: <last user message>" (or a fixed script), one word per Delta.

    `delay` paces the tokens; `fail_after` raises Unreachable after that many tokens; `hold` makes the stream
    wait on an event after the first token (for cancel tests).
    """

    def __init__(self, kind: str = "local", model: str = "scripted") -> None:
        self.kind = kind
        self.model = model
        self.delay = 0.0
        self.fail_after: int | None = None
        self.script: list[str] | None = None
        self.hold: asyncio.Event | None = None
        self.calls: list[list[Message]] = []
        self.cancelled = 0
        self.closed = 0

    def _words(self, text: str) -> list[str]:
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    async def _stream(self, text: str, params: GenerationParams) -> AsyncIterator[Delta | Finish]:
        start = time.perf_counter()
        first = 0.0
        tokens = self._words(text)
        if params.max_tokens is not None:
            tokens = tokens[: params.max_tokens]
        sent = 0
        try:
            for index in range(params.n):
                for i, token in enumerate(tokens):
                    if self.fail_after is not None and sent >= self.fail_after:
                        raise Unreachable("scripted: connection to 127.0.0.1:9 lost mid-stream")
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    if not first:
                        first = time.perf_counter() - start
                    sent += 1
                    yield Delta(
                        token if index == 0 else f"{token}",
                        index=index,
                        logprobs=(TokenLogprob(token, -0.1 * (i + 1), ((token, -0.1), (" other", -2.5))),)
                        if params.logprobs is not None
                        else (),
                    )
                    if self.hold is not None and sent == 1:
                        await self.hold.wait()
            yield Finish(
                (
                    "length"
                    if params.max_tokens is not None and params.max_tokens < len(self._words(text))
                    else "stop",
                )
                * params.n,
                Usage(prompt_tokens=7, completion_tokens=sent),
                first,
                time.perf_counter() - start,
                self.model,
            )
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def stream_chat(
        self, messages: Sequence[Message], params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[Delta | Finish]:
        self.calls.append(list(messages))
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        text = " ".join(self.script) if self.script else f"Echo: {last}"
        return self._stream(text, params)

    def stream_completion(
        self, prompt: str, params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[Delta | Finish]:
        text = " ".join(self.script) if self.script else "positive review"
        return self._stream(text, params)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(self.model)]

    async def count_tokens(self, messages: Sequence[Message] | str, model: str | None = None) -> int:
        return 7

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
        backend = ScriptedBackend(kind or "local", model or "scripted")
        self.made[backend.model] = backend
        return backend
