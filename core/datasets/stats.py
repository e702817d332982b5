"""Training arithmetic shared by both formats: the cookbook's epoch rule, billed tokens and cost.

core/prices.py holds inference prices; fine-tuning is charged per *trained* token at a different rate, so the
training rates live here as a dated snapshot (openai.com/api/pricing, "Fine-tuning", training column). A
`training` figure on `core.prices.price_for(model)` wins when that table gains one.
"""

from __future__ import annotations

from typing import Any

from .report import Stats

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

#: USD per 1M trained tokens (base model name -> rate), read on TRAINING_AS_OF.
TRAINING_PRICES: dict[str, float] = {
    "gpt-4.1": 25.00,
    "gpt-4.1-mini": 5.00,
    "gpt-4.1-nano": 1.50,
    "gpt-4o": 25.00,
    "gpt-4o-mini": 3.00,
    "gpt-3.5-turbo": 8.00,
    "davinci-002": 6.00,
    "babbage-002": 0.40,
}
TRAINING_AS_OF = "2025-04-14"

#: Longest training example per model family, where it differs from the context window (fine-tuning docs).
FINETUNE_LIMITS: dict[str, int] = {
    "gpt-4.1": 65_536,
    "gpt-4.1-mini": 65_536,
    "gpt-4.1-nano": 65_536,
    "gpt-4o": 65_536,
    "gpt-4o-mini": 65_536,
}


def default_epochs(n_examples: int) -> int:
    """The epochs OpenAI picks by default: 3, raised for tiny sets (5 → 20), lowered for huge ones."""
    if n_examples <= 0:
        return 0
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def training_rate(model: str) -> tuple[float | None, str]:
    """USD per 1M trained tokens for the model and where that figure comes from."""
    try:
        from .. import prices
    except ImportError:
        return None, "no price table (core/prices.py) in this build"
    price = prices.price_for(model)
    rate = getattr(price, "training", None)
    if rate is not None:
        return float(rate), f"{price.source} price as of {price.as_of}"
    from ..tokens import base_model

    try:
        base = base_model(model)
    except Exception:  # an unknown model has no price; the report says so
        base = model
    if base in TRAINING_PRICES:
        return TRAINING_PRICES[base], f"training price as of {TRAINING_AS_OF}"
    return None, f"no fine-tuning price known for {model}"


def fill_training_stats(stats: Stats, lengths: Any, model: str) -> None:
    """Epochs, billed tokens (each example capped at the limit), trained tokens and cost, into `stats`."""
    import numpy as np

    arr = np.asarray(lengths, dtype=np.int64)
    stats.n_epochs = default_epochs(int(arr.size))
    stats.billed_tokens = int(np.minimum(arr, stats.token_limit).sum()) if arr.size else 0
    stats.trained_tokens = stats.n_epochs * stats.billed_tokens
    rate, note = training_rate(model)
    stats.estimated_cost = None if rate is None else stats.trained_tokens * rate / 1_000_000
    stats.cost_note = note
