"""Where text can be cut so that encoding the pieces gives exactly the tokens of the whole.

Every OpenAI encoding (r50k/p50k/cl100k/o200k) pre-splits text with a regex before BPE, and BPE never merges
across those pieces. Two kinds of position are always piece boundaries, whatever comes before or after:
- just before a space that follows a non-space character (no pattern lets a space follow anything but
  whitespace inside one piece);
- just after a single line break between two non-space characters ("x\\ny"; runs like "\\n\\n" are pieces of
  their own in some encodings, so they are never cut).
The CLI streams big files in chunks cut there, and the tokens pane caches counts per piece, so both are exact.
"""

from __future__ import annotations

import re

#: Zero-width matches at exact cut positions.
SAFE_CUT = re.compile(r"(?<=\S)(?= )|(?<=\S\n)(?=\S)")
_LINE_CUT = re.compile(r"(?<=\S\n)(?=\S)")
_SENTENCE_CUT = re.compile(r"(?<=[.!?;:])(?= )")


def last_safe_cut(text: str, lo: int = 0, hi: int | None = None) -> int | None:
    """The last exact cut position in `text[lo:hi]` (not at `lo`), searching back from `hi`; None if none."""
    window = 1 << 12
    hi = len(text) if hi is None else min(hi, len(text))
    while hi > lo:
        start = max(lo, hi - window)
        cut = None
        for m in SAFE_CUT.finditer(text, start, hi):
            cut = m.start()
        if cut is not None and cut > lo:
            return cut
        hi = start
        window *= 4
    return None


def _split_long(piece: str, target: int) -> list[str]:
    """Cut an over-long piece near every `target` characters at exact cut positions."""
    out: list[str] = []
    start = 0
    while len(piece) - start > 2 * target:
        cut = last_safe_cut(piece, start + target // 2, start + target * 2)
        if cut is None:
            break
        out.append(piece[start:cut])
        start = cut
    out.append(piece[start:])
    return out


def segments(text: str, target: int = 2048) -> list[str]:
    """`text` cut into pieces that encode independently to the same tokens, mostly at line starts.

    Cuts depend on the content, not on positions, so an edit changes only the pieces around it (what the
    pane's incremental counting relies on). Long lines are cut at sentence ends, then anywhere exact.
    """
    lines = _LINE_CUT.split(text) if text else []
    if not lines or max(map(len, lines)) <= 2 * target:
        return lines
    out: list[str] = []
    for line in lines:
        if len(line) <= 2 * target:
            out.append(line)
            continue
        for sentence in _SENTENCE_CUT.split(line):
            out.extend(_split_long(sentence, target) if len(sentence) > 2 * target else (sentence,))
    return [s for s in out if s]
