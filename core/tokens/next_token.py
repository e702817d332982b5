"""The next-token view: the k most likely tokens after a text, with their probabilities.

Both kinds of backend answer through the same door: a 1-token greedy completion asking for the top-k logprobs.
For the local backend that is one forward pass over the tokenizer's ids with the raw distribution (greedy, no
penalties: log-softmax of the logits); for OpenAI it is the legacy completions endpoint's `logprobs`.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from ..errors import BackendError, InputError
from ..params import GenerationParams

#: The largest k each backend returns (GenerationParams allows 20; OpenAI's completions endpoint 5).
MAX_K = {"local": 20, "openai": 5}


async def next_token_distribution(backend: Any, text: str, k: int = 10) -> list[tuple[str, float]]:
    """The k most likely next tokens after `text` and their probabilities, most likely first (sum ≤ 1)."""
    if k < 1:
        raise InputError("k must be at least 1")
    kind = getattr(backend, "kind", "openai")
    k = min(k, MAX_K.get(kind, 5))
    prompt = text
    if not prompt:
        tokenizer = getattr(backend, "tokenizer", None)
        prompt = getattr(tokenizer, "bos_token", None) or getattr(tokenizer, "eos_token", None) or ""
        if not prompt:
            raise InputError("type some text first: the next token is predicted after it")
    params = GenerationParams(max_tokens=1, logprobs=k, temperature=0.0, do_sample=False)
    top: tuple[tuple[str, float], ...] = ()
    async with contextlib.aclosing(backend.stream_completion(prompt, params)) as stream:
        async for event in stream:
            logprobs = getattr(event, "logprobs", ())
            if logprobs and not top:
                top = logprobs[0].top or ((logprobs[0].token, logprobs[0].logprob),)
    if not top:
        raise BackendError(
            f"{getattr(backend, 'model', 'the model')} returned no logprobs for the next token"
        )
    return sorted(((token, math.exp(lp)) for token, lp in top), key=lambda t: -t[1])[:k]
