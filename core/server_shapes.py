"""The JSON shapes of OpenAI's chat and legacy completion responses, built from our stream events.

Pure functions of Delta/Finish/Reply, so `gptbench serve` answers exactly what the official SDK parses: whole
responses (`chat.completion`, `text_completion`), stream chunks (`chat.completion.chunk`, `text_completion`),
the final usage chunk, and logprobs in each endpoint's own layout.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from .backends.base import Delta, Finish, Reply, TokenLogprob, Usage

#: OpenAI reports log-probabilities below this as this (JSON has no -Infinity).
LOGPROB_FLOOR = -9999.0


def _lp(value: float) -> float:
    return max(float(value), LOGPROB_FLOOR)


def usage_json(usage: Usage) -> dict[str, int]:
    """OpenAI's usage object."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def chat_logprobs(items: Sequence[TokenLogprob]) -> dict[str, Any]:
    """`choices[].logprobs` of a chat completion: content[] of {token, logprob, bytes, top_logprobs[]}."""

    def entry(token: str, logprob: float) -> dict[str, Any]:
        return {"token": token, "logprob": _lp(logprob), "bytes": list(token.encode("utf-8"))}

    return {
        "content": [
            {**entry(t.token, t.logprob), "top_logprobs": [entry(a, p) for a, p in t.top]} for t in items
        ],
        "refusal": None,
    }


def legacy_logprobs(items: Sequence[TokenLogprob], offset: int) -> dict[str, Any]:
    """`choices[].logprobs` of a legacy completion: parallel lists, text_offset counted from `offset`."""
    offsets = []
    for t in items:
        offsets.append(offset)
        offset += len(t.token)
    return {
        "tokens": [t.token for t in items],
        "token_logprobs": [_lp(t.logprob) for t in items],
        "top_logprobs": [{a: _lp(p) for a, p in t.top} for t in items],
        "text_offset": offsets,
    }


class Shaper:
    """Builds one response's JSON: the same id, timestamp and model on every chunk."""

    prefix = ""
    whole_object = ""
    chunk_object = ""

    def __init__(self, model: str, n: int, logprobs: bool) -> None:
        self.id = f"{self.prefix}{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.n = n
        self.logprobs = logprobs

    def _envelope(self, obj: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def opening(self) -> list[dict[str, Any]]:
        """Chunks sent before any text."""
        return []

    def delta(self, delta: Delta) -> dict[str, Any]:
        """The chunk carrying one Delta."""
        return self._envelope(self.chunk_object, [self._delta_choice(delta)])

    def finish(self, finish: Finish) -> list[dict[str, Any]]:
        """One chunk per choice carrying its finish_reason."""
        return [
            self._envelope(self.chunk_object, [self._finish_choice(i, reason)])
            for i, reason in enumerate(finish.finish_reasons)
        ]

    def usage(self, finish: Finish) -> dict[str, Any]:
        """The extra last chunk a client gets with stream_options.include_usage: no choices, the usage."""
        return {**self._envelope(self.chunk_object, []), "usage": usage_json(finish.usage)}

    def whole(self, reply: Reply) -> dict[str, Any]:
        """The non-streaming response."""
        assert reply.finish is not None
        choices = [
            self._whole_choice(i, reply, reason) for i, reason in enumerate(reply.finish.finish_reasons)
        ]
        return {**self._envelope(self.whole_object, choices), "usage": usage_json(reply.finish.usage)}

    def _delta_choice(self, delta: Delta) -> dict[str, Any]:
        raise NotImplementedError

    def _finish_choice(self, index: int, reason: str) -> dict[str, Any]:
        raise NotImplementedError

    def _whole_choice(self, index: int, reply: Reply, reason: str) -> dict[str, Any]:
        raise NotImplementedError


def _part(items: list, index: int) -> Any:
    """Choice `index` of a Reply's texts or logprobs: empty ("" / []) when that choice produced nothing."""
    return items[index] if index < len(items) else items[0][:0]


class ChatShaper(Shaper):
    """/v1/chat/completions: `message` / `delta` objects, logprobs as content[]."""

    prefix = "chatcmpl-"
    whole_object = "chat.completion"
    chunk_object = "chat.completion.chunk"

    def opening(self) -> list[dict[str, Any]]:
        """OpenAI opens each choice with an empty assistant delta carrying the role."""
        return [
            self._envelope(
                self.chunk_object,
                [
                    {
                        "index": i,
                        "delta": {"role": "assistant", "content": ""},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            )
            for i in range(self.n)
        ]

    def _delta_choice(self, delta: Delta) -> dict[str, Any]:
        return {
            "index": delta.index,
            "delta": {"content": delta.text},
            "logprobs": chat_logprobs(delta.logprobs) if self.logprobs else None,
            "finish_reason": None,
        }

    def _finish_choice(self, index: int, reason: str) -> dict[str, Any]:
        return {"index": index, "delta": {}, "logprobs": None, "finish_reason": reason}

    def _whole_choice(self, index: int, reply: Reply, reason: str) -> dict[str, Any]:
        return {
            "index": index,
            "message": {"role": "assistant", "content": _part(reply.texts, index), "refusal": None},
            "logprobs": chat_logprobs(_part(reply.logprobs, index)) if self.logprobs else None,
            "finish_reason": reason,
        }


class CompletionShaper(Shaper):
    """/v1/completions: `text` fields, logprobs as parallel lists with text offsets."""

    prefix = "cmpl-"
    whole_object = "text_completion"
    chunk_object = "text_completion"

    def __init__(self, model: str, n: int, logprobs: bool, prompt: str) -> None:
        super().__init__(model, n, logprobs)
        self.prompt_length = len(prompt)
        #: Per choice: where the next token starts in prompt + completion (legacy text_offset).
        self.offsets = [self.prompt_length] * n

    def _delta_choice(self, delta: Delta) -> dict[str, Any]:
        logprobs = None
        if self.logprobs:
            logprobs = legacy_logprobs(delta.logprobs, self.offsets[delta.index])
            self.offsets[delta.index] += sum(len(t.token) for t in delta.logprobs)
        return {"text": delta.text, "index": delta.index, "logprobs": logprobs, "finish_reason": None}

    def _finish_choice(self, index: int, reason: str) -> dict[str, Any]:
        return {"text": "", "index": index, "logprobs": None, "finish_reason": reason}

    def _whole_choice(self, index: int, reply: Reply, reason: str) -> dict[str, Any]:
        logprobs = (
            legacy_logprobs(_part(reply.logprobs, index), self.prompt_length) if self.logprobs else None
        )
        return {
            "text": _part(reply.texts, index),
            "index": index,
            "logprobs": logprobs,
            "finish_reason": reason,
        }
