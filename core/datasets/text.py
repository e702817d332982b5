"""A report as plain text a person can act on: verdict first, issues grouped by severity, numbers, fixes."""

from __future__ import annotations

from .report import Report, Stats

_MARK = {"error": "✗", "warning": "!", "info": "·"}
_HEADING = {
    "error": "Errors (these block fine-tuning)",
    "warning": "Warnings",
    "info": "Notes",
}
_DIST_ORDER = (
    "messages_per_example",
    "prompt_tokens",
    "completion_tokens",
    "tokens_per_example",
    "assistant_tokens_per_example",
)


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def verdict(report: Report) -> str:
    errors = sum(1 for i in report.issues if i.severity == "error")
    warnings = sum(1 for i in report.issues if i.severity == "warning")
    if errors:
        from .fixes import unfixable_errors

        how = (
            "fix the file and check again"
            if unfixable_errors(report)
            else "`gptbench data prepare` can remove them"
        )
        return f"BLOCKED: {errors} error(s), {warnings} warning(s) — {how}"
    if warnings:
        return f"OK with {warnings} warning(s) — `gptbench data prepare` offers fixes"
    return "OK — ready to fine-tune"


def training_lines(stats: Stats, model: str) -> list[str]:
    """Epochs, trained tokens and cost, as the report and the next steps print them."""
    lines = [
        f"Training: {stats.n_examples:,} examples × {stats.n_epochs} epoch{'' if stats.n_epochs == 1 else 's'} "
        "(OpenAI's default) = "
        f"{stats.trained_tokens:,} trained tokens ({stats.billed_tokens:,} per epoch, each example capped at "
        f"{stats.token_limit:,})."
    ]
    if stats.estimated_cost is not None:
        lines.append(f"Estimated cost on {model}: ${stats.estimated_cost:,.2f} ({stats.cost_note}).")
    else:
        lines.append(f"Estimated cost: unknown — {stats.cost_note}; tokens and epochs above.")
    return lines


def format_report(report: Report) -> str:
    """The `gptbench data check` output."""
    stats = report.stats
    task = "chat" if report.format == "chat" else f"prompt/completion, {report.task_type}"
    lines = [
        f"{report.path.name}: {task}; {report.n_records:,} records read, {stats.n_examples:,} usable examples "
        f"({report.seconds:.2f} s)",
        f"Model {report.model}: examples up to {stats.token_limit:,} tokens"
        if stats.token_limit
        else f"Model {report.model}",
        "",
        verdict(report),
    ]
    for note in report.notes:
        lines.append(f"  note: {note}")
    for severity in ("error", "warning", "info"):
        group = [i for i in report.issues if i.severity == severity]
        if not group:
            continue
        lines += ["", _HEADING[severity]]
        for issue in group:
            fix = f"  [fix: {issue.fix_id}]" if issue.fix_id else ""
            lines.append(f"  {_MARK[severity]} {issue.check}: {issue.message}{fix}")
    if stats.distributions:
        lines += ["", "Statistics (exact; p10/p90 = 10th/90th percentile)"]
        width = max(len(d.name) for d in stats.distributions.values())
        for key in _DIST_ORDER:
            d = stats.distributions.get(key)
            if d is None or not d.count:
                continue
            lines.append(
                f"  {d.name:<{width}}  min {_num(d.min)}  max {_num(d.max)}  mean {_num(d.mean)}  "
                f"median {_num(d.median)}  p10 {_num(d.p10)}  p90 {_num(d.p90)}"
            )
    if stats.class_counts:
        shown = ", ".join(f"{label!r} {n:,}" for label, n in list(stats.class_counts.items())[:12])
        more = f" … (+{len(stats.class_counts) - 12} classes)" if len(stats.class_counts) > 12 else ""
        lines.append(f"  classes: {shown}{more}")
    if stats.n_examples:
        lines.append(
            f"  over the {stats.token_limit:,}-token limit (truncated in training): {stats.n_over_limit:,}"
        )
        lines += ["  " + line for line in training_lines(stats, report.model)]
    if report.stop_sequence:
        lines.append(f"  stop sequence: {report.stop_sequence!r}")
    if report.fixes:
        lines += [
            "",
            "Fixes (`gptbench data prepare` applies them to a new file; the source is never changed)",
        ]
        for fix in report.fixes:
            kind = "necessary" if fix.necessary else "recommended"
            lines.append(f"  [{kind}] {fix.id}: {fix.title}")
    return "\n".join(lines)
