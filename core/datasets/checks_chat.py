"""Reference B: the OpenAI cookbook's checks and statistics for chat (`messages`) data, token-exact.

`ChatTally` accumulates per-example results; tallies of file chunks scanned in parallel merge into one
(`merge`, with each chunk's line offset), and `finish` turns the total into issues, fixes and statistics.
"""

from __future__ import annotations

import hashlib
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Any

from .counting import TokenCounter
from .records import PROMPT_COMPLETION, Record, record_format
from .report import Distribution, Fix, Issue, Report, Stats
from .stats import fill_training_stats

ALLOWED_KEYS = frozenset(("role", "content", "name", "function_call", "weight"))
ALLOWED_ROLES = frozenset(("system", "user", "assistant", "function"))

#: The cookbook's error categories, in its order, then the reader's own (a line that is not an object at all).
CATEGORIES: dict[str, str] = {
    "data_type": "example is not a JSON object",
    "missing_messages_list": "no `messages` list, or an empty one",
    "message_missing_key": "a message lacks `role` or `content`",
    "message_unrecognized_key": "a message has a key other than role, content, name, function_call, weight",
    "unrecognized_role": "a message role is not system, user, assistant or function",
    "missing_content": "a message has no content (and no function_call), or its content is not a string",
    "example_missing_assistant_message": "no assistant message",
    "invalid_json": "line is not valid JSON",
    "encoding": "line is not valid UTF-8",
    "too_long": "line is over the reader's size cap",
}


def example_errors(data: object) -> list[str]:
    """The cookbook's format-error categories for one example (each at most once), in its order."""
    if not isinstance(data, dict):
        return ["data_type"]
    messages = data.get("messages")
    if not messages or not isinstance(messages, list):
        return ["missing_messages_list"]
    found: list[str] = []
    has_assistant = False
    for m in messages:
        if not isinstance(m, dict):
            _add(found, "data_type")
            continue
        if "role" not in m or "content" not in m:
            _add(found, "message_missing_key")
        if any(k not in ALLOWED_KEYS for k in m):
            _add(found, "message_unrecognized_key")
        role = m.get("role")
        if role not in ALLOWED_ROLES:
            _add(found, "unrecognized_role")
        content = m.get("content")
        if (not content and not m.get("function_call")) or not isinstance(content, str):
            _add(found, "missing_content")
        has_assistant = has_assistant or role == "assistant"
    if not has_assistant:
        _add(found, "example_missing_assistant_message")
    return found


def _add(found: list[str], category: str) -> None:
    if category not in found:
        found.append(category)


def _value_tokens(value: object, counter: TokenCounter) -> int:
    if isinstance(value, str):
        return counter.count(value)
    if isinstance(value, dict | list):
        import json

        return counter.count(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return 0  # a `weight` number is not text


def example_tokens(messages: list[dict], counter: TokenCounter) -> tuple[int, int]:
    """(total, assistant) tokens of one valid example: the cookbook's 3 per message + values + 1 per name + 3."""
    total = 3
    assistant = 0
    for m in messages:
        total += 3
        for key, value in m.items():
            total += _value_tokens(value, counter)
            if key == "name":
                total += 1
        if m.get("role") == "assistant":
            assistant += _value_tokens(m.get("content"), counter)
    return total, assistant


def example_key(data: dict) -> int:
    """A 64-bit digest of an example's canonical JSON, for exact-duplicate detection across processes."""
    import json

    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "replace"
    )
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little")


def key_of_bytes(line: bytes) -> int:
    """The duplicate digest of a raw JSONL line (exact text, surrounding white space ignored): CRC-32 and
    Adler-32 side by side, 64 bits, the same in every process (Python's hash() is salted per process)."""
    line = line.strip()
    return zlib.crc32(line) << 32 | zlib.adler32(line)


