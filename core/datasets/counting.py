"""Token counts for the checks: the target model's tokenizer (from core.tokens), its limit, and a cache.

Fine-tuning data repeats itself (one system prompt on every row, three role names), so counts are cached per
string; the cache is bounded so a million distinct answers cannot grow it without end.
"""

from __future__ import annotations

from functools import lru_cache

#: Defaults when no model is given: the models the reference tools measure against.
DEFAULT_CHAT_MODEL = "gpt-3.5-turbo"  # cl100k_base, 16,385-token examples: the cookbook's numbers
DEFAULT_COMPLETION_MODEL = "davinci-002"
#: The cookbook's per-example limit, used when core.tokens does not know the model's window.
COOKBOOK_LIMIT = 16_385
_CACHE_MAX = 200_000


@lru_cache(maxsize=32)
def token_limit(model: str) -> int:
    """Longest example (prompt + completion, or a whole conversation) the model trains on.

    An OpenAI model: its fine-tuning limit or context window. A local model ("hf:<folder>"): its tokenizer's
    model_max_length. A bare encoding name: the cookbook's 16,385. Raises InputError for an unknown model
    (core.tokens names the known ones).
    """
    from ..tokens import ENCODINGS, base_model, context_window, get_tokenizer
    from .stats import FINETUNE_LIMITS

    if model.startswith("hf:"):
        return _local_limit(model[3:], get_tokenizer(model))
    if model in ENCODINGS:
        return COOKBOOK_LIMIT
    limit = FINETUNE_LIMITS.get(base_model(model))
    if limit:
        return limit
    return int(context_window(model) or COOKBOOK_LIMIT)


def _local_limit(where: str, tokenizer: object) -> int:
    """A local model's window: its config's positions, else its tokenizer's model_max_length, else 16,385."""
    import json
    from pathlib import Path

    config = Path(where).expanduser() / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        for key in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
            if isinstance(data.get(key), int) and data[key] > 0:
                return int(data[key])
    n = getattr(getattr(tokenizer, "hf", None), "model_max_length", None)
    return int(n) if isinstance(n, int) and 0 < n < 10_000_000 else COOKBOOK_LIMIT


def encoding_name(model: str) -> str:
    """The tokenizer's name for the report ("cl100k_base", ...)."""
    from ..tokens import get_tokenizer

    return get_tokenizer(model).name


class TokenCounter:
    """`count(text)` for one model with a bounded per-string cache."""

    def __init__(self, model: str) -> None:
        self.model = model
        from ..tokens import get_tokenizer

        self._encode = get_tokenizer(model).encode
        self.cache: dict[str, int] = {}
        #: Tokens of each chat role name (the hot loop looks them up instead of counting).
        self.role_tokens = {
            role: len(self._encode(role)) for role in ("system", "user", "assistant", "function")
        }

    def count(self, text: str) -> int:
        cache = self.cache
        n = cache.get(text)
        if n is None:
            n = len(self._encode(text))
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[text] = n
        return n

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts of many texts, uncached. A plain loop: tiktoken's batch encoder makes one thread-pool future
        per text (≈ 30 µs each, more than encoding a short text) and, measured here, gains nothing on 2 cores."""
        encode = self._encode
        return [len(encode(t)) for t in texts]

    def encode(self, text: str) -> list[int]:
        return self._encode(text)
