"""The hand-written decode loop of the local backend (runs in a worker thread).

Why not `model.generate`: per token it runs a stack of generic logits processors, stopping criteria and
bookkeeping in Python; this loop does one forward pass with the KV cache plus the few tensor ops the request
actually asks for, and checks the cancel flag between tokens. All n choices run as one batch (the prompt is
prefilled once and its cache repeated), so n=2 costs about as much as n=1 on a memory-bound CPU.
The forward pass is a runner's: `LeanRunner` (lean_llama, Llama-family models) or `TransformersRunner` (any
causal LM through its transformers class).

Knobs (GenerationParams), in the order they touch the logits of each step:
- repetition_penalty: Hugging Face semantics — for every token already in the prompt or the reply, a positive
  logit is divided by the penalty and a negative one multiplied.
- frequency_penalty / presence_penalty: OpenAI semantics — logit −= count·frequency + (count>0)·presence, over
  the tokens generated so far in this choice.
- temperature (sampling only; 0 means greedy).
- logprobs are the log-softmax of the logits at this point: after penalties and temperature, before top-k /
  top-p truncation (so every alternative has a finite value). Greedy ignores temperature.
- top_k, then top_p (nucleus, keeps at least one token), then a draw from a seeded torch.Generator; greedy takes
  the argmax.
Usage counts every token the loop chose, the end-of-sequence token included (it cost a forward pass too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..params import GenerationParams
from .base import TokenLogprob
from .local_text import TextStream


@dataclass
class Step:
    """What one choice produced at one step: text safe to show and the token's logprobs (if asked)."""

    index: int
    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass
class Outcome:
    finish_reasons: list[str]
    completion_tokens: int
    #: perf_counter() when the first token was chosen (None if none was).
    first_token_at: float | None = None


@dataclass(kw_only=True)
class ModelRunner:
    """A loaded causal LM and the two calls the loop makes: prefill the prompt, then one token per choice."""

    tokenizer: Any
    device: Any
    eos_ids: frozenset[int]
    #: "lean" (lean_llama.LeanLlama) or "transformers" (the model's own transformers class).
    engine: str
    #: Forward passes run so far (tests use it to prove cancellation stops the computation).
    forward_calls: int = 0

    def prefill(self, ids: Any, n: int, capacity: int) -> tuple[Any, Any]:
        """Logits [n, vocab] after the prompt `ids` [1, seq] and a cache ready for `n` choices of `capacity`."""
        raise NotImplementedError

    def step(self, tokens: Any, cache: Any) -> tuple[Any, Any]:
        """Logits [n, vocab] after one more token per choice (`tokens` [n, 1]) and the updated cache."""
        raise NotImplementedError


@dataclass(kw_only=True)
class LeanRunner(ModelRunner):
    """Runs a lean_llama.LeanLlama: the cache is allocated once for the prompt and the whole reply."""

    model: Any
    engine: str = "lean"

    def prefill(self, ids: Any, n: int, capacity: int) -> tuple[Any, Any]:
        cache = self.model.new_cache(n, capacity)
        logits = self.model.forward(ids, cache)
        self.forward_calls += 1
        return logits.expand(n, -1), cache

    def step(self, tokens: Any, cache: Any) -> tuple[Any, Any]:
        logits = self.model.forward(tokens, cache)
        self.forward_calls += 1
        return logits, cache


@dataclass(kw_only=True)
class TransformersRunner(ModelRunner):
    """Runs any transformers causal LM through its forward() with the library's dynamic cache."""

    model: Any
    engine: str = "transformers"
    #: The forward() keyword for the KV cache: "cache" (transformers ≥ 5.2x) or "past_key_values".
    cache_kw: str = "past_key_values"
    #: Whether forward() accepts logits_to_keep (skips the LM head over the whole prompt).
    keeps_logits: bool = False

    def prefill(self, ids: Any, n: int, capacity: int) -> tuple[Any, Any]:
        logits, cache = self._forward(ids, None, last_only=True)
        if n > 1:
            logits = logits.expand(n, -1)
            cache.batch_repeat_interleave(n)
        return logits, cache

    def step(self, tokens: Any, cache: Any) -> tuple[Any, Any]:
        return self._forward(tokens, cache, last_only=False)

    def _forward(self, ids: Any, cache: Any, last_only: bool) -> tuple[Any, Any]:
        kwargs: dict[str, Any] = {self.cache_kw: cache, "use_cache": True}
        if last_only and self.keeps_logits:
            kwargs["logits_to_keep"] = 1
        out = self.model(input_ids=ids, **kwargs)
        self.forward_calls += 1
        return out.logits[:, -1, :], getattr(out, self.cache_kw)


