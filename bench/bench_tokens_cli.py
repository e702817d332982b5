"""`gptbench tokens` on a generated 10 MB text against a bare tiktoken encode of the same file, same run.

Two comparisons, both alternating runs and taking the median:
- process: `gptbench tokens FILE --encoding o200k_base --json` as a fresh process, against a fresh Python process
  doing `tiktoken.get_encoding("o200k_base").encode(open(FILE).read())` (tiktoken's own registry, fed the same
  hash-checked data through its cache dir so it needs no network). Wall time, start-up included.
- in-process: gptbench's streamed counter (count_stream) against `enc.encode(open(FILE).read())`, encodings warm.
Goal: gptbench throughput >= 0.9x tiktoken's. Prints MB/s, RATIO (gptbench / tiktoken throughput) and the load.

    .venv/bin/python bench/bench_tokens_cli.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5
SIZE = 10 * 1024 * 1024
BIN = Path(sys.executable).parent
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"

BARE = """
import sys, tiktoken
enc = tiktoken.get_encoding("o200k_base")
with open(sys.argv[1], encoding="utf-8") as f:
    print(len(enc.encode(f.read(), disallowed_special=())))
"""


def make_text(path: Path) -> None:
    """Varied text: prose, code, numbers, CJK and emoji, in lines of different lengths."""
    rng = random.Random(42)
    words = str.split(
        "the of and to in is was for on that with as by at from his her it an were are which this be "
        'def return self import class if else for while None True False print(x) {"key": 12} 3.14159 2024 '
        "Ünïcödé naïve café 世界 日本語 東京 😀 🎉 — … « » https://example.com/a/b?c=d"
    )
    out, size = [], 0
    while size < SIZE:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(1, 24)))
        line += rng.choice(["\n", "\n", "\n\n", ".\n", "  \n"])
        out.append(line)
        size += len(line.encode())
    path.write_text("".join(out), encoding="utf-8")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    from gptbench.core.tokens import get_encoding, get_tokenizer
    from gptbench.core.tokens.encodings import tiktoken_file
    from gptbench.core.tokens.files import count_stream

    with tempfile.TemporaryDirectory() as tmp:
        text_file = Path(tmp) / "ten-mb.txt"
        make_text(text_file)
        mb = text_file.stat().st_size / 1e6
        cache = Path(tmp) / "tiktoken-cache"
        cache.mkdir()
        (cache / hashlib.sha1(O200K_URL.encode()).hexdigest()).write_bytes(tiktoken_file("o200k_base"))
        env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(cache))

        ours_argv = [str(BIN / "gptbench"), "tokens", str(text_file), "--encoding", "o200k_base", "--json"]
        bare_argv = [sys.executable, "-c", BARE, str(text_file)]
        timed(ours_argv, env)  # warm the page cache and gptbench's parsed-ranks cache
        ours_p, bare_p = [], []
        for _ in range(RUNS):
            t, out = timed(ours_argv, env)
            ours_p.append(t)
            ours_tokens = json.loads(out)["tokens"]
            t, out = timed(bare_argv, env)
            bare_p.append(t)
            bare_tokens = int(out)
        assert ours_tokens == bare_tokens, (ours_tokens, bare_tokens)

        enc, tok = get_encoding("o200k_base"), get_tokenizer("o200k_base")
        ours_i, bare_i = [], []
        for _ in range(RUNS):
            start = time.perf_counter()
            with open(text_file, "rb") as f:
                counts = count_stream(f, str(text_file), tok)
            ours_i.append(time.perf_counter() - start)
            start = time.perf_counter()
            with open(text_file, encoding="utf-8") as f:
                n = len(enc.encode(f.read(), disallowed_special=()))
            bare_i.append(time.perf_counter() - start)
        assert counts.tokens == n == ours_tokens

    op, bp = statistics.median(ours_p), statistics.median(bare_p)
    oi, bi = statistics.median(ours_i), statistics.median(bare_i)
    print(f"file: {mb:.1f} MB, {n:,} o200k_base tokens (identical counts); threads: {os.cpu_count()}")
    print(
        f"process    gptbench tokens {op:.3f} s ({mb / op:.1f} MB/s)   bare tiktoken {bp:.3f} s ({mb / bp:.1f} MB/s)"
    )
    print(
        f"in-process count_stream    {oi:.3f} s ({mb / oi:.1f} MB/s)   enc.encode    {bi:.3f} s ({mb / bi:.1f} MB/s)"
    )
    print(f"RATIO process (gptbench/tiktoken throughput): {bp / op:.2f}x  (goal >= 0.9)")
    print(f"RATIO in-process: {bi / oi:.2f}x  (goal >= 0.9)")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