@dataclass
class ChatTally:
    """Per-example results of a scan; everything is a compact array or row list so chunks merge cheaply."""

    n_records: int = 0
    n_lines: int = 0
    bad: dict[str, array] = field(default_factory=dict)  # category -> rows
    blank: array = field(default_factory=lambda: array("q"))
    other_format: array = field(default_factory=lambda: array("q"))
    missing_system: array = field(default_factory=lambda: array("q"))
    missing_user: array = field(default_factory=lambda: array("q"))
    rows: array = field(default_factory=lambda: array("q"))  # rows of valid examples, parallel to below
    n_messages: array = field(default_factory=lambda: array("l"))
    total_tokens: array = field(default_factory=lambda: array("l"))
    assistant_tokens: array = field(default_factory=lambda: array("l"))
    keys: array = field(default_factory=lambda: array("Q"))
    first_errors: dict[str, str] = field(default_factory=dict)  # category -> one sample message

    def add_bad(self, row: int, category: str, message: str | None = None) -> None:
        self.bad.setdefault(category, array("q")).append(row)
        if message and category not in self.first_errors:
            self.first_errors[category] = message

    def add_record(self, record: Record, counter: TokenCounter, key: int | None = None) -> None:
        """Tally one record (a reader's output): its errors, or its counts."""
        self.n_records += 1
        if record.data is None:
            kind = record.kind or "json"
            if kind == "blank":
                self.blank.append(record.line)
            else:
                category = {"type": "data_type", "json": "invalid_json"}.get(kind, kind)
                self.add_bad(record.line, category, record.error)
            return
        self.add_example(record.line, record.data, counter, key)

    def add_example(self, row: int, data: dict, counter: TokenCounter, key: int | None = None) -> None:
        """Tally one parsed example. The common case (plain role/content messages) takes one fused pass;
        anything unusual goes through the general checks and counting."""
        messages = data.get("messages")
        if type(messages) is list and messages:
            cache = counter.cache
            cached = cache.get
            role_tokens = counter.role_tokens
            total = 3
            assistant = 0
            has_system = has_user = has_assistant = False
            for m in messages:
                if type(m) is not dict or len(m) != 2:
                    break
                content = m.get("content")
                rt = role_tokens.get(m.get("role"))
                if rt is None or type(content) is not str or not content:
                    break
                n = cached(content)
                if n is None:
                    n = counter.count(content)
                total += 3 + rt + n
                role = m["role"]
                if role == "assistant":
                    assistant += n
                    has_assistant = True
                elif role == "user":
                    has_user = True
                elif role == "system":
                    has_system = True
            else:
                if has_assistant:
                    if not has_system:
                        self.missing_system.append(row)
                    if not has_user:
                        self.missing_user.append(row)
                    self.rows.append(row)
                    self.n_messages.append(len(messages))
                    self.total_tokens.append(total)
                    self.assistant_tokens.append(assistant)
                    self.keys.append(example_key(data) if key is None else key)
                    return
        self._add_general(row, data, counter, key)

    def _add_general(self, row: int, data: dict, counter: TokenCounter, key: int | None) -> None:
        errors = example_errors(data)
        if errors:
            if "messages" not in data and record_format(data) == PROMPT_COMPLETION:
                self.other_format.append(row)
            for category in errors:
                self.add_bad(row, category)
            return
        messages = data["messages"]
        has_system = has_user = False
        for m in messages:
            role = m["role"]
            has_system = has_system or role == "system"
            has_user = has_user or role == "user"
        if not has_system:
            self.missing_system.append(row)
        if not has_user:
            self.missing_user.append(row)
        total, assistant = example_tokens(messages, counter)
        self.rows.append(row)
        self.n_messages.append(len(messages))
        self.total_tokens.append(total)
        self.assistant_tokens.append(assistant)
        self.keys.append(example_key(data) if key is None else key)

    def merge(self, other: ChatTally, line_offset: int) -> None:
        """Add a later chunk's tally; its rows are shifted by the lines before that chunk."""
        self.n_records += other.n_records
        self.n_lines += other.n_lines

        def shifted(rows: array) -> array:
            return array("q", (r + line_offset for r in rows)) if line_offset else rows

        for category, rows in other.bad.items():
            self.bad.setdefault(category, array("q")).extend(shifted(rows))
        for name in ("blank", "other_format", "missing_system", "missing_user", "rows"):
            getattr(self, name).extend(shifted(getattr(other, name)))
        for name in ("n_messages", "total_tokens", "assistant_tokens", "keys"):
            getattr(self, name).extend(getattr(other, name))
        for category, message in other.first_errors.items():
            self.first_errors.setdefault(category, message)


def _rows_text(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" … (+{len(rows) - limit} more)" if len(rows) > limit else "")


def _duplicates(tally: ChatTally) -> list[int]:
    """Rows whose example repeats an earlier one exactly (the first occurrence is kept)."""
    import numpy as np

    if len(tally.keys) < 2:
        return []
    keys = np.frombuffer(tally.keys, dtype=np.uint64)
    _, first = np.unique(keys, return_index=True)
    if first.size == keys.size:
        return []
    dup = np.ones(keys.size, dtype=bool)
    dup[first] = False
    rows = np.frombuffer(tally.rows, dtype=np.int64)
    return sorted(int(r) for r in rows[dup])


