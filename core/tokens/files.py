"""Token counts of files of any size, streamed: plain text in chunks cut at exact boundaries, JSONL per line.

Nothing is loaded whole: a 1 GB file is read in blocks, decoded incrementally and encoded in ~1 MB pieces on
all cores (tiktoken's Rust core releases the GIL). Binary files (a NUL byte) are refused; invalid UTF-8 is
refused naming its byte offset and line, unless the caller asks to count it with U+FFFD replacements.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..chat import ROLES
from ..errors import InputError
from .chat import chat_tokens, count_chat_tokens
from .segments import last_safe_cut
from .tokenizer import THREADS, HFTokenizer, Tokenizer

BLOCK = 1 << 18
#: Longest stretch kept waiting for an exact cut (text with no space or line break for 16 MB is cut anyway).
MAX_CARRY = 16 << 20


@dataclass
class Counts:
    tokens: int = 0
    characters: int = 0
    bytes: int = 0
    lines: int = 0
    #: Byte offset and line of the first invalid UTF-8 sequence (counted with U+FFFD), if any.
    invalid_utf8: tuple[int, int] | None = None
    #: Cuts made without an exact boundary (only in text without spaces or line breaks for 16 MB).
    inexact_cuts: int = 0


@dataclass
class LineCount:
    line: int
    tokens: int
    #: "chat" (a messages list), "fields" (string fields counted one by one) or "blank".
    kind: str
    fields: dict[str, int] = field(default_factory=dict)


class _Decoder:
    """Bytes → text with NUL and UTF-8 checks that name the byte offset and line."""

    def __init__(self, label: str, errors: str) -> None:
        self.label = label
        self.errors = errors
        self.strict = codecs.getincrementaldecoder("utf-8")("strict")
        self.offset = 0
        self.newlines = 0
        self.last_byte = b""
        self.invalid: tuple[int, int] | None = None

    def where(self, data: bytes, index: int) -> tuple[int, int]:
        return self.offset + index, self.newlines + data[:index].count(b"\n") + 1

    def decode(self, data: bytes, final: bool = False) -> str:
        nul = data.find(b"\0")
        if nul >= 0:
            at, _ = self.where(data, nul)
            raise InputError(
                f"{self.label} looks binary (a NUL byte at offset {at}); only text files are counted"
            )
        pending = self.strict.getstate()[0]
        try:
            text = self.strict.decode(data, final)
        except UnicodeDecodeError as exc:
            whole = pending + data
            at, line = self.where(whole, exc.start)
            at -= len(pending)
            if self.errors == "strict":
                raise InputError(
                    f"{self.label}:{line}: invalid UTF-8 at byte {at}; nothing counted "
                    "(--errors replace counts it with U+FFFD)"
                ) from None
            self.invalid = self.invalid or (at, line)
            self.strict.reset()
            text = whole.decode("utf-8", errors="replace")
        self.offset += len(data)
        self.newlines += data.count(b"\n")
        if data:
            self.last_byte = data[-1:]
        return text


def count_stream(source: BinaryIO, label: str, tokenizer: Tokenizer, errors: str = "strict") -> Counts:
    """Counts of a whole text stream, exactly as encoding it in one piece would give."""
    decoder = _Decoder(label, errors)
    counts = Counts()
    carry = ""
    batch = BLOCK * max(2, THREADS)
    while True:
        data = source.read(batch)
        text = carry + decoder.decode(data, final=not data)
        pieces, carry = _cut(text, final=not data, counts=counts)
        if pieces:
            counts.tokens += sum(tokenizer.count_batch(pieces))
            counts.characters += sum(len(p) for p in pieces)
        if not data:
            break
    counts.bytes = decoder.offset
    counts.lines = decoder.newlines + (1 if decoder.last_byte not in (b"", b"\n") else 0)
    counts.invalid_utf8 = decoder.invalid
    return counts


def _cut(text: str, final: bool, counts: Counts) -> tuple[list[str], str]:
    """~1 MB pieces of `text` ending at exact cuts, and the rest to carry into the next block."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > BLOCK or (final and start < len(text)):
        if final and len(text) - start <= BLOCK:
            pieces.append(text[start:])
            return pieces, ""
        cut = last_safe_cut(text, start + BLOCK // 4, start + BLOCK)
        if cut is None:
            if len(text) - start < MAX_CARRY and not final:
                break
            cut = last_safe_cut(text, start) or min(len(text), start + MAX_CARRY)
            counts.inexact_cuts += cut == start + MAX_CARRY
        pieces.append(text[start:cut])
        start = cut
    return pieces, text[start:]


def _chat_count(messages: Any, tokenizer: Tokenizer, model: str | None, where: str) -> int:
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InputError(f"{where}: messages must be a list of objects")
    for i, m in enumerate(messages):
        if m.get("role") not in ROLES and m.get("role") not in ("tool", "function", "developer"):
            raise InputError(f"{where}: messages[{i}].role is {m.get('role')!r}")
    if isinstance(tokenizer, HFTokenizer):
        return count_chat_tokens(messages, tokenizer)
    if model:
        return count_chat_tokens(messages, model)
    return chat_tokens(messages, tokenizer, "chat")


def iter_jsonl(
    source: BinaryIO, label: str, tokenizer: Tokenizer, model: str | None = None, errors: str = "strict"
) -> Iterator[LineCount]:
    """Per-line counts of a JSONL file: `messages` lines in chat format, other lines per string field."""
    decoder = _Decoder(label, errors)
    for number, raw in enumerate(source, start=1):
        line = decoder.decode(raw).strip()
        if not line:
            yield LineCount(number, 0, "blank")
            continue
        where = f"{label}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
        if "messages" in record:
            n = _chat_count(record["messages"], tokenizer, model, where)
            yield LineCount(number, n, "chat", {"messages": n})
            continue
        names = [k for k, v in record.items() if isinstance(v, str)]
        per = tokenizer.count_batch([record[k] for k in names])
        fields = dict(zip(names, per, strict=True))
        yield LineCount(number, sum(per), "fields", fields)
