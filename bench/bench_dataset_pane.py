"""Dataset pane: time from `open_path` to the first rows painted, for 1,000 rows and for 1,000,000 (≈300 MB).

Goal: ≤ 0.3 s whatever the size, so the 1M/1k RATIO should stay near 1. Also measured: how long the line index
takes to cover the whole file (in a worker, after the first screen), and scroll-to-end latency (End key →
the last row painted) once it has. The pane runs headless at 80×24 in Textual's test harness; "painted" is
when the compositor asked the VirtualTable for a row's line (`first_row_painted_at` / `last_row_painted`).
The chat JSONL files are generated once in bench/out/ (the 1M file stays in the page cache after generation).

`--formats` measures a 200,000-row CSV and Parquet instead (prompt/completion plus three more columns, ≈55 MB of
CSV), each in a fresh process: first rows painted, every row read, End→last row, and the peak RSS growth from
just before `open_path` until the last row is painted (VmHWM reset through /proc/self/clear_refs; pyarrow is
imported before the baseline so its own ≈40 MB do not count).

Run: .venv/bin/python bench/bench_dataset_pane.py [--runs 3] [--formats]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
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
        scroll_end = await end_to_last_row(pilot, pane)
    return {"open": opened - started, "first": first, "indexed": indexed, "end": scroll_end}


async def end_to_last_row(pilot, pane: DatasetPane) -> float:
    """Seconds from the End key to the last row painted, once the whole file is in the table."""
    await pilot.pause(0.15)  # let the 10 Hz ticker hand the full row count to the table
    last = len(pane.source) - 1
    pressed = time.perf_counter()
    await pilot.press("end")
    while (pane.table.last_row_painted or (-1, 0.0))[0] != last:
        await pilot.pause(0)
    return pane.table.last_row_painted[1] - pressed


def generate_table(path: Path, rows: int) -> Path:
    """A CSV or Parquet of `rows` prompt/completion rows with three extra columns; reused when already there."""
    if path.exists():
        return path
    columns = {
        "prompt": [
            f"Question {n}: what does the {WORDS[n % 16]} do when the {WORDS[n * 7 % 16]} meets it?"
            for n in range(rows)
        ],
        "completion": [
            f" Row {n}: the {WORDS[n % 16]} greets the {WORDS[n * 13 % 16]} and they both go home."
            for n in range(rows)
        ],
        "source": [f"crawl-{n % 97}" for n in range(rows)],
        "label": [WORDS[n * 3 % 16] for n in range(rows)],
        "note": [f"checked by reviewer {n % 13}, batch {n // 1000}" for n in range(rows)],
    }
    if path.suffix == ".csv":
        import csv

        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(zip(*columns.values(), strict=True))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns), path)
    return path


def _rss(field: str) -> int:
    """A VmRSS/VmHWM figure of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


async def measure_format(path: Path, in_memory: bool = False) -> dict[str, float]:
    """One fresh app: open → first row painted; all rows read; End → last row; peak RSS growth meanwhile.

    `in_memory` measures the baseline: the pane's fallback (and the behaviour before spilling) that keeps every
    record as a Python object, forced by making the spill file impossible to create.
    """
    import pyarrow.parquet  # noqa: F401  (its import is not the pane's memory)

    if in_memory:
        from gptbench.tui.panes.dataset import pane as pane_module

        class NoSpill(pane_module.SpilledRows):
            def __init__(self, name: str = "rows") -> None:
                raise OSError("baseline: in memory")

        pane_module.SpilledRows = NoSpill  # type: ignore[misc]

    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        await pilot.pause()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        base = _rss("VmRSS")
        started = time.perf_counter()
        pane.open_path(path)
        while pane.table.first_row_painted_at is None:
            await pilot.pause(0)
        first = pane.table.first_row_painted_at - started
        while pane._loading:
            await pilot.pause(0.005)
        loaded = time.perf_counter() - started
        scroll_end = await end_to_last_row(pilot, pane)
        rows = len(pane.source)
        peak = _rss("VmHWM") - base
    return {"first": first, "loaded": loaded, "end": scroll_end, "rss": peak, "rows": rows}


def formats(runs: int) -> None:
    OUT.mkdir(exist_ok=True)
    files = [generate_table(OUT / f"pairs_200k.{ext}", 200_000) for ext in ("csv", "parquet")]
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for path in files:
        results: dict[str, list[dict[str, float]]] = {"spilled": [], "in memory": []}
        for _ in range(runs):  # interleaved, each in a fresh process: RSS is not muddied by the previous run
            for how in results:
                command = [sys.executable, __file__, "--measure", str(path)]
                out = subprocess.run(
                    command + (["--in-memory"] if how == "in memory" else []),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[how].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            f"{path.name} ({path.stat().st_size / 1e6:.0f} MB, {int(results['spilled'][0]['rows']):,} rows)"
        )
        for how, runs_of in results.items():

            def med(key: str, runs_of: list[dict[str, float]] = runs_of) -> float:
                return statistics.median(r[key] for r in runs_of)

            print(
                f"  {how:<10}: first rows {med('first') * 1000:4.0f} ms, all rows read {med('loaded'):.1f} s, "
                f"End→last row {med('end') * 1000:.0f} ms, peak RSS growth {med('rss') / 2**20:4.0f} MB"
            )
        ratio = statistics.median(r["rss"] for r in results["spilled"]) / statistics.median(
            r["rss"] for r in results["in memory"]
        )
        print(f"  RATIO peak RSS growth spilled / in memory: {ratio:.2f}×  (median of {runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", action="store_true", help="the 200k-row CSV and Parquet cases")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # one run, in a child process
    parser.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure_format(args.measure, args.in_memory))))
        return
    if args.formats:
        formats(args.runs)
        return
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
