"""The next-token view: the k most likely tokens after a text, with their probabilities.

A local model answers with one forward pass over the tokenizer's ids (in a worker thread, no sampling);
an OpenAI-compatible backend answers through logprobs (a 1-token completion asking for the top k).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from ..errors import BackendError, InputError
from ..params import GenerationParams

#: The largest k OpenAI's legacy completions endpoint returns.
OPENAI_MAX_K = 5


def top_next_tokens(model: Any, tokenizer: Any, text: str, k: int) -> list[tuple[str, float]]:
    """One forward pass of a causal LM: the k most probable next tokens after `text`, most probable first."""
    import torch

    ids = tokenizer.encode(text, add_special_tokens=False) if text else []
    if not ids:
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        if start is None:
            raise InputError("type some text first: this tokenizer has no start token to predict from")
        ids = [start]
    window = getattr(model.config, "n_positions", None) or getattr(
        model.config, "max_position_embeddings", None
    )
    if window:
        ids = ids[-window:]
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(torch.tensor([ids], device=device)).logits[0, -1].float()
    probs = torch.softmax(logits, dim=-1)
    top = torch.topk(probs, min(k, probs.shape[-1]))
    return [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(top.values, top.indices, strict=True)]


def _local_parts(backend: Any) -> tuple[Any, Any] | None:
    """The loaded torch model and HF tokenizer of a local backend, if it has them."""
    tokenizer = getattr(backend, "tokenizer", None)
    for attr in ("hf_model", "lm", "model"):
        candidate = getattr(backend, attr, None)
        if candidate is not None and hasattr(candidate, "config") and callable(candidate):
            return candidate, tokenizer
    return None


async def next_token_distribution(backend: Any, text: str, k: int = 10) -> list[tuple[str, float]]:
    """The k most likely next tokens after `text` and their probabilities, most likely first (sum ≤ 1)."""
    if k < 1:
        raise InputError("k must be at least 1")
    if getattr(backend, "kind", None) == "local":
        load = getattr(backend, "ensure_loaded", None) or getattr(backend, "load", None)
        if load is not None and _local_parts(backend) is None:
            result = load()
            if asyncio.iscoroutine(result):
                await result
    parts = _local_parts(backend)
    if parts is not None and parts[1] is not None:
        model, tokenizer = parts
        return await asyncio.to_thread(top_next_tokens, model, tokenizer, text, k)
    return await _via_logprobs(backend, text, k)


async def _via_logprobs(backend: Any, text: str, k: int) -> list[tuple[str, float]]:
    if not text:
        raise InputError("type some text first: the next token is predicted after it")
    params = GenerationParams(max_tokens=1, logprobs=min(k, OPENAI_MAX_K), temperature=0.0)
    stream = backend.stream_completion(text, params)
    top: tuple[tuple[str, float], ...] = ()
    try:
        async for event in stream:
            logprobs = getattr(event, "logprobs", ())
            if logprobs and not top:
                first = logprobs[0]
                top = first.top or ((first.token, first.logprob),)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    if not top:
        raise BackendError(
            f"{getattr(backend, 'model', 'the model')} returned no logprobs for the next token"
        )
    return sorted(((tok, math.exp(lp)) for tok, lp in top), key=lambda t: -t[1])[:k]
