"""A Hugging Face GPT-2 tokenizer built offline from the shipped r50k_base BPE file.

GPT-2's vocabulary ships with gptbench (core/data/r50k_base.tiktoken, hash-checked), so a GPT-2-style model —
the tiny test model, the tokens pane — gets a real HF tokenizer without any download.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .tokens.encodings import mergeable_ranks

ENDOFTEXT = "<|endoftext|>"


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table (the alphabet of its vocab.json)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=1)
def gpt2_vocab_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """GPT-2's vocab.json and merges.txt, rebuilt from the ranks.

    A token's merge is the split of its bytes into two known tokens; ordering merges by the merged token's rank
    reproduces tiktoken's lowest-rank-first merging exactly.
    """
    ranks = mergeable_ranks("r50k_base")  # hash-checked against the sha256 tiktoken expects
    table = _byte_to_unicode()

    def text(b: bytes) -> str:
        return "".join(table[x] for x in b)

    vocab = {text(token): rank for token, rank in ranks.items()}
    vocab[ENDOFTEXT] = len(ranks)
    merges: list[tuple[int, str, str]] = []
    for token, rank in ranks.items():
        for i in range(1, len(token)):
            left, right = token[:i], token[i:]
            if left in ranks and right in ranks:
                merges.append((rank, text(left), text(right)))
    merges.sort(key=lambda m: m[0])
    return vocab, [(left, right) for _, left, right in merges]


def gpt2_tokenizer(**kwargs: Any) -> Any:
    """A `transformers` GPT-2 tokenizer (50,257 tokens, `<|endoftext|>` as BOS/EOS), made without network."""
    from transformers import GPT2Tokenizer

    vocab, merges = gpt2_vocab_merges()
    # transformers 5: vocab=/merges= (the old vocab_file= keyword is silently ignored).
    return GPT2Tokenizer(vocab=dict(vocab), merges=list(merges), **kwargs)
