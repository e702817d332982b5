"""Dataset pane: time from `open_path` to the first rows painted, for 1,000 rows and for 1,000,000 (≈300 MB).

Goal: ≤ 0.3 s whatever the size, so the 1M/1k RATIO should stay near 1. Also measured: how long the line index
takes to cover the whole file (in a worker, after the first screen), and scroll-to-end latency (End key →
the last row painted) once it has. The pane runs headless at 80×24 in Textual's test harness; "painted" is
when the compositor asked the VirtualTable for a row's line (`first_row_painted_at` / `last_row_painted`).
The chat JSONL files are generated once in bench/out/ (the 1M file stays in the page cache after generation).

Run: .venv/bin/python bench/bench_dataset_pane.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from gptbench.tui.panes.dataset import DatasetPane
from textual.app import App, ComposeResult

OUT = Path(__file__).resolve().parent / "out"
WORDS = [
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
    "seven",
    "wizards",
    "quietly",
    "judge",
    "boxing",
    "matches",
]


def generate(path: Path, rows: int) -> Path:
    """A chat JSONL of `rows` varied conversations (~330 bytes each); reused when already there."""
    if path.exists() and sum(1 for _ in path.open("rb")) == rows:
        return path
    system = json.dumps({"role": "system", "content": "You are a concise assistant for a bench test."})
    with path.open("w") as f:
        for n in range(rows):
            w = WORDS[n % len(WORDS)], WORDS[(n * 7) % len(WORDS)], WORDS[(n * 13) % len(WORDS)]
            f.write(
                f'{{"messages": [{system}, {{"role": "user", "content": "Question {n}: what does the {w[0]} '
                f'do when the {w[1]} meets the {w[2]}? Answer in one short sentence."}}, {{"role": "assistant", '
                f'"content": "Row {n}: the {w[0]} greets the {w[1]}, and then they both ignore the {w[2]}."}}]}}\n'
            )
    return path


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DatasetPane()


async def measure(path: Path) -> dict[str, float]:
    """One fresh app: open → first row painted; index complete; End → last row painted."""
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        await pilot.pause()
        started = time.perf_counter()
        pane.open_path(path)
        opened = time.perf_counter()
        while pane.table.first_row_painted_at is None:
            await pilot.pause(0)
        first = pane.table.first_row_painted_at - started
        while pane.index is not None and not pane.index.done:
            await pilot.pause(0.005)
        indexed = time.perf_counter() - started
        await pilot.pause(0.15)  # let the 10 Hz ticker hand the full row count to the table
        last = len(pane.source) - 1
        pressed = time.perf_counter()
        await pilot.press("end")
        while (pane.table.last_row_painted or (-1, 0.0))[0] != last:
            await pilot.pause(0)
        scroll_end = pane.table.last_row_painted[1] - pressed
    return {"open": opened - started, "first": first, "indexed": indexed, "end": scroll_end}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    t = time.perf_counter()
    small = generate(OUT / "chat_1k.jsonl", 1_000)
    big = generate(OUT / "chat_1m.jsonl", 1_000_000)
    print(f"files ready in {time.perf_counter() - t:.1f} s: {big.stat().st_size / 1e6:.0f} MB for 1M rows")
    load = os.getloadavg()
    results: dict[str, list[dict[str, float]]] = {"1k": [], "1m": []}
    for _ in range(args.runs):  # interleaved, so both sizes see the same machine load
        results["1k"].append(asyncio.run(measure(small)))
        results["1m"].append(asyncio.run(measure(big)))

    def med(size: str, key: str) -> float:
        return statistics.median(r[key] for r in results[size])

    print(
        f"load average              : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (after: {os.getloadavg()[0]:.2f})"
    )
    for size, label in (("1k", "1,000 rows"), ("1m", "1,000,000 rows")):
        print(
            f"{label:<16} first rows : {med(size, 'first') * 1000:7.1f} ms  (open_path {med(size, 'open') * 1000:.1f} ms,"
            f" full index {med(size, 'indexed') * 1000:.0f} ms, End→last row {med(size, 'end') * 1000:.1f} ms)"
        )
    ratio = med("1m", "first") / med("1k", "first")
    print(f"RATIO first rows 1M / 1k  : {ratio:.2f}×  (goal: both ≤ 300 ms; median of {args.runs} runs)")


if __name__ == "__main__":
    main()
