"""One `Tokenizer` shape over tiktoken encodings and Hugging Face tokenizers, and the registry that names them."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..chat import Message
from ..errors import InputError
from .encodings import SPECS, get_encoding
from .models import encoding_for_model

#: Threads for batch encoding: tiktoken's Rust core releases the GIL, so both cores help.
THREADS = max(1, min(8, os.cpu_count() or 1))


class Tokenizer:
    """What counting and display need: encode/decode, batch encode, count, and each token's bytes."""

    name: str
    #: "tiktoken" or "hf".
    kind: str

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        raise NotImplementedError

    def token_bytes(self, token_id: int) -> bytes:
        raise NotImplementedError

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.encode_batch(texts)]

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """Each token as display text (bytes that are not whole UTF-8 characters shown as U+FFFD)."""
        return [self.token_bytes(i).decode("utf-8", errors="replace") for i in ids]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class TiktokenTokenizer(Tokenizer):
    """An OpenAI encoding. Text is encoded as ordinary text: `<|endoftext|>` typed by a user is not special,
    which is how the API counts message content."""

    kind = "tiktoken"

    def __init__(self, encoding: Any) -> None:
        self.encoding = encoding
        self.name = encoding.name
        self.encode = encoding.encode_ordinary  # type: ignore[method-assign]  # the hot path: no wrapper call

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if len(texts) < 2:
            return [self.encoding.encode_ordinary(t) for t in texts]
        return self.encoding.encode_ordinary_batch(list(texts), num_threads=min(THREADS, len(texts)))

    def count(self, text: str) -> int:
        # A uint32 buffer instead of a list of Python ints: ~20% faster on big texts, same ids. numpy comes with
        # transformers; without it, the plain list.
        try:
            return len(self.encoding.encode_to_numpy(text, disallowed_special=()))
        except ImportError:
            return len(self.encoding.encode_ordinary(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        if len(texts) < 2 or sum(map(len, texts)) < 1 << 16:
            return [len(self.encoding.encode_ordinary(t)) for t in texts]
        return list(_pool().map(self.count, texts))

    def decode(self, ids: Sequence[int]) -> str:
        return self.encoding.decode(ids)

    def token_bytes(self, token_id: int) -> bytes:
        return self.encoding.decode_single_token_bytes(token_id)

    @property
    def n_vocab(self) -> int:
        return self.encoding.n_vocab


class HFTokenizer(Tokenizer):
    """A Hugging Face tokenizer (the local model's own). `encode` adds no special tokens; `chat_ids` renders
    the model's chat template, which is what a chat request to the local model really costs."""

    kind = "hf"

    def __init__(self, hf: Any, name: str) -> None:
        self.hf = hf
        self.name = name

    def encode(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [list(ids) for ids in self.hf(list(texts), add_special_tokens=False)["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        return self.hf.decode(list(ids))

    def token_bytes(self, token_id: int) -> bytes:
        return self.hf.decode([token_id]).encode("utf-8")

    @property
    def n_vocab(self) -> int:
        return len(self.hf)

    def chat_ids(self, messages: Sequence[Message | dict[str, Any]]) -> list[int]:
        """The ids the local backend sends for this conversation: the chat template with the assistant turn
        opened, or the plain "Role: text" transcript for a model without a template (GPT-2)."""
        from ..backends.local import chat_ids
        from ..chat import messages_from_dicts

        dicts = [m.to_dict() if isinstance(m, Message) else m for m in messages]
        return chat_ids(self.hf, messages_from_dicts(dicts))[0]


_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_tokenizers: dict[str, Tokenizer] = {}


def _pool() -> ThreadPoolExecutor:
    """One shared pool for batch counting (a pool per call costs more than small batches take)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(THREADS, thread_name_prefix="gptbench-tokens")
        return _executor


def get_tokenizer(name: str) -> Tokenizer:
    """A model name, an encoding name or "hf:<folder-or-id>" → its tokenizer (built once per process).

    Raises InputError naming what is known when the name is not.
    """
    key = name.strip()
    with _lock:
        cached = _tokenizers.get(key)
    if cached is not None:
        return cached
    if key.startswith("hf:"):
        tok: Tokenizer = _load_hf(key[3:])
    else:
        tok = TiktokenTokenizer(get_encoding(key if key in SPECS else encoding_for_model(key)))
    with _lock:
        return _tokenizers.setdefault(key, tok)


def _load_hf(where: str) -> HFTokenizer:
    if not where:
        raise InputError("hf: needs a folder or a Hugging Face id, e.g. hf:./my-model")
    from transformers import AutoTokenizer

    try:
        hf = AutoTokenizer.from_pretrained(os.path.expanduser(where), local_files_only=True)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"hf:{where}: no tokenizer found there (only local folders and already-downloaded ids work "
            f"offline): {first}"
        ) from None
    return HFTokenizer(hf, f"hf:{where}")


def tokenizer_of_backend(backend: Any) -> HFTokenizer | None:
    """The loaded local model's own tokenizer, or None (not a local backend, or not loaded yet)."""
    hf = getattr(backend, "tokenizer", None)
    if hf is None or not hasattr(hf, "encode"):
        return None
    model = str(getattr(backend, "model", "model"))
    return HFTokenizer(hf, f"local:{os.path.basename(model.rstrip('/')) or model}")
