"""What a reader yields: one record per source line or row, good or bad, always with its line number."""

from __future__ import annotations

from dataclasses import dataclass

#: Formats a record can belong to.
PROMPT_COMPLETION = "prompt_completion"
CHAT = "chat"


@dataclass(slots=True)
class Record:
    """One source line/row.

    `line` is what a person sees in an editor or spreadsheet: the 1-based line of a JSONL/TXT file, the row of a
    CSV/TSV/XLSX sheet (the header is row 1, so data starts at 2), the 1-based element number of a JSON array
    (its error messages also name the line), or the 1-based row of a Parquet file. `data` is the parsed object (None when the line is bad), `raw` the
    text of a bad line (cut to 200 characters) and `error` a one-line reason. `kind` classifies the error:
    "encoding", "json", "type", "too_long", "ragged" or None.
    """

    line: int
    data: dict | None
    raw: str | None = None
    error: str | None = None
    kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.data is not None


def record_format(data: dict) -> str | None:
    """Which format one object looks like: chat (has `messages`), prompt/completion, or neither."""
    if "messages" in data:
        return CHAT
    keys = {str(k).lower() for k in data}
    if "prompt" in keys or "completion" in keys:
        return PROMPT_COMPLETION
    return None
