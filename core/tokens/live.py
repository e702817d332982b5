"""Incremental counting for an editor: re-encode only the pieces of text an edit touched.

The text is cut into pieces that encode independently to exactly the whole text's tokens (segments.py); each
tiktoken tokenizer keeps the ids of every current piece, so a keystroke in a 50,000-token text re-encodes one
line. Hugging Face tokenizers (which may add a prefix space per call) are encoded whole, exactly.
`LiveCounter.count` runs in a worker thread (one at a time) while the UI reads earlier snapshots.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .segments import segments
from .tokenizer import Tokenizer


@dataclass
class Snapshot:
    """Counts of one version of the text, and what the view needs to colour its tokens."""

    text: str
    counts: dict[str, int]
    characters: int
    bytes: int
    #: The primary tokenizer's pieces, their start offsets (characters) and the token index each starts at.
    pieces: list[str] = field(default_factory=list)
    piece_starts: list[int] = field(default_factory=list)
    token_starts: list[int] = field(default_factory=list)
    caches: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    seconds: float = 0.0

    def primary_ids(self, piece: int) -> list[int]:
        return self.caches[self._primary][self.pieces[piece]]

    _primary: str = ""


class LiveCounter:
    """Counts for several tokenizers at once; the first is the primary one (coloured, ids shown)."""

    def __init__(self, tokenizers: Sequence[Tokenizer]) -> None:
        self.tokenizers = list(tokenizers)
        self._caches: dict[str, dict[str, list[int]]] = {t.name: {} for t in self.tokenizers}

    def set_tokenizers(self, tokenizers: Sequence[Tokenizer]) -> None:
        """Change the tokenizers (the first is primary), keeping the ids of those that stay."""
        self.tokenizers = list(tokenizers)
        self._caches = {t.name: self._caches.get(t.name, {}) for t in self.tokenizers}

    @property
    def primary(self) -> Tokenizer:
        return self.tokenizers[0]

    def count(self, text: str) -> Snapshot:
        """Counts for `text`, reusing the ids of unchanged pieces (safe to call from one worker thread at a time).

        Caches only grow here (a reader on another thread never sees an entry vanish); they are rebuilt with
        just the current pieces once they hold twice as many as needed.
        """
        started = time.perf_counter()
        pieces = segments(text)
        counts: dict[str, int] = {}
        for tok in self.tokenizers:
            cache = self._caches.setdefault(tok.name, {})
            if tok.kind == "hf":
                if text not in cache:
                    cache = self._caches[tok.name] = {text: tok.encode(text)}
                counts[tok.name] = len(cache[text])
                continue
            missing = [p for p in dict.fromkeys(pieces) if p not in cache]
            if missing:
                cache.update(zip(missing, tok.encode_batch(missing), strict=True))
            if len(cache) > 2 * len(pieces) + 64:
                cache = self._caches[tok.name] = {p: cache[p] for p in pieces}
            counts[tok.name] = sum(map(len, map(cache.__getitem__, pieces)))
        snap = Snapshot(text, counts, len(text), len(text.encode("utf-8", errors="surrogatepass")))
        primary = self._caches[self.primary.name]
        snap.caches, snap._primary = {self.primary.name: primary}, self.primary.name
        snap.pieces = pieces if self.primary.kind != "hf" else ([text] if text else [])
        snap.piece_starts = [0, *itertools.accumulate(map(len, snap.pieces))][:-1]
        sizes = map(len, map(primary.__getitem__, snap.pieces))
        snap.token_starts = [0, *itertools.accumulate(sizes)][:-1]
        snap.seconds = time.perf_counter() - started
        return snap


def char_starts(tokenizer: Tokenizer, ids: Sequence[int]) -> list[int]:
    """Character offset where each token starts (a token starting inside a character gets that character)."""
    out, chars = [], 0
    for token_id in ids:
        out.append(chars)
        chars += sum(1 for b in tokenizer.token_bytes(token_id) if b & 0xC0 != 0x80)
    return out


def tokens_in_range(
    snap: Snapshot, tokenizer: Tokenizer, start: int, end: int
) -> list[tuple[int, int, int, int]]:
    """(start, end, global token index, id) of every primary token overlapping characters [start, end)."""
    out: list[tuple[int, int, int, int]] = []
    if not snap.pieces or start >= end:
        return out
    i = max(0, bisect.bisect_right(snap.piece_starts, start) - 1)
    while i < len(snap.pieces) and snap.piece_starts[i] < end:
        base = snap.piece_starts[i]
        ids = snap.primary_ids(i)
        offsets = char_starts(tokenizer, ids)
        bounds = [*offsets[1:], len(snap.pieces[i])]
        for j, (s, e) in enumerate(zip(offsets, bounds, strict=True)):
            s, e = s + base, e + base
            if e > start and s < end and e > s:
                out.append((max(s, start), min(e, end), snap.token_starts[i] + j, ids[j]))
        i += 1
    return out
