"""Path completion for the Dataset pane's file input: the first folder entry that extends what was typed."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first (sorted) entry of the typed path's folder that starts with the typed name.

    Folders get a trailing "/" so accepting the suggestion (→ or End) and typing on walks down the tree.
    Hidden entries are offered only once a "." is typed. Uncached: the file system changes under us.
    """

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, _, stem = expanded.rpartition(os.sep)
        base = Path(folder or ("/" if expanded.startswith(os.sep) else "."))
        try:
            names = sorted(os.listdir(base))
        except OSError:
            return None
        for name in names:
            if not name.startswith(stem) or (name.startswith(".") and not stem.startswith(".")):
                continue
            is_dir = (base / name).is_dir()
            if name == stem and not is_dir:
                continue
            return value + name[len(stem) :] + (os.sep if is_dir else "")
        return None
