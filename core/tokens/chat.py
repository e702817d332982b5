"""What a list of chat messages costs in tokens, per model family.

OpenAI's documented rule (openai-cookbook "How to count tokens with tiktoken"): every message costs its values'
tokens plus a fixed overhead, a `name` costs one more, and the reply is primed with 3 tokens
(`<|start|>assistant<|message|>`). For gpt-3.5-turbo-0301 a message costs 4 and a name −1.
Local models render their own chat template; its token ids are counted exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..chat import Message
from ..errors import GptbenchError, InputError
from .models import model_spec
from .tokenizer import HFTokenizer, Tokenizer, get_tokenizer

#: family -> (tokens per message, tokens per name, reply priming)
RULES: dict[str, tuple[int, int, int]] = {"chat": (3, 1, 3), "chat-0301": (4, -1, 3)}
#: Fine-tuning keys that never reach the model.
_NOT_SENT = frozenset({"weight"})


def _as_dict(message: Message | dict[str, Any]) -> dict[str, Any]:
    return message.to_dict() if isinstance(message, Message) else message


def _value_text(value: Any) -> str:
    """A message value as the text the model reads: content parts joined, structured values as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in value):
        return "".join(str(p.get("text", "")) for p in value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def chat_tokens(
    messages: Sequence[Message | dict[str, Any]], tokenizer: Tokenizer, family: str = "chat"
) -> int:
    """Tokens of a message list under one of OpenAI's documented chat rules, with a given encoding."""
    per_message, per_name, priming = RULES[family]
    dicts = [_as_dict(m) for m in messages]
    texts: list[str] = []
    names = 0
    for d in dicts:
        for key, value in d.items():
            if key in _NOT_SENT:
                continue
            texts.append(_value_text(value))
            names += key == "name"
    return sum(tokenizer.count_batch(texts)) + per_message * len(dicts) + per_name * names + priming


def count_chat_tokens(messages: Sequence[Message | dict[str, Any]], model: str | Tokenizer) -> int:
    """Prompt tokens a chat request with these messages costs on `model`.

    Exact for gpt-3.5-turbo-0301/0613, gpt-4/gpt-4-turbo, gpt-4o/gpt-4o-mini, gpt-4.1 (the documented rule, which
    the API's `usage.prompt_tokens` matches); approximate for the o-series and gpt-5 (reasoning models may add
    hidden system text) and for tool/function definitions (not counted). A local model (an `HFTokenizer` or
    "hf:<folder>") is counted exactly from its chat template. Completion-only and embedding models take no
    messages: InputError.
    """
    if isinstance(model, str) and model.startswith("hf:"):
        model = get_tokenizer(model)
    if isinstance(model, HFTokenizer):
        return len(model.chat_ids(messages))
    if isinstance(model, Tokenizer):
        return chat_tokens(messages, model)
    spec = model_spec(model)
    if spec.family not in RULES:
        raise InputError(
            f"{model} is a {spec.family} model: it takes a prompt string, not chat messages; count the text instead"
        )
    return chat_tokens(messages, get_tokenizer(spec.encoding), spec.family)


def chat_json_tokens(text: str, model: str | Tokenizer) -> tuple[int, int] | None:
    """(messages, tokens) when `text` is a JSON message list (or an object with "messages"); else None.

    What the tokens pane shows when a pasted chat session or a fine-tuning line is in the editor.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict):
        data = data.get("messages")
    if not isinstance(data, list) or not data or not all(isinstance(m, dict) and "role" in m for m in data):
        return None
    try:
        return len(data), count_chat_tokens(data, model)
    except (GptbenchError, KeyError, TypeError):
        return None
