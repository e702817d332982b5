"""Prices of OpenAI models in USD per million tokens, each with the date it was read; the config overrides them.

The built-in table is a snapshot from openai.com/api/pricing (standard tier, text tokens) on the `as_of` date;
prices change, so every figure shown says its date, and the `[prices]` section of the config replaces or adds
entries:

    [prices.gpt-4o-mini]
    input = 0.15
    output = 0.60
    as_of = "2025-08-01"

Snapshot names (`gpt-4o-2024-08-06`) use their base model's price; fine-tuned models are priced only when the
config names them (their price differs from the base model's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class Price:
    #: USD per 1M prompt tokens and per 1M completion tokens.
    input: float
    output: float
    as_of: str
    source: str = "built-in"

    def cost(self, prompt_tokens: int, completion_tokens: int = 0) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


def _p(input: float, output: float, as_of: str) -> Price:
    return Price(input, output, as_of)


PRICES: dict[str, Price] = {
    "gpt-5": _p(1.25, 10.00, "2025-08-07"),
    "gpt-5-mini": _p(0.25, 2.00, "2025-08-07"),
    "gpt-5-nano": _p(0.05, 0.40, "2025-08-07"),
    "gpt-4.1": _p(2.00, 8.00, "2025-04-14"),
    "gpt-4.1-mini": _p(0.40, 1.60, "2025-04-14"),
    "gpt-4.1-nano": _p(0.10, 0.40, "2025-04-14"),
    "gpt-4o": _p(2.50, 10.00, "2024-10-01"),
    "gpt-4o-mini": _p(0.15, 0.60, "2024-07-18"),
    "o1": _p(15.00, 60.00, "2024-12-17"),
    "o1-mini": _p(1.10, 4.40, "2025-01-31"),
    "o3": _p(2.00, 8.00, "2025-06-10"),
    "o3-mini": _p(1.10, 4.40, "2025-01-31"),
    "o4-mini": _p(1.10, 4.40, "2025-04-16"),
    "gpt-4-turbo": _p(10.00, 30.00, "2024-04-09"),
    "gpt-4": _p(30.00, 60.00, "2023-03-14"),
    "gpt-4-32k": _p(60.00, 120.00, "2023-03-14"),
    "gpt-3.5-turbo": _p(0.50, 1.50, "2024-01-25"),
    "gpt-3.5-turbo-instruct": _p(1.50, 2.00, "2023-09-18"),
    "davinci-002": _p(2.00, 2.00, "2023-08-22"),
    "babbage-002": _p(0.40, 0.40, "2023-08-22"),
    "text-embedding-3-small": _p(0.02, 0.0, "2024-01-25"),
    "text-embedding-3-large": _p(0.13, 0.0, "2024-01-25"),
    "text-embedding-ada-002": _p(0.10, 0.0, "2022-12-15"),
}


def _from_config(model: str, entry: Mapping[str, Any]) -> Price:
    try:
        return Price(
            float(entry["input"]),
            float(entry.get("output", entry["input"])),
            str(entry.get("as_of", "unknown date")),
            "config",
        )
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"[prices.{model}]: needs input = <USD per 1M tokens> (and optionally output, as_of)"
        ) from None


def price_for(model: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Price | None:
    """The price of `model`: the config's entry for that exact name or its base model, else the built-in table."""
    overrides = overrides or {}
    if model in overrides:
        return _from_config(model, overrides[model])
    if model.startswith("ft:") or ":ft-" in model:
        return None
    from .errors import InputError
    from .tokens.models import base_model

    try:
        base = base_model(model)
    except InputError:
        return None
    if base in overrides:
        return _from_config(base, overrides[base])
    return PRICES.get(base)


def cost(
    model: str,
    prompt_tokens: int,
    completion_tokens: int = 0,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> float | None:
    """USD for a request of this size, or None when the model has no known price."""
    price = price_for(model, overrides)
    return None if price is None else price.cost(prompt_tokens, completion_tokens)
