"""Fine-tuning data: read, check, fix, split and convert datasets of any size (reference A and B verdicts).

Public API (stable names; the Dataset pane and `gptbench data` use only these):

- `read_records(path, *, max_line_bytes=None) -> RecordReader` — a streaming iterator of
  `Record(line, data, raw, error, kind)` for .jsonl/.json/.csv/.tsv/.xlsx/.txt/.parquet; bad lines become records
  with `error` set (the scan never stops); `.notes` holds file-level remarks (also reported as "file" issues by
  `check_file`), `.bytes_read`/`.total_bytes` progress.
  Raises `InputError` for a missing file, a folder or an unsupported extension.
- `check_file(path, model=None, *, progress=None, cancel=None, workers=None) -> Report` — sync, CPU-bound (run
  it in a worker thread); `progress(done, total)`; setting the `cancel` Event raises `CheckCancelled`.
  `check_records(records, model=None, *, fmt=None) -> Report` for records already in hand.
- `Report(path, format, task_type, model, n_records, issues, fixes, stats, stop_sequence, notes, seconds)`;
  `.blocking`, `.fix(id)`, `.issues_for_row(row)`, `.to_dict()` (the `--json` shape).
  `format` is "prompt_completion" or "chat"; `task_type` "open-ended generation" | "classification" |
  "conditional generation" | "chat".
- `Issue(check, severity, message, rows, fix_id, count)` — `rows` are source line/row numbers (at most 100,000
  kept), `count` is exact. `Fix(id, title, necessary, recommended, description, params)`.
- `Stats(n_examples, distributions, class_counts, token_limit, n_over_limit, n_epochs, billed_tokens,
  trained_tokens, estimated_cost, cost_note, legacy_time_estimate_s)`; `distributions[name]` is a
  `Distribution(count, min, max, mean, median, p10, p90)` with `.histogram(bins)`.
- `apply_fixes(path, report, accepted, *, split=False, stratify=False, seed=42, out_dir=None) -> PrepareResult(
  paths, n_train, n_valid, next_steps, stop_sequence, applied, n_epochs, trained_tokens, estimated_cost)` —
  epochs, tokens and cost are those of the training file written. Nothing changed and no split → `paths` is
  [the source] and nothing is written. Chat splits ignore `stratify` (no labels).
  Distribution keys: chat — messages_per_example, tokens_per_example, assistant_tokens_per_example;
  prompt/completion — prompt_tokens, completion_tokens, tokens_per_example.
- `gptbench.core.datasets.split`: `plan_split(path, *, out_dir=None, tag="", cancel=None) -> SplitPlan` (counts,
  classification, free output names; writes nothing), `split_file(path, *, stratify=False, seed=42, out_dir=None,
  tag="") -> SplitResult` (a file that needs no fixing, rows as they are) and `write_split(...)`, the one
  split-and-write `apply_fixes(split=True)` and the Dataset pane share.
- `preview_fix(path, report, fix_id, limit=20) -> list[(row, before, after)]` (`after` is {} for a dropped row).
- `unfixable_errors(report) -> list[Issue]` — errors no fix removes (`apply_fixes` refuses while there are any).
- `gptbench.core.datasets.text.format_report(report) -> str` — the CLI's plain-text report.
- `convert(path, to, out=None) -> Path` — to "chat" or "prompt_completion".

Fix ids: prompt/completion — drop_invalid, lowercase_columns, drop_extra_columns, drop_empty_completions (all
necessary), drop_duplicates, drop_long, lowercase_prompts, lowercase_completions, add_separator,
remove_prompt_prefix, remove_completion_prefix, add_ending, add_leading_space; chat — drop_invalid (necessary),
drop_duplicates, drop_over_limit.
"""

from __future__ import annotations

from .check import CheckCancelled, check_file, check_records, detect_format
from .fixes import PrepareResult, apply_fixes, convert, preview_fix, unfixable_errors
from .readers import SUPPORTED, RecordReader, read_records
from .records import CHAT, PROMPT_COMPLETION, Record
from .report import Distribution, Fix, Issue, Report, Stats

__all__ = [
    "CHAT",
    "PROMPT_COMPLETION",
    "SUPPORTED",
    "CheckCancelled",
    "Distribution",
    "Fix",
    "Issue",
    "PrepareResult",
    "Record",
    "RecordReader",
    "Report",
    "Stats",
    "apply_fixes",
    "check_file",
    "check_records",
    "convert",
    "detect_format",
    "preview_fix",
    "read_records",
    "unfixable_errors",
]
