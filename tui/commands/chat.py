"""`gptbench chat "…"`: stream one reply to stdout (the prompt can come from a pipe)."""

from __future__ import annotations

import argparse
import sys

from .params_args import add_param_flags, params_from_args

EPILOG = """examples:
  gptbench chat "What is the capital of France?"
  gptbench chat --system "Answer in French." --temperature 0.2 "Hello"
  cat question.txt | gptbench chat --backend openai --model gpt-4o-mini
  gptbench chat --completion --stop "\\n" --max-tokens 1 --logprobs 5 "Great movie! ->"
"""


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend")
    group.add_argument(
        "--backend", choices=["local", "openai"], help="where the model runs (default: config)"
    )
    group.add_argument(
        "--model", help="model: 'smollm2', a Hugging Face id or folder, or an OpenAI model name"
    )
    group.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chat",
        help="ask a model and stream the reply to stdout",
        description="Send one prompt (argument or stdin) to a model and stream the reply to stdout.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prompt", nargs="?", help="the user message; read from stdin when omitted or '-'")
    p.add_argument("--system", help="system prompt")
    p.add_argument("--completion", action="store_true", help="raw text completion (base / legacy models)")
    p.add_argument("--stats", action="store_true", help="print usage and timings to stderr at the end")
    add_backend_flags(p)
    add_param_flags(p)
    p.set_defaults(run=run)


def read_prompt(value: str | None) -> str:
    from gptbench.core.errors import InputError

    if value is None or value == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("no prompt: pass it as an argument or pipe it on stdin")
        value = sys.stdin.read()
    if not value.strip():
        raise InputError("the prompt is empty")
    return value


def run(args: argparse.Namespace) -> int:
    import asyncio

    from gptbench.core.backends import make_backend
    from gptbench.core.chat import Message
    from gptbench.core.config import load_settings

    settings = load_settings()
    params = params_from_args(args, settings.params)
    prompt = read_prompt(args.prompt)
    backend = make_backend(settings, args.backend, args.model, args.base_url)
    if args.completion:
        stream = backend.stream_completion(prompt, params)
    else:
        messages = ([Message("system", args.system)] if args.system else []) + [Message("user", prompt)]
        stream = backend.stream_chat(messages, params)
    return asyncio.run(_print_stream(backend, stream, args.stats, params.logprobs is not None))


async def _print_stream(backend, stream, stats: bool, show_logprobs: bool) -> int:
    from gptbench.core.backends.base import Delta, Finish

    out = sys.stdout
    last_index = 0
    try:
        async for event in stream:
            if isinstance(event, Delta):
                if event.index != last_index:
                    out.write(f"\n\n--- reply {event.index + 1} ---\n")
                    last_index = event.index
                out.write(event.text)
                out.flush()
                if show_logprobs:
                    for lp in event.logprobs:
                        alts = "  ".join(f"{t!r}:{p:.3f}" for t, p in lp.top)
                        print(f"\n  [{lp.token!r} {lp.logprob:.3f}] {alts}", file=sys.stderr)
            elif isinstance(event, Finish):
                out.write("\n")
                if stats:
                    u = event.usage
                    print(
                        f"[{event.model}] finish={','.join(event.finish_reasons)} ↑{u.prompt_tokens} "
                        f"↓{u.completion_tokens} ttft={event.time_to_first_token:.2f}s "
                        f"{event.tokens_per_second:.1f} tok/s elapsed={event.elapsed:.2f}s",
                        file=sys.stderr,
                    )
    finally:
        await backend.aclose()
    return 0
