"""Tokenizer registry: exact, offline token counts for OpenAI models and local Hugging Face models.

Public API (other parts — the datasets helper, the chat pane — call these; names and signatures are stable):

- `get_tokenizer(name) -> Tokenizer` — `name` is an OpenAI model ("gpt-4o-mini", "ft:gpt-4o-mini-…:org::id"),
  an encoding ("o200k_base", "cl100k_base", "p50k_base", "p50k_edit", "r50k_base", "gpt2") or
  "hf:<folder-or-id>" (a Hugging Face tokenizer, local files only). A `Tokenizer` has `.name`, `.kind`,
  `.encode(text)`, `.encode_batch(texts)`, `.decode(ids)`, `.count(text)`, `.count_batch(texts)`,
  `.token_bytes(id)` and `.pieces(ids)` for display. `tokenizer_of_backend(backend)` wraps a loaded
  LocalBackend's own tokenizer.
- `encoding_for_model(model) -> str`, `context_window(model) -> int | None`, `base_model(model) -> str`.
- `count_chat_tokens(messages, model) -> int` — messages are `Message`s or OpenAI-style dicts.
- `async next_token_distribution(backend, text, k) -> list[tuple[str, float]]` — the k most likely next tokens.

Exact or approximate, per family (chat-format counting, see chat.py):
- gpt-4o*, gpt-4.1*, gpt-4*, gpt-3.5-turbo-0613 and later: exact — OpenAI's documented rule, 3 tokens per
  message + every value's tokens + 1 per `name` + 3 to prime the reply.
- gpt-3.5-turbo-0301: exact — 4 per message, −1 per `name`, + 3.
- o1/o3/o4-mini, gpt-5*: approximate — same rule; reasoning models may add hidden system text.
- Tool/function definitions and images: not counted (approximate when present).
- Local / hf: models: exact — the token ids of the model's own chat template with the assistant turn opened.
- Completion and embedding models (davinci-002, text-davinci-003, text-embedding-*): no chat format; count text.
Plain-text counts (`Tokenizer.count`) are exact for every encoding: the same ids tiktoken produces.
"""

from __future__ import annotations

from .chat import chat_json_tokens, chat_tokens, count_chat_tokens
from .encodings import ENCODINGS, get_encoding
from .models import MODELS, base_model, context_window, encoding_for_model
from .next_token import next_token_distribution
from .tokenizer import HFTokenizer, TiktokenTokenizer, Tokenizer, get_tokenizer, tokenizer_of_backend

__all__ = [
    "ENCODINGS",
    "MODELS",
    "HFTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "base_model",
    "chat_json_tokens",
    "chat_tokens",
    "context_window",
    "count_chat_tokens",
    "encoding_for_model",
    "get_encoding",
    "get_tokenizer",
    "next_token_distribution",
    "tokenizer_of_backend",
]
