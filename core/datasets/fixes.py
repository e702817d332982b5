"""Apply a report's fixes to a new file (the source is never touched), preview them, convert between formats.

`apply_fixes` re-reads the source, applies the necessary fixes and the accepted recommended ones in the
reference's order, optionally splits, writes with the legacy naming and returns the next steps to take.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .checks_legacy import CLASSIFICATION, Table, apply_table_fixes, build_table, show
from .counting import TokenCounter
from .readers import read_records
from .records import CHAT, PROMPT_COMPLETION, Record
from .report import Issue, Report, Stats
from .split import write_split
from .stats import fill_training_stats
from .text import training_lines
from .writer import output_names, write_jsonl

#: Row-dropping fixes of chat reports (applied while streaming).
CHAT_ROW_FIXES = ("drop_invalid", "drop_duplicates", "drop_over_limit")


@dataclass
class PrepareResult:
    """What `apply_fixes` wrote and what to do next."""

    paths: list[Path]
    n_train: int
    n_valid: int
    next_steps: str
    stop_sequence: str | None
    applied: list[str] = field(default_factory=list)
    n_epochs: int = 0
    trained_tokens: int = 0
    estimated_cost: float | None = None


def _accepted(report: Report, accepted: set[str]) -> list[str]:
    """Fix ids that will be applied: every necessary one, plus the accepted ones the report offers."""
    return [f.id for f in report.fixes if f.necessary or f.id in accepted]


def unfixable_errors(report: Report) -> list[Issue]:
    """Errors no fix removes (a missing column, identical prompts, too few examples): preparing cannot help."""
    fixable = {f.id for f in report.fixes}
    return [i for i in report.issues if i.severity == "error" and i.fix_id not in fixable]


def apply_fixes(
    path: str | Path,
    report: Report,
    accepted: set[str],
    *,
    split: bool = False,
    stratify: bool = False,
    seed: int = 42,
    out_dir: str | Path | None = None,
) -> PrepareResult:
    """Write the prepared file(s) for `report` (from `check_file(path)`) and say what to run next.

    With nothing to change and no split, nothing is written (as the legacy tool) and the next steps use the
    source file itself. Raises InputError when the report has errors that no fix removes.
    """
    source = Path(path)
    applied = _accepted(report, accepted)
    stuck = unfixable_errors(report)
    if stuck:
        raise InputError(f"{source.name}: cannot prepare: {stuck[0].message}")
    folder = Path(out_dir) if out_dir else None
    if report.format == CHAT:
        return _apply_chat(source, report, applied, split, seed, folder)
    return _apply_pc(source, report, applied, split, stratify, seed, folder)


def _apply_pc(
    source: Path,
    report: Report,
    applied: list[str],
    split: bool,
    stratify: bool,
    seed: int,
    folder: Path | None,
) -> PrepareResult:
    table = apply_table_fixes(build_table(read_records(source), report), report, set(applied))
    stop = report.stop_sequence
    if "add_ending" in applied:
        stop = report.fix("add_ending").params["ending"]  # type: ignore[union-attr]
    rows = table.records()
    counter = TokenCounter(report.model)

    def tokens(positions: Iterable[int]) -> list[int]:
        """Exact tokens of the written examples (after the text fixes)."""
        return [counter.count(rows[i]["prompt"] + rows[i]["completion"]) for i in positions]

    if not applied and not split:
        return _result(report, [source], tokens(range(len(rows))), 0, stop, applied, table)
    if split:
        paths, train, valid = write_split(
            source,
            len(table),
            lambda positions: (rows[i] for i in positions),
            labels=table.completions,
            stratify=stratify,
            seed=seed,
            out_dir=folder,
        )
        return _result(report, paths, tokens(train), len(valid), stop, applied, table)
    (name,) = output_names(source, [""], folder)
    return _result(report, [write_jsonl(name, rows)], tokens(range(len(rows))), 0, stop, applied, table)


def _chat_drops(report: Report, applied: list[str]) -> set[int]:
    drop: set[int] = set()
    for fix_id in CHAT_ROW_FIXES:
        fix = report.fix(fix_id)
        if fix is not None and fix_id in applied:
            drop.update(fix.params.get("rows", ()))
    return drop


def _chat_rows(source: Path, drop: set[int], keep_positions: set[int] | None = None) -> Iterator[dict]:
    """The kept examples in file order; with `keep_positions`, only those (0-based among kept examples)."""
    position = 0
    for record in read_records(source):
        if record.data is None or record.line in drop:
            continue
        if keep_positions is None or position in keep_positions:
            yield record.data
        position += 1


def _apply_chat(
    source: Path, report: Report, applied: list[str], split: bool, seed: int, folder: Path | None
) -> PrepareResult:
    import numpy as np

    drop = _chat_drops(report, applied)
    rows = report.plan["rows"]  # valid examples, in file order, parallel to the token counts
    kept = ~np.isin(rows, np.fromiter(drop, dtype=np.int64, count=len(drop)))
    kept_tokens = report.stats.distributions["tokens_per_example"].values[kept]
    if not drop and not split:
        return _result(report, [source], kept_tokens, 0, None, applied)
    if split:
        paths, train, valid = write_split(
            source,
            int(kept.sum()),
            lambda positions: _chat_rows(source, drop, set(positions)),
            seed=seed,
            out_dir=folder,
        )
        return _result(report, paths, kept_tokens[train], len(valid), None, applied)
    (name,) = output_names(source, [""], folder)
    return _result(report, [write_jsonl(name, _chat_rows(source, drop))], kept_tokens, 0, None, applied)


def _result(
    report: Report,
    paths: list[Path],
    train_tokens: Sequence[int],
    n_valid: int,
    stop: str | None,
    applied: list[str],
    table: Table | None = None,
) -> PrepareResult:
    """The result, with epochs, tokens and cost recomputed for the training file actually written."""
    stats = Stats(n_examples=len(train_tokens), token_limit=report.stats.token_limit)
    fill_training_stats(stats, train_tokens, report.model)
    result = PrepareResult(
        paths,
        len(train_tokens),
        n_valid,
        "",
        stop,
        applied,
        stats.n_epochs,
        stats.trained_tokens,
        stats.estimated_cost,
    )
    result.next_steps = next_steps(report, result, table, stats)
    return result


def next_steps(
    report: Report, result: PrepareResult, table: Table | None = None, stats: Stats | None = None
) -> str:
    """The text the CLI prints after preparing: the fine-tune commands, stop sequence, tokens, epochs, cost."""
    train = result.paths[0]
    valid = result.paths[1] if len(result.paths) > 1 else None
    model = report.model
    lines: list[str] = []
    if train == report.path:
        lines.append(f"Nothing to change: you can fine-tune on {train.name} as it is.")
    else:
        lines.append(
            "Wrote "
            + " and ".join(
                f"{p} ({n:,} examples)"
                for p, n in zip(result.paths, (result.n_train, result.n_valid), strict=False)
            )
        )
    lines += ["", "Fine-tune on OpenAI (upload, then create the job with the file id printed by the upload):"]
    lines.append(f'  openai api files.create -f "{train}" -p fine-tune')
    if valid:
        lines.append(f'  openai api files.create -f "{valid}" -p fine-tune')
    lines.append(
        f"  openai api fine_tuning.jobs.create -F <training-file-id> -m {model}"
        + (" --validation-file <validation-file-id>" if valid else "")
    )
    legacy = f'openai api fine_tunes.create -t "{train}"' + (f' -v "{valid}"' if valid else "")
    if report.task_type == CLASSIFICATION and table is not None and report.stats.class_counts:
        counts = report.stats.class_counts
        legacy += " --compute_classification_metrics"
        if len(counts) == 2:
            legacy += f' --classification_positive_class "{next(iter(counts))}"'
        else:
            legacy += f" --classification_n_classes {len(counts)}"
    lines.append(f"  (legacy CLI, before openai 1.0: {legacy})")
    lines.append("Fine-tune locally: `gptbench finetune` is coming; the Fine-tune pane will take this file.")
    lines.append("")
    separator = report.plan.get("separator")
    if report.format == PROMPT_COMPLETION:
        sep = (
            separator
            if (separator and ("add_separator" in result.applied or report.fix("add_separator") is None))
            else None
        )
        if sep:
            lines.append(
                f"After fine-tuning, end every prompt with the separator `{show(sep)}` so the model starts the completion."
            )
        if report.task_type == CLASSIFICATION:
            lines.append("For classification, ask for one token (max_tokens=1) and read the class from it.")
        elif result.stop_sequence:
            lines.append(
                f'Use stop=["{show(result.stop_sequence)}"] so generations end where the examples do.'
            )
    lines += training_lines(stats or report.stats, model)
    legacy_s = report.stats.legacy_time_estimate_s
    if legacy_s is not None:
        lines.append(
            f"(The legacy tool would estimate {legacy_s / 60:.1f} minutes of training for a `curie` model.)"
        )
    return "\n".join(lines)


def preview_fix(
    path: str | Path, report: Report, fix_id: str, limit: int = 20
) -> list[tuple[int, dict, dict]]:
    """Up to `limit` (row, before, after) pairs that `fix_id` changes — `after` is {} for a dropped row."""
    fix = report.fix(fix_id)
    if fix is None:
        raise InputError(
            f"no fix {fix_id!r} in this report; offered: {', '.join(f.id for f in report.fixes) or 'none'}"
        )
    out: list[tuple[int, dict, dict]] = []
    drop = set(fix.params.get("rows", ()))
    if report.format == CHAT or drop:
        for record in read_records(path):
            if record.line in drop:
                out.append((record.line, record.data or _bad(record), {}))
                if len(out) >= limit:
                    break
        return out
    if fix_id in ("lowercase_columns", "drop_extra_columns"):  # column fixes: the raw record, then as written
        for record in read_records(path):
            if len(out) >= limit:
                break
            if record.data is not None:
                after = {
                    k.lower(): v for k, v in record.data.items() if str(k).lower() in ("prompt", "completion")
                }
                if fix_id == "lowercase_columns":
                    extra = {
                        k: v for k, v in record.data.items() if str(k).lower() not in ("prompt", "completion")
                    }
                    after = {**after, **extra}
                out.append((record.line, record.data, after))
        return out
    before = build_table(read_records(path), report)
    after = apply_table_fixes(
        Table(list(before.rows), list(before.prompts), list(before.completions)), report, {fix_id}
    )
    for r, p, c, p2, c2 in zip(
        before.rows, before.prompts, before.completions, after.prompts, after.completions, strict=True
    ):
        if (p, c) != (p2, c2):
            out.append((r, {"prompt": p, "completion": c}, {"prompt": p2, "completion": c2}))
            if len(out) >= limit:
                break
    return out


def _bad(record: Record) -> dict[str, Any]:
    return {"error": record.error, "raw": record.raw}


def convert(path: str | Path, to: str, out: str | Path | None = None) -> Path:
    """Write a copy of a dataset in the other format; returns the new file (NAME_chat.jsonl / NAME_prompt_completion.jsonl).

    prompt/completion → chat: a user message (the prompt) and an assistant message (the completion).
    chat → prompt/completion: the last assistant message is the completion; the messages before it become the
    prompt, one "role: content" line each (a lone user message is used as is).
    Bad lines are skipped (run `check` first to see them).
    """
    source = Path(path)
    if to not in (CHAT, PROMPT_COMPLETION):
        raise InputError(f"--to: expected chat or prompt-completion, got {to!r}")
    rows = (_converted(r.data, to) for r in read_records(source) if r.data is not None)
    target = Path(out) if out else output_names(source, [""], tag=f"_{to}")[0]
    return write_jsonl(target, (r for r in rows if r is not None))


def _converted(data: dict, to: str) -> dict | None:
    if to == CHAT:
        if "messages" in data:
            return data
        lowered = {str(k).lower(): v for k, v in data.items()}
        prompt, completion = lowered.get("prompt"), lowered.get("completion")
        if completion is None:
            return None
        messages = [{"role": "user", "content": str(prompt)}] if prompt not in (None, "") else []
        return {"messages": messages + [{"role": "assistant", "content": str(completion)}]}
    messages = data.get("messages")
    if not isinstance(messages, list):
        return data if "prompt" in data else None
    last = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
        default=None,
    )
    if last is None:
        return None
    before = [m for m in messages[:last] if isinstance(m, dict)]
    if len(before) == 1 and before[0].get("role") == "user":
        prompt = str(before[0].get("content", ""))
    else:
        prompt = "\n".join(f"{m.get('role')}: {m.get('content', '')}" for m in before)
    return {"prompt": prompt, "completion": str(messages[last].get("content", ""))}
