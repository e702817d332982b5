"""The `gptbench` command line: opens the app, or runs one subcommand.

Kept light: `--version` and `--help` import nothing heavy; each subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gptbench.core import __version__

if TYPE_CHECKING:
    import argparse

EPILOG = """examples:
  gptbench                                   open the workbench
  gptbench chat "Name three prime numbers"   ask the default local model
  echo "Hello" | gptbench chat --backend openai --model gpt-4o-mini
  gptbench serve --port 8000                 share the local model over an OpenAI-compatible API
"""


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand's parser (imported here: opening the app needs none of them)."""
    import argparse

    from .commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="gptbench",
        description="A keyboard-driven terminal workbench for GPT models: chat, tokens, datasets, fine-tuning.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"gptbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # the fast path: no parser, no imports
        print(f"gptbench {__version__}")
        return 0
    from gptbench.core.errors import GptbenchError

    try:
        if not argv:  # the app: no need to build every subcommand's parser on the way to the first frame
            from .commands.app import run_app

            return run_app()
        args = build_parser().parse_args(argv)
        return args.run(args)
    except GptbenchError as exc:
        print(f"gptbench: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gptbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
