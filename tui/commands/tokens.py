"""`gptbench tokens FILE|-`: exact token counts (and cost) of a text or JSONL file, streamed, for scripts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_ENCODING = "o200k_base"

EPILOG = """examples:
  gptbench tokens notes.txt                      count with o200k_base (gpt-4o, gpt-4.1, o-series)
  gptbench tokens notes.txt --model gpt-4o-mini  count, then cost and context use at the model's price
  gptbench tokens train.jsonl --model gpt-4o     per-line counts (chat lines in chat format) and a total
  cat prompt.txt | gptbench tokens - --encoding cl100k_base --json
  gptbench tokens README.md --model hf:./my-model   a local Hugging Face tokenizer

Invalid UTF-8 is refused (naming its byte offset and line) unless --errors replace counts it as U+FFFD.
Prices come from the built-in table (each with its date) or the [prices] section of the config.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tokens",
        help="count the tokens of a file (per line for JSONL) and its cost",
        description="Count tokens, characters, bytes and lines of a text file or stdin, offline and exactly "
        "as the model's tokenizer does; JSONL files get a count per line (chat `messages` lines in chat "
        "format). Big files are streamed, never loaded whole.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="a text or .jsonl file, or '-' for stdin")
    which = p.add_mutually_exclusive_group()
    which.add_argument("-m", "--model", help="an OpenAI model (gpt-4o-mini, ft:…) or hf:<folder-or-id>")
    which.add_argument(
        "-e",
        "--encoding",
        help=f"o200k_base, cl100k_base, p50k_base, p50k_edit or r50k_base (default: {DEFAULT_ENCODING})",
    )
    p.add_argument(
        "--jsonl", action="store_true", help="count per line even when FILE does not end in .jsonl"
    )
    p.add_argument(
        "--errors",
        choices=["strict", "replace"],
        default="strict",
        help="invalid UTF-8: refuse (strict, the default) or count it as U+FFFD (replace)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gptbench.core.errors import InputError
    from gptbench.core.tokens import get_tokenizer

    name = args.model or args.encoding or DEFAULT_ENCODING
    tokenizer = get_tokenizer(name)
    label = "<stdin>" if args.file == "-" else args.file
    jsonl = args.jsonl or args.file.lower().endswith(".jsonl")
    try:
        source = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{label}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot read ({exc.strerror})") from None
    header = {"file": label, "tokenizer": tokenizer.name, "model": args.model}
    with source:
        if jsonl:
            _jsonl(args, source, label, tokenizer, header)
        else:
            _text(args, source, label, tokenizer, header)
    return 0


def _pricing(model: str | None, tokens: int, context: bool = True) -> dict[str, Any]:
    """Cost and context use for --model (empty when the model has no price or window)."""
    if not model:
        return {}
    from gptbench.core.config import load_settings
    from gptbench.core.prices import price_for
    from gptbench.core.tokens import context_window

    out: dict[str, Any] = {}
    price = price_for(model, load_settings().prices)
    if price:
        out["cost_usd"] = round(price.cost(tokens), 8)
        out["price"] = {"input_per_1m": price.input, "as_of": price.as_of, "source": price.source}
    window = context_window(model) if context else None
    if window:
        out["context_window"] = window
    return out


def _text(args: argparse.Namespace, source: Any, label: str, tokenizer: Any, header: dict) -> None:
    from gptbench.core.tokens.files import count_stream

    c = count_stream(source, label, tokenizer, args.errors)
    _warn_invalid(label, c.invalid_utf8)
    result = header | {
        "tokens": c.tokens,
        "characters": c.characters,
        "bytes": c.bytes,
        "lines": c.lines,
    }
    if c.invalid_utf8:
        result["invalid_utf8"] = {"byte": c.invalid_utf8[0], "line": c.invalid_utf8[1]}
    if c.inexact_cuts:
        result["inexact_cuts"] = c.inexact_cuts
    result |= _pricing(args.model, c.tokens)
    if args.json:
        import json

        print(json.dumps(result))
        return
    print(f"{label}  ({tokenizer.name}{', ' + args.model if args.model else ''})")
    for key in ("tokens", "characters", "bytes", "lines"):
        print(f"  {key:<12}{result[key]:>14,}")
    if c.tokens:
        print(f"  {'chars/token':<12}{c.characters / c.tokens:>14.2f}")
        print(f"  {'bytes/token':<12}{c.bytes / c.tokens:>14.2f}")
    _print_pricing(result)


def _print_pricing(result: dict) -> None:
    if "cost_usd" in result:
        p = result["price"]
        print(
            f"  {'cost':<12}{'$' + format(result['cost_usd'], '.6f'):>14}  as input at "
            f"${p['input_per_1m']}/1M tokens ({p['source']} price as of {p['as_of']})"
        )
    if "context_window" in result:
        share = result["tokens"] / result["context_window"]
        print(f"  {'context':<12}{share:>13.1%}  of {result['context_window']:,} tokens")


def _warn_invalid(label: str, invalid: tuple[int, int] | None) -> None:
    if invalid:
        print(
            f"gptbench: warning: {label}:{invalid[1]}: invalid UTF-8 from byte {invalid[0]}, counted as U+FFFD",
            file=sys.stderr,
        )


def _jsonl(args: argparse.Namespace, source: Any, label: str, tokenizer: Any, header: dict) -> None:
    import json

    from gptbench.core.tokens.files import iter_jsonl

    lines = iter_jsonl(source, label, tokenizer, args.model, args.errors)
    total = records = 0
    if args.json:
        sys.stdout.write(json.dumps(header)[:-1] + ', "lines": [')
    else:
        print(f"{label}  ({tokenizer.name}{', ' + args.model if args.model else ''})")
        print(f"{'line':>8}  {'tokens':>8}  detail")
    for i, lc in enumerate(lines):
        total += lc.tokens
        records += lc.kind != "blank"
        if args.json:
            item = {"line": lc.line, "tokens": lc.tokens, "kind": lc.kind, "fields": lc.fields}
            sys.stdout.write(("" if i == 0 else ", ") + json.dumps(item))
        elif lc.kind != "blank":
            detail = "chat" if lc.kind == "chat" else " ".join(f"{k}={v}" for k, v in lc.fields.items())
            print(f"{lc.line:>8}  {lc.tokens:>8}  {detail}")
    result = {"tokens": total, "records": records} | _pricing(args.model, total, context=False)
    if args.json:
        sys.stdout.write("], " + json.dumps(result)[1:] + "\n")
        return
    print(f"{'total':>8}  {total:>8}  in {records:,} records")
    _print_pricing(result)
