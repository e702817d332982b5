"""A table over any number of rows that renders only the rows on screen (Textual's line API).

The rows come from a `RowSource`: something with a length (which may grow while a file is being indexed) and
a way to render one row as Rich `Text`. Widgets per row would cost seconds and hundreds of MB for a million rows;
here a frame costs one `render_row` call per visible line, cached per (row, width).
"""

from __future__ import annotations

import time
from typing import Protocol

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


class RowSource(Protocol):
    """What a VirtualTable shows: `len()` rows (may grow), each rendered on demand."""

    def __len__(self) -> int: ...

    def render_row(self, position: int) -> Text: ...


class VirtualTable(ScrollView, can_focus=True):
    """Rows of a `RowSource` with a cursor; only the visible rows are ever rendered."""

    COMPONENT_CLASSES = {"virtual-table--cursor", "virtual-table--empty"}

    DEFAULT_CSS = """
    VirtualTable { overflow-x: hidden; overflow-y: auto; height: 1fr; }
    VirtualTable > .virtual-table--cursor { background: $surface-lighten-2; text-style: bold; }
    VirtualTable:focus > .virtual-table--cursor { background: $accent 60%; text-style: bold; }
    VirtualTable > .virtual-table--empty { color: $text-muted; text-style: italic; }
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="virtual_table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="virtual_table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="virtual_table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="virtual_table.page_down"),
        Binding("home,g", "first", "First row", show=False, id="virtual_table.first"),
        Binding("end,G", "last", "Last row", show=False, id="virtual_table.last"),
        Binding("enter", "select", "Open row", show=False, id="virtual_table.select"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class CursorMoved(Message):
        """The cursor is on another row."""

        def __init__(self, table: VirtualTable, position: int) -> None:
            super().__init__()
            self.table = table
            self.position = position

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(CursorMoved):
        """Enter (or a click) on a row."""

    def __init__(
        self,
        source: RowSource | None = None,
        *,
        empty_text: str = "No rows.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.source: RowSource = source if source is not None else []  # type: ignore[assignment]
        self.empty_text = empty_text
        self._count = 0
        self._cache: LRUCache[tuple[int, int], Strip] = LRUCache(1024)
        #: perf_counter() of the first frame that painted a row of the current source, and (position, time) of
        #: the last row painted: what benchmarks and tests time (one assignment per painted line).
        self.first_row_painted_at: float | None = None
        self.last_row_painted: tuple[int, float] | None = None

    def on_mount(self) -> None:
        self.refresh_count()

    # -- data ----------------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return self._count

    def set_source(self, source: RowSource, *, empty_text: str | None = None, cursor: int = 0) -> None:
        """Show other rows (a new file, or a filtered view) and put the cursor on `cursor`."""
        self.source = source
        if empty_text is not None:
            self.empty_text = empty_text
        self._cache.clear()
        self._count = -1
        self.first_row_painted_at = None
        self.refresh_count()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.cursor = min(cursor, max(0, self._count - 1))
        self.refresh()

    def refresh_count(self) -> None:
        """Pick up rows the source gained (e.g. while a file is being indexed)."""
        count = len(self.source)
        if count == self._count:
            return
        old, self._count = self._count, count
        self.virtual_size = Size(0, count)
        if old < self.scroll_offset.y + self.size.height:  # new rows may be on screen
            self.refresh()

    def invalidate(self) -> None:
        """Forget rendered rows (the source renders differently now)."""
        self._cache.clear()
        self.refresh()

    # -- rendering -----------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        position = self.scroll_offset.y + y
        width = self.size.width
        base = self.rich_style
        if position >= self._count:
            if position == 0:
                empty = Text(self.empty_text, style=self.get_component_rich_style("virtual-table--empty"))
                return Strip(list(empty.render(self.app.console))).crop_extend(0, width, base)
            return Strip.blank(width, base)
        strip = self._cache.get((position, width))
        if strip is None:
            try:
                text = self.source.render_row(position)
            except Exception as exc:  # one broken row must not take the app down
                text = Text(f"cannot show row {position + 1}: {type(exc).__name__}: {exc}", style="red")
            text.no_wrap = True
            segments = Segment.apply_style(text.render(self.app.console), base)
            strip = Strip(segments).crop_extend(0, width, base)
            self._cache[(position, width)] = strip
        now = time.perf_counter()
        if self.first_row_painted_at is None:
            self.first_row_painted_at = now
        self.last_row_painted = (position, now)
        if position == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("virtual-table--cursor"))
        return strip.apply_offsets(0, position)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # -- cursor --------------------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self._count - 1)) if self._count > 0 else 0

    def watch_cursor(self, old: int, new: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height or self.size.height
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh_line(old)
        self.refresh_line(new)
        if self._count:
            self.post_message(self.CursorMoved(self, new))

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self._count - 1

    def action_select(self) -> None:
        if self._count:
            self.post_message(self.Selected(self, self.cursor))

    def on_click(self, event: Click) -> None:
        position = self.scroll_offset.y + event.y
        if 0 <= position < self._count:
            self.cursor = position
            if event.chain > 1:
                self.post_message(self.Selected(self, position))
