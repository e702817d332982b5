"""The streaming message view: a long reply streamed token by token is cut into a few frozen Markdown chunks plus
a live tail, at block boundaries, and shows the same text as the whole reply rendered at once."""

from __future__ import annotations

import io
import re

from gptbench.tui.widgets import message_view
from gptbench.tui.widgets.message_view import Chunk, MessageView, chunk_texts, code_blocks
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

SECTION = (
    "### Part {n}\n\nRead the file and count its lines:\n\n- open it\n- count\n\n"
    "```python\ndef count(path):\n    with open(path) as f:\n        return sum(1 for _ in f)  # part {n}\n```\n\n"
)
REPLY = "".join(SECTION.format(n=n) for n in range(1, 9)) + "Done."


class One(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield MessageView("assistant", "")


def plain(markdown_chunks: list[Chunk]) -> str:
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    for chunk in markdown_chunks:
        console.print(chunk.render())
    return console.export_text()


async def test_long_reply_streams_into_frozen_chunks_and_a_live_tail():
    app = One()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(MessageView)
        for token in re.findall(r"\s*\S+", REPLY):
            await view.append(token)
            await view.flush()  # as if every token came after the flush interval
        await view.end_stream()
        await pilot.pause()
        chunks = list(view.query(Chunk))
        assert view.source == REPLY
        assert "".join(c.markdown for c in chunks) == REPLY  # nothing lost or doubled at the cuts
        assert 2 <= len(chunks) <= 6  # a few widgets, not one per block
        for chunk in chunks[:-1]:  # every frozen chunk holds whole blocks: its fences are closed
            assert chunk.markdown.count("```") % 2 == 0
        shown = plain(chunks)
        for n in range(1, 9):
            assert f"return sum(1 for _ in f)  # part {n}" in shown
        assert shown.count("• open it") == 8 and "Done." in shown
        assert [c.rstrip() for c in code_blocks(view.source)] == [
            f"def count(path):\n    with open(path) as f:\n        return sum(1 for _ in f)  # part {n}"
            for n in range(1, 9)
        ]


async def test_a_whole_message_is_shown_in_chunks_and_can_be_replaced():
    app = One()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(MessageView)
        await view.set_content(REPLY)
        await pilot.pause()
        assert [c.markdown for c in view.query(Chunk)] == chunk_texts(REPLY)
        # 8 sections of 4 blocks (heading, paragraph, list, fence) and a last paragraph: 33 blocks in chunks of 12.
        assert message_view.CHUNK_BLOCKS == 12 and len(chunk_texts(REPLY)) == 3
        await view.append(" More.")
        await view.end_stream("the whole answer")
        await pilot.pause()
        assert view.source == "the whole answer"
        assert "the whole answer" in plain(list(view.query(Chunk)))
