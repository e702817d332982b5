"""The big-file path for chat JSONL: byte-range chunks split at newlines, scanned by a process pool.

Each worker parses its lines with orjson, runs the cookbook checks, counts tokens with the target model's
tokenizer (cached per string: role names and system prompts repeat on every row) and returns compact arrays;
the parent merges them in file order, so statistics are exact (real percentiles over every example) and memory
stays at a few bytes per example. Small files are scanned in-process the same way (one chunk).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .checks_chat import ChatTally, finish, key_of_bytes
from .counting import TokenCounter, token_limit
from .readers import MAX_LINE_BYTES, _mb, fast_loads, parse_json_line, skip_line
from .report import Report, raise_if_cancelled

#: Files smaller than this are scanned in-process (a pool costs ~0.2 s to start).
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
#: Bytes per task: small enough for progress and load balance, large enough to amortise the task overhead.
CHUNK_BYTES = 16 * 1024 * 1024

_counters: dict[str, TokenCounter] = {}


def _counter(model: str) -> TokenCounter:
    """One counter (and cache) per worker process and model."""
    counter = _counters.get(model)
    if counter is None:
        counter = _counters[model] = TokenCounter(model)
    return counter


def scan_chunk(
    path: str, start: int, end: int, model: str, max_line_bytes: int = MAX_LINE_BYTES
) -> ChatTally:
    """Tally the lines that start in [start, end); rows are numbered from 1 within the chunk."""
    counter = _counter(model)
    tally = ChatTally()
    cap = max_line_bytes
    with open(path, "rb", buffering=1 << 20) as f:
        pos = start
        if start:
            f.seek(start - 1)
            pos = start - 1 + skip_line(f)
        n = 0
        while pos < end:
            line = f.readline(cap + 1)
            if not line:
                break
            pos += len(line)
            n += 1
            if len(line) > cap and not line.endswith(b"\n"):
                pos += skip_line(f)
                tally.n_records += 1
                tally.add_bad(n, "too_long", f"line is longer than {_mb(cap)}; skipped")
                continue
            if pos == len(line) and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            try:
                data = fast_loads(line)
            except ValueError:
                data = None
            if type(data) is dict:
                tally.n_records += 1
                tally.add_example(n, data, counter, key_of_bytes(line))
            else:  # json gives the exact reason (and accepts what orjson refuses, e.g. lone surrogates)
                record = parse_json_line(n, line.rstrip(b"\r\n"))
                if record.data is not None:
                    tally.n_records += 1
                    tally.add_example(n, record.data, counter, key_of_bytes(line))
                else:
                    tally.add_record(record, counter)
        tally.n_lines = n
    return tally


def chunk_ranges(size: int, chunk: int = CHUNK_BYTES) -> list[tuple[int, int]]:
    return [(s, min(size, s + chunk)) for s in range(0, size, chunk)] or [(0, 0)]


def scan_chat_jsonl(
    path: Path,
    model: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Report:
    """Check a chat JSONL file; parallel over all cores when it is big."""
    limit = token_limit(model)  # validates the model name before any work
    size = path.stat().st_size
    n_workers = workers or os.cpu_count() or 1
    # An explicit worker count forces the pool (tests, benchmarks); by default only big files pay for it.
    parallel = n_workers > 1 and (workers is not None or size >= PARALLEL_MIN_BYTES)
    chunk = min(CHUNK_BYTES, max(64 * 1024, size // (4 * n_workers))) if parallel else CHUNK_BYTES
    ranges = chunk_ranges(size, chunk)
    tallies: list[ChatTally | None] = [None] * len(ranges)
    if parallel:
        try:
            _scan_parallel(path, model, ranges, tallies, n_workers, size, progress, cancel, max_line_bytes)
        except BrokenProcessPool:  # e.g. a caller script without a __main__ guard: scan in-process instead
            parallel = False
    if not parallel:
        for i, (start, end) in enumerate(ranges):
            raise_if_cancelled(cancel)
            tallies[i] = scan_chunk(str(path), start, end, model, max_line_bytes)
            if progress is not None:
                progress(end, size)
    total = ChatTally()
    offset = 0
    for tally in tallies:
        assert tally is not None
        total.merge(tally, offset)
        offset += tally.n_lines
    report = Report(path, "chat", "chat", model, n_records=total.n_records)
    finish(total, report, limit)
    return report


def _scan_parallel(
    path: Path,
    model: str,
    ranges: list[tuple[int, int]],
    tallies: list[ChatTally | None],
    n_workers: int,
    size: int,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
    max_line_bytes: int,
) -> None:
    import multiprocessing

    # forkserver/spawn: the caller may be a threaded app (the TUI); fork there can deadlock.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    done_bytes = 0
    with ProcessPoolExecutor(max_workers=min(n_workers, len(ranges)), mp_context=ctx) as pool:
        pending: dict[Future, int] = {
            pool.submit(scan_chunk, str(path), start, end, model, max_line_bytes): i
            for i, (start, end) in enumerate(ranges)
        }
        try:
            while pending:
                finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                raise_if_cancelled(cancel)
                for future in finished:
                    i = pending.pop(future)
                    tallies[i] = future.result()
                    done_bytes += ranges[i][1] - ranges[i][0]
                if finished and progress is not None:
                    progress(done_bytes, size)
        except BaseException:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
