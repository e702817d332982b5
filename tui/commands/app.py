"""`gptbench` with no subcommand: the workbench app."""

from __future__ import annotations


def run_app() -> int:
    """Open the workbench (settings errors are reported by the CLI as one line before any screen appears)."""
    from gptbench.core.config import load_settings

    settings = load_settings()
    from gptbench.tui.app import GptBenchApp

    app = GptBenchApp(settings)
    app.run()
    return app.return_code or 0