def finish(tally: ChatTally, report: Report, limit: int) -> None:
    """Fill the report's issues, fixes and statistics from a complete tally (the cookbook's output, and more).

    `report.plan["rows"]` keeps the row of each valid example, parallel to the token counts, for the writer.
    """
    model = report.model
    import numpy as np

    issues: list[Issue] = []
    fixes: list[Fix] = []
    n_valid = len(tally.rows)
    bad_rows: set[int] = set()

    if tally.other_format:
        rows = sorted(tally.other_format)
        issues.append(
            Issue(
                "mixed_formats",
                "error",
                f"{len(rows)} rows are prompt/completion records in a chat file (rows {_rows_text(rows)}); "
                "one file must use one format",
                rows,
                "drop_invalid",
            )
        )
    for category, meaning in CATEGORIES.items():
        rows_arr = tally.bad.get(category)
        if not rows_arr:
            continue
        rows = sorted(rows_arr)
        bad_rows.update(rows)
        sample = tally.first_errors.get(category)
        detail = f" — e.g. {sample}" if sample else ""
        issues.append(
            Issue(
                f"format:{category}",
                "error",
                f"{len(rows)} examples — {meaning} (rows {_rows_text(rows)}){detail}",
                rows,
                "drop_invalid",
            )
        )
    if bad_rows or tally.blank:
        fixes.append(
            Fix(
                "drop_invalid",
                "Remove the examples with format errors",
                necessary=True,
                recommended=True,
                description=f"{len(bad_rows)} examples with format errors and {len(tally.blank)} blank lines "
                "are left out of the prepared file (the fine-tuning API rejects the whole file otherwise).",
                params={"rows": sorted(bad_rows | set(tally.blank))},
            )
        )
    if tally.blank:
        rows = list(tally.blank)
        issues.append(
            Issue(
                "blank_lines",
                "warning",
                f"{len(rows)} blank lines (rows {_rows_text(rows)})",
                rows,
                "drop_invalid",
            )
        )
    if n_valid == 0 and not issues:
        issues.append(Issue("count", "error", "the file holds no examples"))
    if tally.missing_system:
        rows = list(tally.missing_system)
        issues.append(
            Issue(
                "missing_system",
                "warning" if len(rows) < n_valid else "info",
                f"{len(rows)} examples have no system message (rows {_rows_text(rows)})",
                rows,
            )
        )
    if tally.missing_user:
        rows = list(tally.missing_user)
        issues.append(
            Issue(
                "missing_user",
                "warning",
                f"{len(rows)} examples have no user message (rows {_rows_text(rows)})",
                rows,
            )
        )
    if 0 < n_valid < 10:
        issues.append(
            Issue(
                "count",
                "error",
                f"{n_valid} examples: the fine-tuning API needs at least 10 (50–100 recommended)",
            )
        )
    elif 0 < n_valid < 100:
        issues.append(
            Issue(
                "count",
                "warning",
                f"{n_valid} examples: 50–100 well-made examples or more usually train better",
            )
        )

    dups = _duplicates(tally)
    if dups:
        issues.append(
            Issue(
                "duplicates",
                "warning",
                f"{len(dups)} examples repeat an earlier one exactly (rows {_rows_text(dups)})",
                dups,
                "drop_duplicates",
            )
        )
        fixes.append(
            Fix(
                "drop_duplicates",
                "Remove exact duplicate examples",
                necessary=False,
                recommended=True,
                description=f"Keep the first of each identical example; {len(dups)} rows removed.",
                params={"rows": dups},
            )
        )

    total = _np(tally.total_tokens)
    rows_all = np.frombuffer(tally.rows, dtype=np.int64)
    over = rows_all[total > limit]
    if over.size:
        over_rows = [int(r) for r in over]
        issues.append(
            Issue(
                "over_limit",
                "warning",
                f"{over.size} examples are over the {limit:,}-token limit of {model} and will be truncated "
                f"(rows {_rows_text(over_rows)})",
                over_rows,
                "drop_over_limit",
            )
        )
        fixes.append(
            Fix(
                "drop_over_limit",
                f"Remove the examples over {limit:,} tokens",
                necessary=False,
                recommended=True,
                description="Fine-tuning truncates them to the limit, which usually cuts the assistant's answer.",
                params={"rows": over_rows},
            )
        )

    stats = Stats(n_examples=n_valid, token_limit=limit, n_over_limit=int(over.size))
    stats.distributions = {
        "messages_per_example": Distribution.of("messages per example", _np(tally.n_messages)),
        "tokens_per_example": Distribution.of("total tokens per example", total),
        "assistant_tokens_per_example": Distribution.of(
            "assistant tokens per example", _np(tally.assistant_tokens)
        ),
    }
    fill_training_stats(stats, total, model)
    report.issues, report.fixes, report.stats = issues, fixes, stats
    report.plan["rows"] = rows_all


def _np(values: array) -> Any:
    """A zero-copy numpy view of an integer array."""
    import numpy as np

    return np.frombuffer(values, dtype=np.dtype(values.typecode))
