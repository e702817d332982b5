"""The verdict on one dataset file: issues (with the rows they concern), proposed fixes and statistics.

Plain dataclasses so the pane, the CLI and `--json` all read the same object; `Report.to_dict()` is the JSON shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import GptbenchError

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

#: Issues keep at most this many row numbers (the count stays exact), so a broken million-row file stays cheap.
MAX_ROWS_KEPT = 100_000


class CheckCancelled(GptbenchError):
    """The caller set the cancel event; no report was produced."""


def raise_if_cancelled(cancel: Any) -> None:
    """Stop a check whose `cancel` (a threading.Event, or None) is set."""
    if cancel is not None and cancel.is_set():
        raise CheckCancelled("check cancelled")


@dataclass(slots=True)
class Issue:
    """One finding of one check. `rows` are source line/row numbers (see `Record.line`); `count` is exact."""

    check: str
    severity: Severity
    message: str
    rows: list[int] = field(default_factory=list)
    fix_id: str | None = None
    count: int = -1

    def __post_init__(self) -> None:
        if self.count < 0:
            self.count = len(self.rows)
        if len(self.rows) > MAX_ROWS_KEPT:
            self.rows = self.rows[:MAX_ROWS_KEPT]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "rows": self.rows,
            "count": self.count,
            "fix_id": self.fix_id,
        }


@dataclass(slots=True)
class Fix:
    """A change the writer can make. Necessary fixes are always applied; recommended ones are offered.

    `params` carries what the writer needs (the separator to add, the prefix to strip, the rows to drop).
    """

    id: str
    title: str
    necessary: bool
    recommended: bool
    description: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "necessary": self.necessary,
            "recommended": self.recommended,
            "description": self.description,
        }


@dataclass(slots=True)
class Distribution:
    """Exact order statistics of one per-example quantity (percentiles by linear interpolation, as numpy)."""

    name: str
    count: int
    min: float
    max: float
    mean: float
    median: float
    p10: float
    p90: float
    values: Any = field(default=None, repr=False)  # the raw numpy array, for histograms

    @classmethod
    def of(cls, name: str, values: Sequence[int] | Any) -> Distribution:
        import numpy as np  # lazy: only statistics need it

        arr = np.asarray(values, dtype=np.int64)
        if arr.size == 0:
            return cls(name, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, arr)
        p10, median, p90 = np.quantile(arr, [0.1, 0.5, 0.9])
        return cls(
            name,
            int(arr.size),
            int(arr.min()),
            int(arr.max()),
            float(arr.mean()),
            float(median),
            float(p10),
            float(p90),
            arr,
        )

    def histogram(self, bins: int = 20) -> list[tuple[float, float, int]]:
        """(low, high, count) buckets over the values, for the pane's charts."""
        import numpy as np

        if self.values is None or self.count == 0:
            return []
        counts, edges = np.histogram(self.values, bins=bins)
        return [(float(edges[i]), float(edges[i + 1]), int(c)) for i, c in enumerate(counts)]

    def to_dict(self) -> dict[str, Any]:
        keys = ("count", "min", "max", "mean", "median", "p10", "p90")
        return {k: getattr(self, k) for k in keys}


@dataclass(slots=True)
class Stats:
    """Numbers for the report: distributions, class counts, limits, epochs, billed tokens and cost."""

    n_examples: int = 0
    distributions: dict[str, Distribution] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)
    token_limit: int = 0
    n_over_limit: int = 0
    n_epochs: int = 0
    billed_tokens: int = 0
    trained_tokens: int = 0  # n_epochs × billed_tokens: what a fine-tune is charged for
    estimated_cost: float | None = None
    cost_note: str = ""
    legacy_time_estimate_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_examples": self.n_examples,
            "distributions": {k: d.to_dict() for k, d in self.distributions.items()},
            "class_counts": self.class_counts,
            "token_limit": self.token_limit,
            "n_over_limit": self.n_over_limit,
            "n_epochs": self.n_epochs,
            "billed_tokens": self.billed_tokens,
            "trained_tokens": self.trained_tokens,
            "estimated_cost": self.estimated_cost,
            "cost_note": self.cost_note,
            "legacy_time_estimate_s": self.legacy_time_estimate_s,
        }


@dataclass(slots=True)
class Report:
    """Everything `check_file` found. `blocking` is True when errors stop the file from being fine-tuned as is."""

    path: Path
    format: str  # "prompt_completion" | "chat"
    task_type: str  # "open-ended generation" | "classification" | "conditional generation" | "chat"
    model: str
    n_records: int = 0  # records read, good and bad
    issues: list[Issue] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    stop_sequence: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Checker state the writer reuses (e.g. the column map); not part of the JSON.
    plan: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def blocking(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def fix(self, fix_id: str) -> Fix | None:
        return next((f for f in self.fixes if f.id == fix_id), None)

    def issues_for_row(self, row: int) -> list[Issue]:
        """The issues that name this row (for a record detail view)."""
        return [i for i in self.issues if row in i.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "task_type": self.task_type,
            "model": self.model,
            "n_records": self.n_records,
            "blocking": self.blocking,
            "issues": [i.to_dict() for i in self.issues],
            "fixes": [f.to_dict() for f in self.fixes],
            "stats": self.stats.to_dict(),
            "stop_sequence": self.stop_sequence,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }
