"""`gptbench models`: list the models a backend offers."""

from __future__ import annotations

import argparse

from .chat import add_backend_flags


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the models a backend offers",
        description="List the models the chosen backend can run (local: the default and cached models).",
        epilog="examples:\n  gptbench models\n  gptbench models --backend openai --base-url http://127.0.0.1:8000/v1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_backend_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from gptbench.core.backends import make_backend
    from gptbench.core.config import load_settings

    backend = make_backend(load_settings(), args.backend, args.model, args.base_url)

    async def show() -> None:
        try:
            for info in await backend.list_models():
                window = f"  context {info.context_window}" if info.context_window else ""
                print(f"{info.id}{'  (' + info.owned_by + ')' if info.owned_by else ''}{window}")
        finally:
            await backend.aclose()

    asyncio.run(show())
    return 0
