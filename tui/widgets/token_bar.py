"""ContextBar: how much of a model's context window a prompt and its reply budget take, on one line."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class ContextBar(Static):
    """`████▒▒░░░░ 1,234 + 256 / 8,192 (18.2%)` — prompt (█), reserved reply (▒), free (░); red when over."""

    DEFAULT_CSS = """
    ContextBar { height: 1; }
    ContextBar.-over { color: $error; }
    """

    def show(self, prompt: int, reserve: int, window: int | None, label: str = "") -> None:
        text = Text(f"{label} " if label else "")
        if not window:
            text.append(f"{prompt:,} + {reserve:,} tokens (context window unknown)")
            self.set_class(False, "-over")
            self.update(text, layout=False)
            return
        used = prompt + reserve
        suffix = f" {prompt:,} + {reserve:,} / {window:,} ({used / window:.1%})"
        if used > window:
            suffix += f" over by {used - window:,}"
        room = self.content_size.width - len(text) - len(suffix)
        width = max(4, min(40, room)) if self.content_size.width else 20
        full = min(width, round(width * prompt / window))
        part = min(width - full, round(width * reserve / window))
        text.append("█" * full, style="bold")
        text.append("▒" * part)
        text.append("░" * (width - full - part), style="dim")
        text.append(suffix, style="bold" if used > window else "")
        self.set_class(used > window, "-over")
        self.update(text, layout=False)
