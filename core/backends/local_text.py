"""Token ids → streamed text for one choice: incremental detokenization plus stop-sequence hold-back.

Decoding token by token breaks characters whose bytes span several tokens (emoji, CJK, accented letters in
byte-level BPE). The stream re-decodes a short window and only releases text once it no longer ends in an
incomplete character (U+FFFD). Stop sequences are matched on text, so a stop split across tokens is caught; any
tail that could still become a stop is held back, and the stop itself is never emitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_INCOMPLETE = "\ufffd"


class TextStream:
    """Feed generated ids one at a time; get back the text that is safe to show."""

    def __init__(self, tokenizer: Any, stops: Sequence[str] = (), context: Sequence[int] = ()) -> None:
        self._tokenizer = tokenizer
        self._stops = tuple(stops)
        # A few prompt ids give the first generated token its correct leading space (SentencePiece).
        self._ids: list[int] = list(context)
        self._prefix = 0
        self._read = len(self._ids)
        self._held = ""
        self.stopped = False

    def _decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def push(self, token_id: int) -> str:
        """Add one generated id; return the text now safe to emit (maybe ''). Sets `stopped` on a stop."""
        if self.stopped:
            return ""
        self._ids.append(token_id)
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        if len(after) <= len(before) or after.endswith(_INCOMPLETE):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return self._release(after[len(before) :])

    def flush(self) -> str:
        """The rest at the end of generation: undecoded bytes and any held-back text."""
        if self.stopped:
            return ""
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        self._prefix = self._read = len(self._ids)
        text, self._held = self._held + after[len(before) :], ""
        return text

    def _release(self, piece: str) -> str:
        text = self._held + piece
        if not self._stops:
            self._held = ""
            return text
        hits = [i for i in (text.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            self._held = ""
            return text[: min(hits)]
        keep = max((_overlap(text, s) for s in self._stops), default=0)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that is a (proper) start of `stop`."""
    for k in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:k]):
            return k
    return 0
