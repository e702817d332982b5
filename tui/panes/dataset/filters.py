"""Which table positions a filter keeps: the rows an issue names, or the rows containing a search text.

Pure functions over a row source and a report, so they run in a worker thread and are tested without a screen.
"""

from __future__ import annotations

import json
import threading

from gptbench.core.datasets.report import SEVERITIES, Issue, Report

from .rows import IndexedRows, LoadedRows
from .spill import SpilledRows


def issue_positions(source: IndexedRows | SpilledRows | LoadedRows, issues: list[Issue]) -> list[int]:
    """Table positions of the rows named by `issues` (rows not in the table, e.g. not yet indexed, are left out)."""
    rows = sorted({row for issue in issues for row in issue.rows})
    positions = (source.position_of(row) for row in rows)
    return [p for p in positions if p is not None]


def search_positions(
    source: IndexedRows | SpilledRows | LoadedRows, needle: str, cancel: threading.Event | None = None
) -> list[int]:
    """Positions whose raw text contains `needle` (ASCII case-insensitive); JSONL is scanned in C over the mmap."""
    if not needle:
        return list(range(len(source)))
    if isinstance(source, SpilledRows):  # CSV, Parquet…: scanned over their spill file
        return source.search(needle, cancel)
    if isinstance(source, IndexedRows):
        found = set(source.index.find_lines(needle.encode("utf-8"), cancel=cancel))
        escaped = json.dumps(needle)[
            1:-1
        ]  # non-ASCII text as JSON writers with ensure_ascii store it: \u00e9
        if escaped != needle:
            found.update(source.index.find_lines(escaped.encode("ascii"), cancel=cancel))
        return sorted(found)
    folded = needle.casefold()
    found = []
    for position, record in enumerate(list(source.records)):
        if cancel is not None and cancel.is_set():
            break
        text = json.dumps(record.data, ensure_ascii=False) if record.data is not None else record.raw or ""
        if folded in text.casefold():
            found.append(position)
    return found


def row_marks(report: Report) -> dict[int, str]:
    """The worst severity naming each row, for the table's issue marks."""
    marks: dict[int, str] = {}
    for severity in reversed(SEVERITIES):  # error last, so it wins
        for issue in report.issues:
            if issue.severity == severity:
                marks.update(dict.fromkeys(issue.rows, severity))
    return marks


def checks_of(report: Report) -> dict[str, list[Issue]]:
    """The report's issues grouped by check, checks in the order the report found them."""
    groups: dict[str, list[Issue]] = {}
    for issue in report.issues:
        groups.setdefault(issue.check, []).append(issue)
    return groups
