"""One chat message on screen, and the append-only streaming of a reply into it.

A streamed reply is not re-rendered per token: tokens are buffered and flushed at most every
`FLUSH_INTERVAL` seconds with `Markdown.append`, which re-parses only from the last top-level block, so the cost
per token stays flat however long the reply grows. Per-token writes would also starve key handling (Esc must
cancel promptly). When the stream ends, the body is rendered once from the full source: appending can leave a
fenced code block with a stale first chunk (textual issue #6518).
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

#: Seconds between two flushes of a streaming reply into the Markdown widget.
FLUSH_INTERVAL = 0.05

ROLE_TITLES = {"system": "System", "user": "You", "assistant": "Assistant"}
_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced code blocks of a message, in order (what "copy code" copies)."""
    return [m.group(2) for m in _FENCE.finditer(markdown)]


@functools.cache
def shared_parser() -> Any:
    """One markdown-it parser for every message: Textual builds a new one per `append` otherwise (~ms each)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like")


class MessageView(Vertical):
    """A header line (who, model, status, branch k/n) above the message rendered as Markdown."""

    DEFAULT_CSS = """
    MessageView { height: auto; margin: 0 0 1 0; padding: 0 1; border-left: blank; }
    MessageView.-selected { border-left: thick $accent; background: $boost; }
    MessageView > .header { height: 1; color: $text-muted; text-style: bold; }
    MessageView.-user > .header { color: $primary; }
    MessageView.-assistant > .header { color: $secondary; }
    MessageView.-error > .header { color: $error; }
    MessageView > Markdown { margin: 0; padding: 0; }
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
        from textual.widgets import Markdown  # markdown-it loads with the first message, not the first frame

        self.body = Markdown(content, parser_factory=shared_parser)

    def compose(self):
        yield Static(self._header_text(), classes="header", markup=False)
        yield self.body

    @property
    def source(self) -> str:
        """The message's full Markdown text, including what is still buffered."""
        return self._source

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
        """Render the buffered text (append-only)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        if not self._pending:
            return
        chunk = "".join(self._pending)
        self._pending.clear()
        self._last_flush = time.monotonic()
        await self.body.append(chunk)

    async def end_stream(self, final: str | None = None) -> None:
        """The stream is over: render what is buffered, and re-render from the full source only if needed.

        Needed when the final text differs from what streamed, or when a code block's widget kept a stale copy of
        its code (textual#6518: fixed in recent Textual, checked here against one parse of the source). A full
        render of a long reply mounts every block again, which costs seconds for thousands of tokens.
        """
        streamed = self._source
        if final is not None:
            self._source = final
        if self._source == streamed:
            await self.flush()
            if self._fences_current():
                return
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._pending.clear()
        await self.body.update(self._source)

    def _fences_current(self) -> bool:
        """Whether every code block widget holds the code a fresh parse of the source gives."""
        from textual.widgets.markdown import MarkdownFence

        shown = [fence.code for fence in self.body.query(MarkdownFence)]
        if not shown:
            return True
        tokens = shared_parser().parse(self._source)
        return shown == [t.content.rstrip() for t in tokens if t.type in ("fence", "code_block")]

    async def set_content(self, content: str) -> None:
        self._pending.clear()
        self._source = content
        await self.body.update(content)
