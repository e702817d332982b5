"""Keystroke-to-updated-count latency in the Tokens pane on a 50,000-token text (goal: median <= 20 ms).

The pane runs in a headless Textual app (run_test, 100x30) holding a ~50,000-token text. Each sample sends one
key event the way the terminal driver does (mid-text) and times from sending it until the pane has put the
counts for the new text on its labels (the snapshot made for the editor's current version is applied). Baseline, same run: re-encoding the
whole text with the same three encodings (what a non-incremental pane would do per keystroke).
Prints median / p90 latencies, RATIO (baseline / incremental) and the machine load.

    .venv/bin/python bench/bench_tokens_pane.py
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time

from gptbench.core.tokens import get_tokenizer
from gptbench.tui.panes.tokens import SIDE_BY_SIDE, TokensPane
from textual import events
from textual.app import App, ComposeResult

KEYS = 60
TARGET_TOKENS = 50_000


def make_text() -> str:
    rng = random.Random(3)
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "42",
        "cats",
        "sleep;",
        "naïve",
        "café",
        "世界",
        "😀",
        "def",
        "f(x):",
        "return",
        "x",
    ]
    lines, o200k = [], get_tokenizer("o200k_base")
    while True:
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(4, 16))))
        if len(lines) % 200 == 0 and o200k.count("\n".join(lines)) >= TARGET_TOKENS:
            return "\n".join(lines)


class BenchApp(App):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield TokensPane(self.text)


async def run() -> None:
    text = make_text()
    tokens = get_tokenizer("o200k_base").count(text)
    app = BenchApp(text)
    async with app.run_test(size=(100, 30)):
        pane = app.query_one(TokensPane)
        editor = pane.editor
        while editor.snapshot_version != editor.version or editor.snapshot is None:
            await asyncio.sleep(0.01)
        editor.move_cursor((editor.document.line_count // 2, 3))
        latencies = []
        for i in range(KEYS):
            key = "abcdefghij"[i % 10]
            event = events.Key(key, key)
            event.set_sender(app)
            version = editor.version
            start = time.perf_counter()
            app._driver.send_message(event)  # the path a key from the terminal takes
            while editor.version == version or editor.snapshot_version != editor.version:
                await asyncio.sleep(0)
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.15)  # a typist's pace (~7 keys/s): let the screen refresh
        final = editor.text
        shown = pane.primary_count
    assert shown == get_tokenizer("o200k_base").count(final), "the pane's count is wrong"

    encoders = [get_tokenizer(n) for n in SIDE_BY_SIDE]
    full = []
    for _ in range(15):
        start = time.perf_counter()
        for tok in encoders:
            tok.count(final)
        full.append(time.perf_counter() - start)

    med, p90 = statistics.median(latencies), statistics.quantiles(latencies, n=10)[-1]
    base = statistics.median(full)
    print(f"text: {len(text):,} chars, {tokens:,} o200k_base tokens; {KEYS} keystrokes typed mid-text")
    print(
        f"keystroke -> updated count: median {med * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms (goal: median <= 20 ms)"
    )
    print(f"baseline full re-encode with {len(encoders)} encodings: median {base * 1000:.1f} ms")
    print(f"RATIO baseline / incremental: {base / med:.2f}x")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(run())
