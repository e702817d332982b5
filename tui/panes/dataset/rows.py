"""Where the Dataset pane's rows come from, and how one record is drawn on one line.

`IndexedRows` reads JSONL through a `LineIndex`, so opening a million-line file parses only the rows on screen.
The other formats (CSV, XLSX, Parquet, JSON arrays…), read by the engine's `read_records` in a worker, are
spilled to a scratch JSONL file and read back the same way (`SpilledRows` in spill.py); `LoadedRows`, which holds
their records in memory, is the fallback when the cache dir cannot be written. `FilteredRows` is a view of chosen positions of either. All three are `RowSource`s
for the VirtualTable; "position" is the index in the table, "row" the source line/row number a user sees.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from gptbench.core.datasets.line_index import LineIndex
from gptbench.core.datasets.readers import parse_json_line
from gptbench.core.datasets.records import Record
from rich.text import Text

#: Lines longer than this are not parsed for the table (a 2 GB line must not stall a frame).
PREVIEW_PARSE_LIMIT = 1 << 20
#: Lines longer than this are not parsed at all (the engine skips them too).
DETAIL_PARSE_LIMIT = 32 << 20
SNIPPET = 48
NUMBER_WIDTH = 7
MARKS = {"error": ("✖", "bold red"), "warning": ("▲", "yellow"), "info": ("•", "cyan")}


def _flat(value: Any, limit: int) -> str:
    """A one-line, shortened text of any field value."""
    if isinstance(value, list):  # multimodal content: the text parts
        value = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in value)
    text = " ".join(str(value).split()) if value is not None else "∅"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(data: dict) -> Text:
    """A compact one-line picture of a record: roles and openings for chat, both fields for prompt/completion."""
    text = Text()
    messages = data.get("messages")
    if isinstance(messages, list):
        for i, message in enumerate(messages):
            if i:
                text.append(" │ ", style="dim")
            if isinstance(message, dict):
                role = str(message.get("role", "?"))
                text.append(f"{role}: ", style="bold magenta" if role == "assistant" else "bold")
                text.append(_flat(message.get("content"), SNIPPET // 2 if role == "system" else SNIPPET))
            else:
                text.append(_flat(message, SNIPPET), style="red")
        if not messages:
            text.append("messages: []", style="red")
        return text
    keys = {str(k).lower(): k for k in data}
    if "prompt" in keys or "completion" in keys:
        for i, name in enumerate(("prompt", "completion")):
            if i:
                text.append(" → ", style="dim")
            text.append(f"{name}: ", style="bold")
            if name in keys:  # repr, not flattened: leading spaces and endings matter in this format
                value = data[keys[name]]
                value = value if isinstance(value, str) else _flat(value, SNIPPET)
                text.append(repr(value if len(value) <= SNIPPET else value[: SNIPPET - 1] + "…"))
            else:
                text.append("missing", style="red")
        return text
    for i, (key, value) in enumerate(data.items()):
        if i:
            text.append("  ")
        text.append(f"{key}: ", style="bold")
        text.append(_flat(value, SNIPPET))
    return text


def render_record(record: Record, mark: str | None) -> Text:
    """The table line of one record: its line number, an issue mark, and its summary or its error."""
    text = Text(f"{record.line:>{NUMBER_WIDTH}} ", style="dim")
    glyph, style = MARKS.get(mark or "", (" ", ""))
    text.append(f"{glyph} ", style=style)
    if record.data is not None:
        text.append_text(summarize(record.data))
    else:
        text.append(record.error or "unreadable", style="red")
        if record.raw:
            text.append("  " + _flat(record.raw, SNIPPET * 2), style="dim")
    return text


class _Rows:
    """What every source shares: issue marks per row number."""

    def __init__(self) -> None:
        self.marks: dict[int, str] = {}

    def set_marks(self, marks: dict[int, str]) -> None:
        self.marks = marks

    def __len__(self) -> int:
        raise NotImplementedError

    def record(self, position: int, *, full: bool = False) -> Record:
        raise NotImplementedError

    def row_number(self, position: int) -> int:
        raise NotImplementedError

    def render_row(self, position: int) -> Text:
        record = self.record(position)
        return render_record(record, self.marks.get(record.line))


class IndexedRows(_Rows):
    """JSONL rows straight from a LineIndex: row number = line number (1-based), parsed when drawn."""

    def __init__(self, index: LineIndex) -> None:
        super().__init__()
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def row_number(self, position: int) -> int:
        return position + 1

    def position_of(self, row: int) -> int | None:
        return row - 1 if 0 < row <= len(self.index) else None

    def record(self, position: int, *, full: bool = False) -> Record:
        number = position + 1
        limit = DETAIL_PARSE_LIMIT if full else PREVIEW_PARSE_LIMIT
        length = self.index.line_length(position)
        if length > limit:
            head = self.index.line(position, limit=200).decode("utf-8", "replace")
            return Record(
                number, None, head, f"line {number} is {length / 2**20:.1f} MB: too long to show", "too_long"
            )
        raw = self.index.line(position)
        if position == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        return parse_json_line(number, raw)


class LoadedRows(_Rows):
    """Records held in memory (non-JSONL formats); the list may grow while a worker reads the file."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []
        self._lines: list[int] = []

    def add(self, record: Record) -> None:
        self.records.append(record)
        self._lines.append(record.line)

    def __len__(self) -> int:
        return len(self._lines)

    def row_number(self, position: int) -> int:
        return self._lines[position]

    def position_of(self, row: int) -> int | None:
        position = bisect_left(self._lines, row)
        return position if position < len(self._lines) and self._lines[position] == row else None

    def record(self, position: int, *, full: bool = False) -> Record:
        return self.records[position]


class FilteredRows:
    """Chosen positions of a base source (an issue's rows, search hits), in order."""

    def __init__(self, base: _Rows, positions: list[int]) -> None:
        self.base = base
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    def base_position(self, position: int) -> int:
        return self.positions[position]

    def row_number(self, position: int) -> int:
        return self.base.row_number(self.positions[position])

    def record(self, position: int, *, full: bool = False) -> Record:
        return self.base.record(self.positions[position], full=full)

    def render_row(self, position: int) -> Text:
        return self.base.render_row(self.positions[position])