def run(
    runner: ModelRunner,
    prompt_ids: Sequence[int],
    params: GenerationParams,
    max_new: int,
    stops: Sequence[str],
    cancel: threading.Event,
    emit: Callable[[list[Step]], None],
    clock: Callable[[], float],
) -> Outcome:
    """Generate up to `max_new` tokens for `params.n` choices, calling `emit` after every step."""
    import torch

    n = params.n
    device = runner.device
    greedy = not params.sampling or params.temperature == 0
    temperature = params.temperature if params.temperature not in (None, 0) else 1.0
    top_k = params.top_k or 0
    top_p = params.top_p if params.top_p is not None else 1.0
    want_logprobs = params.logprobs is not None
    rep = params.repetition_penalty if params.repetition_penalty not in (None, 1.0) else None
    freq = params.frequency_penalty or 0.0
    pres = params.presence_penalty or 0.0
    generator = None
    if not greedy:
        generator = torch.Generator(device=device)
        if params.seed is not None:
            generator.manual_seed(params.seed)
        else:
            generator.seed()

    streams = [TextStream(runner.tokenizer, stops, prompt_ids[-4:]) for _ in range(n)]
    reasons: list[str | None] = [None] * n
    produced = [0] * n
    outcome = Outcome(finish_reasons=[], completion_tokens=0)
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)

    with torch.inference_mode():
        logits, cache = runner.prefill(ids, n, len(prompt_ids) + max_new)
        vocab = logits.shape[-1]
        seen = counts = None
        if rep is not None:
            seen = torch.zeros((n, vocab), dtype=torch.bool, device=device)
            seen[:, ids[0]] = True
        if freq or pres:
            counts = torch.zeros((n, vocab), dtype=torch.float32, device=device)

        for step in range(max_new):
            if cancel.is_set():
                break
            scores = logits.float()
            if seen is not None:
                penalized = torch.where(scores > 0, scores / rep, scores * rep)
                scores = torch.where(seen, penalized, scores)
            if counts is not None:
                scores = scores - counts * freq - (counts > 0).to(scores.dtype) * pres
            if not greedy and temperature != 1.0:
                scores = scores / temperature
            logprobs = torch.log_softmax(scores, dim=-1) if want_logprobs else None
            chosen = scores.argmax(dim=-1) if greedy else _sample(scores, top_k, top_p, generator)
            chosen_list = chosen.tolist()
            if outcome.first_token_at is None:
                outcome.first_token_at = clock()

            steps: list[Step] = []
            token_logprobs = (
                _logprobs(runner.tokenizer, logprobs, chosen, params.logprobs or 0) if want_logprobs else None
            )
            for i, token in enumerate(chosen_list):
                if reasons[i] is not None:
                    continue
                produced[i] += 1
                if token in runner.eos_ids:
                    reasons[i] = "stop"
                    steps.append(Step(i, streams[i].flush(), token_logprobs[i] if token_logprobs else ()))
                    continue
                text = streams[i].push(token)
                if streams[i].stopped:
                    reasons[i] = "stop"
                elif step == max_new - 1:
                    reasons[i] = "length"
                    text += streams[i].flush()
                steps.append(Step(i, text, token_logprobs[i] if token_logprobs else ()))
            emit([s for s in steps if s.text or s.logprobs])
            if all(r is not None for r in reasons):
                break
            if seen is not None:
                seen[torch.arange(n, device=device), chosen] = True
            if counts is not None:
                counts[torch.arange(n, device=device), chosen] += 1
            if cancel.is_set():
                break
            logits, cache = runner.step(chosen.unsqueeze(-1), cache)

    if any(r is None for r in reasons):
        leftovers = [Step(i, s.flush()) for i, s in enumerate(streams) if reasons[i] is None]
        emit([s for s in leftovers if s.text])
    outcome.finish_reasons = [r or ("cancelled" if cancel.is_set() else "length") for r in reasons]
    outcome.completion_tokens = sum(produced)
    return outcome


def _sample(scores: Any, top_k: int, top_p: float, generator: Any) -> Any:
    """One draw per row after top-k and nucleus truncation."""
    import torch

    if 0 < top_k < scores.shape[-1]:
        kth = torch.topk(scores, top_k, dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1.0:
        ordered, order = torch.sort(scores, dim=-1, descending=True)
        probs = torch.softmax(ordered, dim=-1)
        # Drop a token when the mass before it already reaches top_p (the first one always stays).
        drop = (probs.cumsum(dim=-1) - probs) >= top_p
        ordered = ordered.masked_fill(drop, float("-inf"))
        scores = torch.full_like(scores, float("-inf")).scatter(-1, order, ordered)
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _logprobs(tokenizer: Any, logprobs: Any, chosen: Any, top: int) -> list[tuple[TokenLogprob, ...]]:
    """Per row: the chosen token's logprob and the `top` most likely alternatives, best first."""
    import torch

    picked = logprobs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1).tolist()
    tops_v = tops_i = None
    if top:
        values, indices = torch.topk(logprobs, top, dim=-1)
        tops_v, tops_i = values.tolist(), indices.tolist()
    out: list[tuple[TokenLogprob, ...]] = []
    for row, token in enumerate(chosen.tolist()):
        alternatives: tuple[tuple[str, float], ...] = ()
        if tops_i is not None:
            alternatives = tuple(
                (tokenizer.decode([t]), v) for t, v in zip(tops_i[row], tops_v[row], strict=True)
            )
        out.append((TokenLogprob(tokenizer.decode([token]), picked[row], alternatives),))
    return out
