"""TokenArea: a TextArea whose visible lines show their tokens in alternating colours.

Only the lines Textual asks to render are coloured (`get_line`), from the latest counting snapshot, so a
50,000-token text costs no more to colour than the screen shows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from gptbench.core.tokens.live import Snapshot, tokens_in_range
from rich.text import Text
from textual.widgets import TextArea

#: Lines longer than this are shown uncoloured (a pasted minified file must not cost a full scan per frame).
MAX_COLOURED_LINE = 10_000


class TokenArea(TextArea):
    COMPONENT_CLASSES = {"token-area--even", "token-area--odd"}
    DEFAULT_CSS = """
    TokenArea > .token-area--even { background: $primary 22%; }
    TokenArea > .token-area--odd { background: $accent 22%; }
    """

    def __init__(self, *args: Any, on_edit: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Called right after each edit, inside the key handler: counting inline there puts the new count on
        #: screen in the same frame as the keystroke (TextArea.Changed arrives a message later, often after a
        #: full repaint of the editor).
        self.on_edit = on_edit
        #: Bumped on every edit; a snapshot colours the text only if it was made for the current version.
        self.version = 0
        self.snapshot: Snapshot | None = None
        self.snapshot_version = -1
        self.tokenizer: Any = None
        self._line_starts: list[int] = []
        self._coloured: dict[int, Text] = {}

    def show_tokens(self, snapshot: Snapshot, version: int, tokenizer: Any) -> None:
        """Colour tokens from `snapshot` (made for text version `version`) and redraw the visible lines."""
        self.snapshot, self.snapshot_version, self.tokenizer = snapshot, version, tokenizer
        self._line_starts = []
        self._coloured = {}
        self._line_cache.clear()  # the render cache key does not know about token colours
        self.refresh()

    def line_start(self, line_index: int) -> int:
        """Character offset of a line in the snapshot's text."""
        if not self._line_starts and self.snapshot is not None:
            lengths = (len(line) + 1 for line in self.snapshot.text.split("\n"))
            self._line_starts = [0, *itertools.accumulate(lengths)]
        return self._line_starts[line_index] if line_index < len(self._line_starts) else 0

    def line_tokens(self, line_index: int) -> list[tuple[int, int, int, int]]:
        """(start, end, token index, id) of the tokens on a line, columns relative to the line."""
        if self.snapshot is None or self.snapshot_version != self.version:
            return []
        start = self.line_start(line_index)
        end = start + len(self.document.get_line(line_index))
        return [
            (s - start, e - start, n, i)
            for s, e, n, i in tokens_in_range(self.snapshot, self.tokenizer, start, end)
        ]

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        if (
            self.snapshot is None
            or self.snapshot_version != self.version
            or len(line) > MAX_COLOURED_LINE
            # one huge piece (the local model's tokenizer sees the text whole): placing its colours would decode
            # every token of the text on the UI thread
            or len(self.snapshot.pieces[0] if self.snapshot.pieces else "") > MAX_COLOURED_LINE * 2
        ):
            return line
        coloured = self._coloured.get(line_index)
        if coloured is None:
            even = self.get_component_rich_style("token-area--even", partial=True)
            odd = self.get_component_rich_style("token-area--odd", partial=True)
            for start, end, index, _ in self.line_tokens(line_index):
                line.stylize(odd if index % 2 else even, start, end)
            coloured = self._coloured[line_index] = line
        return coloured.copy()

    def edit(self, *args: Any, **kwargs: Any) -> Any:
        self.version += 1
        result = super().edit(*args, **kwargs)
        if self.on_edit is not None:
            self.on_edit()
        return result

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Undo and redo change the text without `edit`: count them as a new version too (then the pane's
        Changed handler, which sees this message next, counts it)."""
        if (
            self.snapshot is not None
            and self.snapshot_version == self.version
            and self.text != self.snapshot.text
        ):
            self.version += 1

    def load_text(self, text: str) -> None:
        self.version += 1
        super().load_text(text)
