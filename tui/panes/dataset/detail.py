"""The record detail view: every field of one record in full, each with its token count for the chosen model.

Counting needs the model's tokenizer (building o200k_base takes a moment the first time), so the text is shown at
once with "… tokens" and redrawn when a worker thread has counted.
"""

from __future__ import annotations

import json
from typing import Any

from gptbench.core.datasets.records import Record
from gptbench.core.datasets.report import Issue
from gptbench.core.errors import GptbenchError
from rich.text import Text
from textual import work
from textual.containers import VerticalScroll
from textual.widgets import Static

from .rows import MARKS

#: Fields longer than this are cut in the view (the count is still of the whole text).
SHOW_CHARS = 4000


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in value):
        return "".join(str(p.get("text", "")) for p in value)
    return json.dumps(value, ensure_ascii=False)


def record_fields(data: dict) -> list[tuple[str, str]]:
    """(label, text) of each field to show and count: one per chat message, else one per key."""
    messages = data.get("messages")
    if isinstance(messages, list):
        fields = []
        for i, message in enumerate(messages, 1):
            if isinstance(message, dict):
                role = message.get("role", "?")
                name = f" ({message['name']})" if message.get("name") else ""
                fields.append((f"{i}. {role}{name}", _text(message.get("content"))))
            else:
                fields.append((f"{i}. not a message", _text(message)))
        extra = [(k, _text(v)) for k, v in data.items() if k != "messages"]
        return fields + extra
    return [(str(k), _text(v)) for k, v in data.items()]


def count_fields(data: dict, model: str) -> tuple[list[int], int | None, str]:
    """Token counts of each field, the whole conversation's count (chat format overhead included) or None,
    and the tokenizer's name. Runs in a worker thread."""
    from gptbench.core.tokens import count_chat_tokens, get_tokenizer

    tokenizer = get_tokenizer(model)
    counts = tokenizer.count_batch([text for _, text in record_fields(data)])
    total = None
    messages = data.get("messages")
    if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
        try:
            total = count_chat_tokens(messages, tokenizer)
        except (GptbenchError, TypeError, ValueError):
            total = None
    return counts, total, tokenizer.name


def detail_text(
    record: Record,
    issues: list[Issue],
    model: str,
    counts: tuple[list[int], int | None, str] | str | None,
) -> Text:
    """The view's text. `counts` is None while counting, a message if counting failed, else count_fields()."""
    text = Text()
    text.append(f"Row {record.line}", style="bold")
    if isinstance(counts, tuple):
        per_field, total, encoding = counts
        summary = f"  ·  {model} ({encoding})  ·  {sum(per_field):,} tokens in fields"
        if total is not None:
            summary += f", {total:,} as a chat request"
        text.append(summary, style="dim")
    elif isinstance(counts, str):
        text.append(f"  ·  no token counts: {counts}", style="yellow")
    else:
        text.append(f"  ·  counting tokens for {model}…", style="dim")
    text.append("\n")
    for issue in issues:
        glyph, style = MARKS[issue.severity]
        text.append(f"{glyph} {issue.check}: {issue.message}\n", style=style)
    if record.data is None:
        text.append(record.error or "unreadable", style="red")
        if record.raw:
            text.append(f"\n{record.raw}", style="dim")
        return text
    for i, (label, value) in enumerate(record_fields(record.data)):
        text.append("\n")
        text.append(label, style="bold magenta" if "assistant" in label else "bold")
        if isinstance(counts, tuple):
            n = counts[0][i]
            text.append(f"  · {n:,} token{'s' if n != 1 else ''}", style="cyan")
        text.append("\n")
        shown = value if len(value) <= SHOW_CHARS else value[:SHOW_CHARS] + f"… ({len(value):,} characters)"
        text.append(shown or "(empty)", style="" if shown else "dim italic")
        text.append("\n")
    return text


class RecordDetail(VerticalScroll, can_focus=True):
    """One record in full with per-field token counts; `show` replaces it."""

    DEFAULT_CSS = """
    RecordDetail { height: 1fr; border-top: solid $primary; padding: 0 1; }
    RecordDetail > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static("", id="detail-body")
        self._key: tuple[int, str] | None = None

    def compose(self):
        yield self._body

    def show(self, record: Record, issues: list[Issue], model: str) -> None:
        """Show `record`, then count its tokens in a worker."""
        self._key = (record.line, model)
        self._body.update(detail_text(record, issues, model, None))
        self.scroll_home(animate=False)
        if record.data is not None:
            self._count(record, issues, model, self._key)

    @work(thread=True, exclusive=True, group="dataset-detail", exit_on_error=False)
    def _count(self, record: Record, issues: list[Issue], model: str, key: tuple[int, str]) -> None:
        try:
            counts: tuple[list[int], int | None, str] | str = count_fields(record.data or {}, model)
        except Exception as exc:  # an unknown model, a tokenizer that cannot load: said in the view
            counts = str(exc) if isinstance(exc, GptbenchError) else f"{type(exc).__name__}: {exc}"
        text = detail_text(record, issues, model, counts)
        self.app.call_from_thread(self._update_if_current, key, text)

    def _update_if_current(self, key: tuple[int, str], text: Text) -> None:
        if key == self._key:
            self._body.update(text)
