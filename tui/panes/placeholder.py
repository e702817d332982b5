"""The honest stand-in for a pane that is not built yet: it says what will come, and nothing else."""

from __future__ import annotations

from textual.containers import VerticalScroll


class ComingSoon(VerticalScroll):
    """A scrollable note naming what the pane will do once it is built."""

    DEFAULT_CSS = """
    ComingSoon { padding: 1 2; }
    """

    def __init__(self, title: str, plan: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = f"## {title} — coming\n\nThis pane is not built yet. What it will do:\n\n{plan}"

    def compose(self):
        from textual.widgets import Markdown  # markdown-it is not needed for the first frame

        yield Markdown(self._text)
