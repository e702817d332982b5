"""Reference A: the legacy `openai tools fine_tunes.prepare_data` checks for prompt/completion data, in order.

Same thresholds, candidate lists and verdicts; better in three ways: rows are the file's own line/row numbers,
"too long" is measured in tokens of the target model (the legacy 10,000-character rule is still noted), and
classification labels get per-class counts and a single-token check.

The table the checks see is the data after the necessary fixes (as in the legacy tool); recommended fixes are
decided here and applied later, in the same order, by `apply_table_fixes`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .counting import TokenCounter, token_limit
from .records import CHAT, Record, record_format
from .report import Distribution, Fix, Issue, Report, raise_if_cancelled
from .stats import fill_training_stats

OPEN_ENDED = "open-ended generation"
CLASSIFICATION = "classification"
CONDITIONAL = "conditional generation"

MIN_EXAMPLES = 100
MIN_PER_CLASS = 100
LEGACY_MAX_CHARS = 10_000
MAX_PROMPT_PREFIX = 12
MIN_COMPLETION_PREFIX = 5
LONG_SUFFIX = 10
SEPARATORS = (" ->", "\n\n###\n\n", "\n\n===\n\n", "\n\n---\n\n", "\n\n===>\n\n", "\n\n--->\n\n")
FALLBACK_SEPARATOR = "\n\n### =>\n\n"
ENDINGS = ("\n", ".", " END", "***", "+++", "&&&", "$$$", "@@@", "%%%")
FALLBACK_ENDING = " [END]"
FIELDS = ("prompt", "completion")


@dataclass(frozen=True)
class SuffixCheck:
    """What differs between check 9 (the prompt separator) and check 12 (the completion ending)."""

    check: str
    what: str  # "prompts" | "completions"
    noun: str
    identical_advice: str
    missing: str
    fix_id: str
    fix_title: str
    fix_description: str
    param: str


PROMPT_SUFFIX = SuffixCheck(
    "prompt_suffix",
    "prompts",
    "the separator ",
    "leave the prompts empty for open-ended generation, or make them differ",
    "the prompts do not end with a common separator; one tells the model where the completion starts "
    "(leave prompts empty for open-ended generation)",
    "add_separator",
    "Add the separator `{}` to the end of every prompt",
    "The first candidate that no prompt contains.",
    "separator",
)
COMPLETION_SUFFIX = SuffixCheck(
    "completion_suffix",
    "completions",
    "",
    "the model would only learn to repeat it",
    "the completions do not end with a common ending; one tells the model where to stop",
    "add_ending",
    "Add the ending `{}` to every completion",
    "The first candidate that no completion contains; use it as the stop sequence.",
    "ending",
)


@dataclass
class Table:
    """The prompt/completion rows being checked: parallel lists, `rows` holding source line numbers."""

    rows: list[int] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    completions: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, keep: Iterable[bool]) -> Table:
        out = Table()
        for keep_it, r, p, c in zip(keep, self.rows, self.prompts, self.completions, strict=True):
            if keep_it:
                out.rows.append(r)
                out.prompts.append(p)
                out.completions.append(c)
        return out

    def records(self) -> list[dict[str, str]]:
        return [{"prompt": p, "completion": c} for p, c in zip(self.prompts, self.completions, strict=True)]


def show(text: str) -> str:
    """A separator as the legacy tool prints it: newlines as \\n."""
    return text.replace("\n", "\\n")


def common_prefix(values: list[str]) -> str:
    return os.path.commonprefix(values) if values else ""


def common_suffix(values: list[str]) -> str:
    return common_prefix([v[::-1] for v in values])[::-1] if values else ""


def case_counts(values: list[str]) -> tuple[int, int]:
    """(upper-case letters, lower-case letters) over all values, as `ch.isalpha() and ch.isupper()` counts them.

    Vectorised: a character is an upper-case letter when lower() changes it, a lower-case one when upper() does
    (exact for every cased letter); the rare text whose length changes under lower()/upper() ("ß", "İ") is
    counted character by character.
    """
    import numpy as np

    text = "".join(values)
    low, up = text.lower(), text.upper()
    if len(low) != len(text) or len(up) != len(text):
        upper = sum(1 for ch in text if ch.isalpha() and ch.isupper())
        return upper, sum(1 for ch in text if ch.isalpha() and ch.islower())

    def codes(s: str) -> Any:
        return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)

    chars = codes(text)
    return int((chars != codes(low)).sum()), int((chars != codes(up)).sum())


def infer_task_type(table: Table) -> str:
    """Open-ended when every prompt is empty; classification when distinct completions < rows/3."""
    if not any(table.prompts):
        return OPEN_ENDED
    if len(set(table.completions)) < len(table) / 3:
        return CLASSIFICATION
    return CONDITIONAL


def choose_separator(prompts: list[str]) -> str:
    """The first candidate no prompt contains (" ->" only when no prompt has a newline)."""
    has_newline = any("\n" in p for p in prompts)
    for option in SEPARATORS:
        if option == " ->" and has_newline:
            continue
        if not any(option in p for p in prompts):
            return option
    return FALLBACK_SEPARATOR


def choose_ending(completions: list[str]) -> str:
    """The first candidate ending no completion contains."""
    for option in ENDINGS:
        if not any(option in c for c in completions):
            return option
    return FALLBACK_ENDING


def _rows_text(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" … (+{len(rows) - limit} more)" if len(rows) > limit else "")


def _text(value: Any) -> str | None:
    """A cell as the legacy tool's dtype=str reading sees it (None stays None: a null)."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a Parquet/pandas export
        return None
    return value if isinstance(value, str) else str(value)


