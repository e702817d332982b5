"""`check_file`: read a dataset, decide its format, run the right reference's checks, return one `Report`.

Chat JSONL goes through `scan` (byte-range chunks, in parallel for big files); everything else is read with the
streaming readers and checked in this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path

from .counting import DEFAULT_CHAT_MODEL, DEFAULT_COMPLETION_MODEL, TokenCounter, token_limit
from .readers import check_path, read_records, sniff_binary
from .records import CHAT, PROMPT_COMPLETION, Record, record_format
from .report import CheckCancelled, Issue, Report, raise_if_cancelled

# CheckCancelled is defined with the report types and re-exported here (the pane imports it from this module).
__all__ = ["CheckCancelled", "check_file", "check_records", "detect_format"]

Progress = Callable[[int, int], None]
#: Records looked at to decide the format of a file.
SNIFF_RECORDS = 200


def detect_format(records: Iterable[Record]) -> str:
    """Chat when most of the first readable objects have `messages`, else prompt/completion."""
    votes = {CHAT: 0, PROMPT_COMPLETION: 0}
    for record in records:
        if record.data is not None:
            fmt = record_format(record.data)
            if fmt:
                votes[fmt] += 1
    return CHAT if votes[CHAT] > votes[PROMPT_COMPLETION] else PROMPT_COMPLETION


def _empty_report(path: Path, model: str | None, message: str, check: str) -> Report:
    report = Report(path, PROMPT_COMPLETION, "unknown", model or DEFAULT_COMPLETION_MODEL)
    report.issues.append(Issue(check, "error", message))
    return report


def check_file(
    path: str | Path,
    model: str | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> Report:
    """Check one dataset file against both references; sync and CPU-bound (run it in a worker thread).

    `progress(done, total)` is called now and then with bytes (or rows) done; setting `cancel` stops the scan
    with `CheckCancelled`. `workers` overrides the process count of the parallel chat scan (default: all cores).
    Raises InputError for a missing file, a folder or an unsupported extension; every other problem with the
    file (empty, binary, bad lines) is reported as issues.
    """
    started = time.perf_counter()
    p = check_path(path)
    if p.stat().st_size == 0:
        return _empty_report(p, model, f"{p.name} is empty: there is nothing to fine-tune on", "empty_file")
    binary = sniff_binary(p)
    if binary:
        return _empty_report(p, model, binary, "binary_file")

    reader = read_records(p)
    head = list(islice(reader, SNIFF_RECORDS))
    fmt = detect_format(head)
    if fmt == CHAT and p.suffix.lower() == ".jsonl":
        from .scan import scan_chat_jsonl

        report = scan_chat_jsonl(
            p, model or DEFAULT_CHAT_MODEL, progress=progress, cancel=cancel, workers=workers
        )
    else:
        records = _watch(chain(head, reader), reader, progress, cancel)
        report = check_records(records, model, fmt=fmt, path=p, cancel=cancel)
        report.issues[:0] = [Issue("file", "warning", note) for note in reader.notes]
    if p.suffix.lower() == ".jsonl" and report.n_records == 1 and fmt == PROMPT_COMPLETION:
        report.issues.insert(
            0,
            Issue(
                "file",
                "info",
                "the file has one line: the legacy tool re-reads a one-line .jsonl as plain JSON and rejects a "
                "single object as not valid JSONL; gptbench reads it as one record",
            ),
        )
    report.seconds = time.perf_counter() - started
    return report


def _watch(
    records: Iterator[Record], reader: object, progress: Progress | None, cancel: threading.Event | None
) -> Iterator[Record]:
    """Pass records through, reporting progress and honouring cancel every 2,000 records."""
    for i, record in enumerate(records):
        if i % 2000 == 0:
            raise_if_cancelled(cancel)
            if progress is not None:
                progress(getattr(reader, "bytes_read", i), getattr(reader, "total_bytes", 0))
        yield record


def check_records(
    records: Iterable[Record],
    model: str | None = None,
    *,
    fmt: str | None = None,
    path: str | Path = "<records>",
    cancel: threading.Event | None = None,
) -> Report:
    """Run the checks over records already read (any source); the format is detected when not given."""
    if fmt is None:
        records = list(records)
        fmt = detect_format(records[:SNIFF_RECORDS])
    if fmt == CHAT:
        from .checks_chat import ChatTally, finish

        model = model or DEFAULT_CHAT_MODEL
        counter = TokenCounter(model)
        limit = token_limit(model)
        tally = ChatTally()
        for record in records:
            tally.add_record(record, counter)
        report = Report(Path(path), CHAT, "chat", model, n_records=tally.n_records)
        finish(tally, report, limit)
        return report
    from .checks_legacy import check_prompt_completion

    return check_prompt_completion(records, model or DEFAULT_COMPLETION_MODEL, Path(path), cancel)
