"""`gptbench data check|prepare|convert`: validate and prepare fine-tuning data from the command line."""

from __future__ import annotations

import argparse
import sys

CHECK_EPILOG = """examples:
  gptbench data check train.jsonl
  gptbench data check reviews.csv --model gpt-4o-mini
  gptbench data check big.jsonl --json > report.json

exit status: 1 when errors block fine-tuning (or the file cannot be read), 0 otherwise.
formats: .jsonl .json .csv .tsv .xlsx .txt .parquet; prompt/completion or chat (`messages`) data."""

PREPARE_EPILOG = """examples:
  gptbench data prepare reviews.csv              ask about each recommended fix
  gptbench data prepare reviews.csv -q --split   accept all, split into train/valid
  gptbench data prepare chat.jsonl -q --model gpt-4o-mini

Writes NAME_prepared.jsonl (or NAME_prepared_train.jsonl and NAME_prepared_valid.jsonl) next to the file,
adding " (1)", " (2)"... when taken; the source file is never changed."""

CONVERT_EPILOG = """examples:
  gptbench data convert pairs.jsonl --to chat              -> pairs_chat.jsonl
  gptbench data convert chat.jsonl --to prompt-completion  -> chat_prompt_completion.jsonl"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="check, prepare and convert fine-tuning data",
        description="Check, prepare and convert fine-tuning datasets (prompt/completion or chat messages).",
        epilog="examples:\n  gptbench data check train.jsonl\n  gptbench data prepare train.csv -q",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])
    data_sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    c = data_sub.add_parser(
        "check",
        help="report every problem in a dataset",
        description="Check a dataset the way the legacy `openai tools fine_tunes.prepare_data` and the OpenAI "
        "cookbook do, with token-exact limits for the target model, statistics and cost.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("file", help="the dataset file")
    c.add_argument(
        "--model",
        "-m",
        help="target model: an OpenAI model or hf:<folder> for a local one (default: gpt-3.5-turbo for chat, davinci-002 otherwise)",
    )
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument(
        "--workers", type=int, default=None, help="processes for big chat files (default: all cores)"
    )
    c.set_defaults(run=run_check)

    pr = data_sub.add_parser(
        "prepare",
        help="apply fixes and write a prepared JSONL file",
        description="Check a dataset, then apply the necessary fixes and the recommended ones you accept "
        "(y/n for each, or -q for all), optionally split into training and validation, and write a new file.",
        epilog=PREPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pr.add_argument("file", help="the dataset file")
    pr.add_argument("-q", "--quiet", action="store_true", help="accept every recommended fix without asking")
    pr.add_argument(
        "--split",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="split into training and validation files (default: ask for classification data)",
    )
    pr.add_argument("--stratify", action="store_true", help="split each class in the same proportion")
    pr.add_argument(
        "--model",
        "-m",
        help="target model: an OpenAI model or hf:<folder> for a local one (default: gpt-3.5-turbo for chat, davinci-002 otherwise)",
    )
    pr.add_argument("--seed", type=int, default=42, help="seed of the split (default 42, as the legacy tool)")
    pr.set_defaults(run=run_prepare)

    cv = data_sub.add_parser(
        "convert",
        help="convert prompt/completion data to chat messages or back",
        description="Write a copy of a dataset in the other format (the source is never changed).",
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cv.add_argument("file", help="the dataset file")
    cv.add_argument("--to", required=True, choices=("chat", "prompt-completion"), help="the target format")
    cv.add_argument(
        "-o", "--output", help="output file (default: NAME_chat.jsonl / NAME_prompt_completion.jsonl)"
    )
    cv.set_defaults(run=run_convert)


def _progress():  # noqa: ANN202 - a progress callback, or None when stderr is not a terminal
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total:
            sys.stderr.write(f"\rchecking… {100 * done // total:3d}%")
            sys.stderr.flush()

    return show


def _check(args: argparse.Namespace):  # noqa: ANN202 - a Report
    from gptbench.core.datasets import check_file

    progress = _progress()
    try:
        return check_file(args.file, args.model, progress=progress, workers=getattr(args, "workers", None))
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")


def run_check(args: argparse.Namespace) -> int:
    import json

    from gptbench.core.datasets.text import format_report

    report = _check(args)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_report(report))
    return 1 if report.blocking else 0


def _ask(question: str, quiet: bool) -> bool:
    """The legacy tool's [Y/n] prompt: Enter or y accepts; -q accepts without asking; closed stdin declines."""
    if quiet:
        print(f"{question} [Y/n]: Y")
        return True
    try:
        answer = input(f"{question} [Y/n]: ").strip().lower()
    except EOFError:
        print("\n(no answer: stdin is closed; use -q to accept every recommendation)")
        return False
    return answer in ("", "y", "yes")


def run_prepare(args: argparse.Namespace) -> int:
    from gptbench.core.datasets import apply_fixes
    from gptbench.core.datasets.checks_legacy import CLASSIFICATION
    from gptbench.core.datasets.fixes import unfixable_errors
    from gptbench.core.datasets.text import format_report

    report = _check(args)
    print(format_report(report))
    stuck = unfixable_errors(report)
    if stuck:
        print(f"\nCannot prepare {report.path.name}: {stuck[0].message}", file=sys.stderr)
        return 1
    print("\nBased on the analysis, these actions will be taken:")
    accepted: set[str] = set()
    for fix in report.fixes:
        if fix.necessary:
            print(f"- [Necessary] {fix.title}")
            accepted.add(fix.id)
    for fix in report.fixes:
        if not fix.necessary and _ask(f"- [Recommended] {fix.title}", args.quiet):
            accepted.add(fix.id)
    split = args.split
    if split is None:
        split = report.task_type == CLASSIFICATION and _ask(
            "- [Recommended] Split into training and validation sets?", args.quiet
        )
    changes = any(report.fix(f) for f in accepted) or split
    if changes and not _ask("\nYour data will be written to a new JSONL file. Proceed?", args.quiet):
        print("Aborting: nothing written.")
        return 1
    result = apply_fixes(args.file, report, accepted, split=split, stratify=args.stratify, seed=args.seed)
    print()
    print(result.next_steps)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from gptbench.core.datasets import convert

    target = "chat" if args.to == "chat" else "prompt_completion"
    path = convert(args.file, target, args.output)
    print(f"Wrote {path}")
    return 0