class LegacyChecker:
    """Runs checks 1–13 and the extras; fills `issues`, `fixes`, `stats` and the writer's `plan`."""

    def __init__(self, model: str, path: Path, cancel: Any = None) -> None:
        self.model = model
        self.cancel = cancel  # a threading.Event honoured between checks and while counting tokens
        self.path = path
        self.issues: list[Issue] = []
        self.fixes: list[Fix] = []
        self.fatal = False
        self._first: dict[str, str] = {}  # error kind -> first message, for the report

    def issue(
        self, check: str, severity: str, message: str, rows: list[int] | None = None, fix: str | None = None
    ) -> None:
        self.issues.append(Issue(check, severity, message, rows or [], fix))  # type: ignore[arg-type]
        if severity == "error":
            self.fatal = self.fatal or check in ("columns", "identical_prompts", "identical_completions")

    def fix(
        self, fix_id: str, title: str, description: str, *, necessary: bool = False, **params: Any
    ) -> None:
        self.fixes.append(Fix(fix_id, title, necessary, not necessary, description, params))

    # -- reading -----------------------------------------------------------------------------------------

    def table_from(self, records: Iterable[Record]) -> tuple[Table, int, list[str]]:
        """Necessary fixes 0, 2, 3 happen here: bad lines and other-format rows out, column names mapped."""
        bad: dict[str, list[int]] = {}
        other: list[int] = []
        objects: list[tuple[int, dict]] = []
        columns: dict[str, None] = {}
        n = 0
        for record in records:
            n += 1
            if record.data is None:
                if record.kind != "blank":
                    bad.setdefault(record.kind or "json", []).append(record.line)
                    self._first.setdefault(record.kind or "json", record.error or "")
                continue
            if record_format(record.data) == CHAT:
                other.append(record.line)
                continue
            objects.append((record.line, record.data))
            for key in record.data:
                columns.setdefault(str(key), None)
        dropped = self._report_unreadable(bad, other)
        self._count(len(objects))
        names = list(columns)
        mapping = self._column_check(names)
        table = Table()
        for line, data in objects:
            values = {mapping.get(str(k), str(k)): v for k, v in data.items()}
            table.rows.append(line)
            table.prompts.append(_text(values.get("prompt")) or "")
            table.completions.append(_text(values.get("completion")))  # type: ignore[arg-type]
        if dropped:
            self.fix(
                "drop_invalid",
                "Remove the unreadable rows",
                f"{len(dropped)} rows that could not be read as prompt/completion records are left out.",
                necessary=True,
                rows=sorted(dropped),
            )
        return table, n, names

    def _count(self, n: int) -> None:
        """Check 1, on the file as read (before the necessary fixes), as the legacy tool counts it."""
        if n == 0:
            self.issue("count", "error", "the file holds no prompt/completion pairs")
        elif n < MIN_EXAMPLES:
            self.issue(
                "count",
                "warning",
                f"the file holds {n} prompt/completion pairs; a few hundred examples or more are "
                "recommended (quality tends to rise with every doubling)",
            )
        else:
            self.issue("count", "info", f"the file holds {n} prompt/completion pairs")

    def _report_unreadable(self, bad: dict[str, list[int]], other: list[int]) -> list[int]:
        labels = {
            "encoding": "invalid UTF-8",
            "json": "not valid JSON",
            "type": "not a JSON object",
            "too_long": "line too long to read",
            "ragged": "wrong number of fields",
        }
        dropped: list[int] = []
        for kind, rows in bad.items():
            dropped += rows
            sample = self._first.get(kind, "")
            self.issue(
                f"read:{kind}",
                "error",
                f"{len(rows)} rows are unreadable — {labels.get(kind, kind)} (rows {_rows_text(rows)}); e.g. {sample}",
                rows,
                "drop_invalid",
            )
        if other:
            dropped += other
            self.issue(
                "mixed_formats",
                "error",
                f"{len(other)} rows are chat (`messages`) records in a prompt/completion file (rows "
                f"{_rows_text(other)}); one file must use one format",
                other,
                "drop_invalid",
            )
        return dropped

    def _column_check(self, names: list[str]) -> dict[str, str]:
        """Checks 2 and 3: the prompt and completion columns (case), and the extra ones."""
        mapping: dict[str, str] = {}
        for name in FIELDS:
            if name in names:
                continue
            variants = [c for c in names if c.lower() == name]
            if variants:
                mapping[variants[0]] = name
                self.issue(
                    "columns",
                    "warning",
                    f"the `{name}` column/key should be lower case (found `{variants[0]}`)",
                    fix="lowercase_columns",
                )
            else:
                self.issue(
                    "columns",
                    "error",
                    f"the `{name}` column/key is missing: name your columns/keys `prompt` and `completion`",
                )
        if mapping:
            self.fix(
                "lowercase_columns",
                "Lower-case the column names " + ", ".join(f"`{a}` → `{b}`" for a, b in mapping.items()),
                "The fine-tuning API reads only the lower-case keys.",
                necessary=True,
            )
        mapped = {mapping.get(c, c) for c in names}
        extra = [c for c in names if mapping.get(c, c) not in FIELDS]
        if len(mapped) > 2 and extra:
            self.issue(
                "extra_columns",
                "warning",
                f"the file has {len(names)} columns/keys, more than the 2 needed (prompt, completion); "
                f"the extra ones are: {', '.join(extra)}",
                fix="drop_extra_columns",
            )
            self.fix(
                "drop_extra_columns",
                f"Remove the extra columns/keys: {', '.join(extra)}",
                "Only `prompt` and `completion` are written.",
                necessary=True,
                columns=extra,
            )
        return mapping

    # -- the checks ---------------------------------------------------------------------------------------

    def run(self, records: Iterable[Record]) -> Report:
        table, n_records, _ = self.table_from(records)
        report = Report(self.path, "prompt_completion", OPEN_ENDED, self.model, n_records=n_records)
        if self.fatal or not len(table):
            return self._finish(report, table)
        # 4. empty completions (necessary)
        empty = [r for r, c in zip(table.rows, table.completions, strict=True) if c is None or c == ""]
        if empty:
            self.issue(
                "empty_completions",
                "warning",
                f"{len(empty)} completions are empty (rows {_rows_text(empty)})",
                empty,
                "drop_empty_completions",
            )
            self.fix(
                "drop_empty_completions",
                f"Remove the {len(empty)} rows with an empty completion",
                "A pair with no completion teaches nothing.",
                necessary=True,
                rows=empty,
            )
            table = table.keep(c is not None and c != "" for c in table.completions)
        if not len(table):
            self.issue("count", "error", "no row has a completion")
            return self._finish(report, table)
        task = infer_task_type(table)
        report.task_type = task
        counter = TokenCounter(self.model)
        # 5. classification advice, with per-class counts and single-token labels
        if task == CLASSIFICATION:
            self._classification(table, counter, report)
        raise_if_cancelled(self.cancel)
        # 6. duplicates
        seen: set[tuple[str, str]] = set()
        dups: list[int] = []
        for r, p, c in zip(table.rows, table.prompts, table.completions, strict=True):
            if (p, c) in seen:
                dups.append(r)
            seen.add((p, c))
        if dups:
            self.issue(
                "duplicates",
                "warning",
                f"{len(dups)} prompt/completion pairs repeat an earlier row (rows {_rows_text(dups)})",
                dups,
                "drop_duplicates",
            )
            self.fix(
                "drop_duplicates",
                f"Remove {len(dups)} duplicate rows",
                "Keeps the first of each identical pair.",
                rows=dups,
            )
        # 7. long examples, in tokens (the legacy character rule noted)
        totals, completion_tokens = self._tokens(table, counter)
        self._long(table, totals, task, report)
        raise_if_cancelled(self.cancel)
        # 8. upper case
        for name, values in (("prompt", table.prompts), ("completion", table.completions)):
            upper, lower = case_counts(values)
            if upper * 2 > lower:
                self.issue(
                    "uppercase",
                    "warning",
                    f"more than a third of the `{name}` letters are upper case; mixed case as in normal text tends to train better",
                    fix=f"lowercase_{name}s",
                )
                self.fix(
                    f"lowercase_{name}s",
                    f"Lower-case all {name}s",
                    f"Turns every {name} to lower case (if that makes sense in your domain).",
                )
        self._prompt_suffix(table, task, report)
        if self.fatal:
            return self._finish(report, table, totals, completion_tokens)
        self._prompt_prefix(table)
        self._completion_prefix(table)
        self._completion_suffix(table, task, report)
        if self.fatal:
            return self._finish(report, table, totals, completion_tokens)
        # 13. leading space
        firsts = {c[:1] for c in table.completions}
        if len(firsts) != 1 or not table.completions[0].startswith(" "):
            self.issue(
                "leading_space",
                "warning",
                "completions should start with a space (` `): it tends to give better results with the tokenizer",
                fix="add_leading_space",
            )
            self.fix(
                "add_leading_space",
                "Add a space at the start of each completion",
                "Completions that already start with a space are left as they are.",
            )
        return self._finish(report, table, totals, completion_tokens)

    def _classification(self, table: Table, counter: TokenCounter, report: Report) -> None:
        counts = Counter(table.completions)
        report.stats.class_counts = dict(counts.most_common())
        self.issue(
            "classification",
            "info",
            f"the data looks like classification ({len(counts)} classes): a small, fast model is usually enough, "
            "and keep a held-out set to measure it (split into training and validation)",
        )
        small = [label for label, k in counts.items() if k < MIN_PER_CLASS]
        if small:
            shown = ", ".join(f"{label!r}: {counts[label]}" for label in small[:10])
            self.issue(
                "class_counts",
                "warning",
                f"{len(small)} classes have fewer than {MIN_PER_CLASS} examples ({shown}); aim for at least {MIN_PER_CLASS} per class",
            )
        multi = [label for label in counts if counter.count(label) != 1]
        if multi:
            shown = ", ".join(f"{label!r} ({counter.count(label)} tokens)" for label in multi[:10])
            hint = (
                " (a leading space often makes a word one token)"
                if any(not lbl.startswith(" ") for lbl in multi)
                else ""
            )
            self.issue(
                "class_tokens",
                "warning",
                f"{len(multi)} class labels are not a single {self.model} token: {shown}{hint}",
            )

    def _tokens(self, table: Table, counter: TokenCounter) -> tuple[list[int], list[int]]:
        """Exact tokens of each prompt + completion, and of each completion."""
        totals: list[int] = []
        completions: list[int] = []
        step = 5000  # the cancel event is looked at between steps
        for i in range(0, len(table), step):
            raise_if_cancelled(self.cancel)
            prompts, ends = table.prompts[i : i + step], table.completions[i : i + step]
            totals += counter.count_many([p + c for p, c in zip(prompts, ends, strict=True)])
            completions += counter.count_many(ends)
        return totals, completions

    def _long(self, table: Table, totals: list[int], task: str, report: Report) -> None:
        limit = token_limit(self.model)
        report.stats.token_limit = limit
        over = [r for r, t in zip(table.rows, totals, strict=True) if t > limit]
        if over:
            self.issue(
                "long_examples",
                "warning",
                f"{len(over)} examples are over the {limit:,}-token limit of {self.model} (prompt + completion) and would be truncated (rows {_rows_text(over)})",
                over,
                "drop_long",
            )
            self.fix(
                "drop_long",
                f"Remove {len(over)} examples over {limit:,} tokens",
                "Fine-tuning cannot use the part past the limit.",
                rows=over,
            )
        if task != OPEN_ENDED:
            chars = [
                r
                for r, p, c in zip(table.rows, table.prompts, table.completions, strict=True)
                if len(p) + len(c) > LEGACY_MAX_CHARS
            ]
            if chars:
                fits = sorted(set(chars) - set(over))
                tail = f"; {len(fits)} of them fit the token limit" if fits else ""
                self.issue(
                    "long_examples_chars",
                    "info",
                    f'{len(chars)} examples are over {LEGACY_MAX_CHARS:,} characters, the legacy tool\'s "very long" rule (rows {_rows_text(chars)}){tail}',
                    chars,
                )

    def _prompt_suffix(self, table: Table, task: str, report: Report) -> None:
        """Check 9: the separator at the end of prompts (skipped for open-ended generation)."""
        if task == OPEN_ENDED:
            return
        suggested = choose_separator(table.prompts)
        found = self._suffix_check(table.prompts, PROMPT_SUFFIX, suggested)
        if found is not None:
            report.plan["separator"] = found or suggested

    def _prompt_prefix(self, table: Table) -> None:
        """Check 10."""
        prefix = common_prefix(table.prompts)
        if not prefix or all(p == prefix for p in table.prompts):
            return
        if len(prefix) > MAX_PROMPT_PREFIX:
            self.issue(
                "prompt_prefix",
                "warning",
                f"all prompts start with `{show(prefix)}`: fine-tuning needs no instruction or few-shot preamble; put only the input in the prompt",
                fix="remove_prompt_prefix",
            )
            self.fix(
                "remove_prompt_prefix",
                f"Remove the prefix `{show(prefix)}` from all prompts",
                "Saves its tokens on every example.",
                prefix=prefix,
            )
        else:
            self.issue("prompt_prefix", "info", f"all prompts start with `{show(prefix)}`")

    def _completion_prefix(self, table: Table) -> None:
        """Check 11."""
        prefix = common_prefix(table.completions)
        if len(prefix) < MIN_COMPLETION_PREFIX or all(c == prefix for c in table.completions):
            return
        self.issue(
            "completion_prefix",
            "warning",
            f"all completions start with `{show(prefix)}`: put only the output in the completion",
            fix="remove_completion_prefix",
        )
        self.fix(
            "remove_completion_prefix",
            f"Remove the prefix `{show(prefix)}` from all completions",
            "A leading space is kept.",
            prefix=prefix,
            keep_space=prefix.startswith(" "),
        )

    def _completion_suffix(self, table: Table, task: str, report: Report) -> None:
        """Check 12 (skipped for open-ended generation and classification)."""
        if task in (OPEN_ENDED, CLASSIFICATION):
            return
        suggested = choose_ending(table.completions)
        found = self._suffix_check(table.completions, COMPLETION_SUFFIX, suggested)
        if found:
            report.stop_sequence = found
        elif found == "":
            report.plan["ending"] = suggested

    def _suffix_check(self, values: list[str], spec: SuffixCheck, suggested: str) -> str | None:
        """Checks 9 and 12: all identical → error, None; a common suffix → reported and returned; none → the
        fix that appends `suggested`, and ""."""
        suffix = common_suffix(values)
        if all(v == suffix for v in values):
            self.issue(
                f"identical_{spec.what}",
                "error",
                f"all {spec.what} are identical: `{show(suffix)}` — {spec.identical_advice}",
            )
            return None
        if not suffix:
            self.issue(spec.check, "warning", spec.missing, fix=spec.fix_id)
            self.fix(
                spec.fix_id,
                spec.fix_title.format(show(suggested)),
                spec.fix_description,
                **{spec.param: suggested},
            )
            return ""
        msg = f"all {spec.what} end with {spec.noun}`{show(suffix)}`"
        if len(suffix) > LONG_SUFFIX:  # advice, as the legacy tool words it; only a repeat is its WARNING
            msg += f"; it is long — a shorter one such as `{show(suggested)}` would do"
        repeated = any(suffix in v[: -len(suffix)] for v in values)
        if repeated:
            msg += f"; WARNING: some contain `{show(suffix)}` more than once — use one that appears only at the end"
        self.issue(spec.check, "warning" if repeated else "info", msg)
        return suffix

    def _finish(
        self,
        report: Report,
        table: Table,
        totals: list[int] | None = None,
        completion_tokens: list[int] | None = None,
    ) -> Report:
        report.issues = self.issues
        report.fixes = self.fixes
        stats = report.stats
        stats.n_examples = len(table)
        if totals is not None and completion_tokens is not None:
            import numpy as np

            t = np.asarray(totals, dtype=np.int64)
            c = np.asarray(completion_tokens, dtype=np.int64)
            stats.distributions = {
                "prompt_tokens": Distribution.of("prompt tokens", t - c),
                "completion_tokens": Distribution.of("completion tokens", c),
                "tokens_per_example": Distribution.of("tokens per example", t),
            }
            stats.n_over_limit = int((t > stats.token_limit).sum())
            fill_training_stats(stats, t, self.model)
            report.plan["tokens"] = dict(zip(table.rows, totals, strict=True))
            if report.task_type == CLASSIFICATION:
                stats.legacy_time_estimate_s = len(table) * 1.44 + 140
            else:
                size = sum(
                    len(p.encode()) + len(c.encode())
                    for p, c in zip(table.prompts, table.completions, strict=True)
                )
                stats.legacy_time_estimate_s = size * 0.0515 + 140
        if report.stop_sequence is None and report.task_type != CLASSIFICATION and totals is not None:
            report.stop_sequence = common_suffix(table.completions) or None
        return report


