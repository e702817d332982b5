"""`gptbench config path|show`: where the settings live and what they resolve to."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="show where the config file is and what the settings resolve to",
        description="Show the config file's location (TOML) and the resolved settings (secrets hidden).",
        epilog="example:\n  gptbench config path\n  gptbench config show",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action", choices=["path", "show"], help="path: print the config file path; show: the settings"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gptbench.core.config import cache_dir, config_path, data_dir, load_settings

    if args.action == "path":
        print(config_path())
        return 0
    s = load_settings()
    print(f"config file : {config_path()} ({'found' if s.source else 'not present'})")
    print(f"data dir    : {data_dir()}")
    print(f"cache dir   : {cache_dir()}")
    print(f"backend     : {s.backend}")
    print(f"model       : {s.default_model}")
    print(f"params      : {s.params.to_dict()}")
    print(
        f"openai      : base_url={s.openai.base_url or '(default)'} api_key={'set' if s.openai.api_key else 'not set'}"
    )
    print(f"local       : device={s.local.device} dtype={s.local.dtype} engine={s.local.engine}")
    return 0
