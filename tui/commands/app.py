"""`gptbench` with no subcommand: the workbench app."""

from __future__ import annotations

import argparse
import sys


def run_app(args: argparse.Namespace) -> int:
    print(
        "gptbench: the workbench app is not built yet (issue 3); try `gptbench chat --help`.", file=sys.stderr
    )
    return 2