def check_prompt_completion(records: Iterable[Record], model: str, path: Path, cancel: Any = None) -> Report:
    """Reference A over records: issues in the legacy order, fixes, statistics; a set `cancel` stops it."""
    return LegacyChecker(model, path, cancel).run(records)


def build_table(records: Iterable[Record], report: Report) -> Table:
    """The table after the necessary fixes, for the writer (re-read from the source, never cached in memory)."""
    checker = LegacyChecker(report.model, report.path)
    table, _, _ = checker.table_from(records)
    return table.keep(c is not None and c != "" for c in table.completions)


def apply_table_fixes(table: Table, report: Report, accepted: set[str]) -> Table:
    """Apply the accepted recommended fixes in the legacy order (decided on the checked data)."""
    fixes = {f.id: f for f in report.fixes}

    def on(fix_id: str) -> bool:
        return fix_id in fixes and fix_id in accepted

    if on("drop_duplicates"):
        seen: set[tuple[str, str]] = set()
        keep = []
        for p, c in zip(table.prompts, table.completions, strict=True):
            keep.append((p, c) not in seen)
            seen.add((p, c))
        table = table.keep(keep)
    if on("drop_long"):
        long_rows = set(fixes["drop_long"].params["rows"])
        table = table.keep(r not in long_rows for r in table.rows)
    if on("lowercase_prompts"):
        table.prompts = [p.lower() for p in table.prompts]
    if on("lowercase_completions"):
        table.completions = [c.lower() for c in table.completions]
    if on("add_separator"):
        sep = fixes["add_separator"].params["separator"]
        table.prompts = [p + sep for p in table.prompts]
    if on("remove_prompt_prefix"):
        n = len(fixes["remove_prompt_prefix"].params["prefix"])
        table.prompts = [p[n:] for p in table.prompts]
    if on("remove_completion_prefix"):
        params = fixes["remove_completion_prefix"].params
        n = len(params["prefix"])
        lead = " " if params["keep_space"] else ""
        table.completions = [lead + c[n:] for c in table.completions]
    if on("add_ending"):
        end = fixes["add_ending"].params["ending"]
        table.completions = [c + end for c in table.completions]
    if on("add_leading_space"):
        table.completions = [c if c.startswith(" ") else " " + c for c in table.completions]
    return table
