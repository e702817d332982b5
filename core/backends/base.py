"""The async protocol every backend speaks, and the events a streamed reply is made of.

A reply streams as `Delta` events (text for one choice, with its token logprobs when asked) and ends with
exactly one `Finish` (finish reason per choice, usage, timings). Cancelling the consuming task, or closing the
async iterator, stops the backend within one token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..chat import Message
from ..params import GenerationParams


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, its log-probability and the top alternatives at that step."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of the reply for choice `index`."""

    text: str
    index: int = 0
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Finish:
    """The last event of a stream."""

    #: One per choice: "stop" (EOS or a stop sequence), "length" (max_tokens), "cancelled".
    finish_reasons: tuple[str, ...]
    usage: Usage
    #: Seconds from the call to the first generated token.
    time_to_first_token: float
    #: Seconds from the call to the end.
    elapsed: float
    model: str = ""

    @property
    def tokens_per_second(self) -> float:
        """Decode speed: completion tokens after the first, over the time after the first."""
        decode = self.elapsed - self.time_to_first_token
        tokens = self.usage.completion_tokens
        if tokens <= 1 or decode <= 0:
            return 0.0
        return (tokens - 1) / decode


StreamEvent = Delta | Finish


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    owned_by: str = ""
    context_window: int | None = None


@dataclass
class Reply:
    """A whole reply gathered from a stream (CLI, tests, compare mode)."""

    texts: list[str] = field(default_factory=lambda: [""])
    logprobs: list[list[TokenLogprob]] = field(default_factory=lambda: [[]])
    finish: Finish | None = None

    @property
    def text(self) -> str:
        return self.texts[0]

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, Finish):
            self.finish = event
            return
        while len(self.texts) <= event.index:
            self.texts.append("")
            self.logprobs.append([])
        self.texts[event.index] += event.text
        self.logprobs[event.index].extend(event.logprobs)


async def collect(stream: AsyncIterator[StreamEvent]) -> Reply:
    """Consume a stream into a Reply."""
    reply = Reply()
    async for event in stream:
        reply.add(event)
    return reply


@runtime_checkable
class Backend(Protocol):
    """What the TUI, the CLI and `serve` need from a model provider."""

    #: "local" or "openai".
    kind: str
    #: The model used when a call names none.
    model: str

    def stream_chat(
        self, messages: Sequence[Message], params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream an assistant reply to a conversation."""
        ...

    def stream_completion(
        self, prompt: str, params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream a raw text continuation of `prompt` (base and legacy fine-tuned models)."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def count_tokens(self, messages: Sequence[Message] | str, model: str | None = None) -> int:
        """Tokens the prompt costs with the model's own tokenizer (chat format for a message list)."""
        ...

    async def aclose(self) -> None: ...
