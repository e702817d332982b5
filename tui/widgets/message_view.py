"""One chat message on screen, and the append-only streaming of a reply into it.

A message is shown as a few `Static` chunks, each a Rich Markdown rendering of a run of whole top-level blocks;
only the last chunk (the tail) is re-rendered while a reply streams. When the tail holds more than
`CHUNK_BLOCKS` blocks, all but its last block are frozen into their own chunk and never rendered again. So the
cost of an update depends on the tail, not on the length of the reply, and the screen holds a handful of
widgets per message rather than one per paragraph, list item and code block (Textual re-arranges every widget
on each layout refresh, so a widget per block made a 5,000-token reply cost 6x more per token at its end than at
its start). This also sidesteps the stale fenced-code state of Textual's streaming Markdown widget (#6518).

Tokens are buffered and flushed at most every `FLUSH_INTERVAL` seconds: per-token renders would starve key
handling (Esc must cancel promptly). The end of a stream renders the tail once from its full text.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

#: Seconds between two flushes of a streaming reply.
FLUSH_INTERVAL = 0.05
#: Top-level Markdown blocks the live tail may hold before its older blocks are frozen into a chunk.
CHUNK_BLOCKS = 12

ROLE_TITLES = {"system": "System", "user": "You", "assistant": "Assistant"}
_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced code blocks of a message, in order (what "copy code" copies)."""
    return [m.group(2) for m in _FENCE.finditer(markdown)]


@functools.cache
def shared_parser() -> Any:
    """One markdown-it parser, built once (it is what splits text into blocks)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like")


def _block_starts(text: str) -> list[int]:
    """The first line of each top-level block of a Markdown text."""
    return [t.map[0] for t in shared_parser().parse(text) if t.level == 0 and t.map and t.nesting >= 0]


def split_tail(text: str) -> tuple[str, str]:
    """(frozen, tail) for a live tail with more than CHUNK_BLOCKS blocks: all but its last block, and that block.

    The cut is at the first line of a top-level block, so an open code fence or a growing list stays whole in the
    tail. Returns ("", text) while the tail is short.
    """
    starts = _block_starts(text)
    if len(starts) <= CHUNK_BLOCKS:
        return "", text
    lines = text.splitlines(keepends=True)
    return "".join(lines[: starts[-1]]), "".join(lines[starts[-1] :])


def chunk_texts(text: str) -> list[str]:
    """A whole text cut into runs of CHUNK_BLOCKS top-level blocks (at least one, possibly empty, chunk)."""
    lines = text.splitlines(keepends=True)
    bounds = [0, *_block_starts(text)[CHUNK_BLOCKS::CHUNK_BLOCKS], len(lines)]
    return ["".join(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a] or [""]


class Chunk(Static):
    """A run of whole Markdown blocks rendered with Rich (code highlighted in the theme's light or dark style)."""

    DEFAULT_CSS = """
    Chunk { height: auto; }
    """

    def __init__(self, markdown: str = "") -> None:
        super().__init__()
        self.markdown = markdown

    def render(self) -> Any:
        from rich.markdown import Markdown

        dark = self.app.current_theme.dark
        return Markdown(self.markdown, code_theme="ansi_dark" if dark else "ansi_light", hyperlinks=False)

    def set_markdown(self, markdown: str) -> None:
        self.markdown = markdown
        self.refresh(layout=True)


class MessageView(Vertical):
    """A header line (who, model, status, branch k/n) above the message rendered as Markdown chunks."""

    DEFAULT_CSS = """
    MessageView { height: auto; margin: 0 0 1 0; padding: 0 1; border-left: blank; }
    MessageView.-selected { border-left: thick $accent; background: $boost; }
    MessageView > .header { height: 1; color: $text-muted; text-style: bold; }
    MessageView.-user > .header { color: $primary; }
    MessageView.-assistant > .header { color: $secondary; }
    MessageView.-error > .header { color: $error; }
    """

    selected: reactive[bool] = reactive(False)

    def __init__(
        self, role: str, content: str = "", *, header: str = "", message_id: str | None = None
    ) -> None:
        super().__init__(classes=f"-{role}")
        self.role = role
        self.message_id = message_id
        self._source = content
        self._header = header
        self._pending: list[str] = []
        self._last_flush = 0.0
        self._flush_timer = None
        self._frozen_chars = 0

    def compose(self):
        yield Static(self._header_text(), classes="header", markup=False)
        yield from self._chunks_for(self._source)

    def _chunks_for(self, text: str) -> list[Chunk]:
        """Chunks for a whole text; all but the last are frozen, the last is the live tail."""
        texts = chunk_texts(text)
        self._frozen_chars = sum(len(t) for t in texts[:-1])
        return [Chunk(t) for t in texts]

    @property
    def source(self) -> str:
        """The message's full Markdown text, including what is still buffered."""
        return self._source

    @property
    def tail(self) -> Chunk:
        return self.query_children(Chunk).last()

    def _header_text(self) -> str:
        title = ROLE_TITLES.get(self.role, self.role)
        return f"{title}  {self._header}" if self._header else title

    def set_header(self, header: str) -> None:
        self._header = header
        if self.is_mounted:
            self.query_one(".header", Static).update(self._header_text())

    def watch_selected(self, selected: bool) -> None:
        self.set_class(selected, "-selected")

    async def append(self, text: str) -> None:
        """Add streamed text; rendered now if the last flush is older than FLUSH_INTERVAL, else soon."""
        if not text:
            return
        self._source += text
        self._pending.append(text)
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL:
            await self.flush()
        elif self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_INTERVAL, self.flush)

    async def flush(self) -> None:
        """Render the buffered text: re-render the tail only, freezing its older blocks when it grows long."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        if not self._pending:
            return
        self._pending.clear()
        self._last_flush = time.monotonic()
        tail_text = self._source[self._frozen_chars :]
        frozen, live = split_tail(tail_text)
        tail = self.tail
        if frozen:
            tail.set_markdown(frozen)
            self._frozen_chars += len(frozen)
            await self.mount(Chunk(live))
        else:
            tail.set_markdown(live)

    async def end_stream(self, final: str | None = None) -> None:
        """The stream is over: render the rest (the whole message again only if `final` differs)."""
        if final is not None and final != self._source:
            await self.set_content(final)
            return
        if self._pending:
            await self.flush()
        self.tail.set_markdown(self._source[self._frozen_chars :])

    async def set_content(self, content: str) -> None:
        """Show another text (e.g. an alternative reply)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._pending.clear()
        self._source = content
        self._frozen_chars = 0
        await self.query_children(Chunk).remove()
        await self.mount_all(self._chunks_for(content))
