"""The streaming message view: token-by-token Markdown ends identical to a one-shot render, code blocks keep
their code after a recompose (textual#6518), and no full re-render is done when none is needed."""

from __future__ import annotations

import re

from gptbench.tui.widgets.message_view import MessageView, code_blocks
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets.markdown import MarkdownFence

REPLY = (
    "Here is the plan:\n\n- read the file\n- count lines\n\n```python\nimport sys\n\n\ndef count(path):\n"
    "    with open(path) as f:\n        return sum(1 for _ in f)\n```\n\nThen run it:\n\n```sh\npython count.py data.txt\n```\n\nDone."
)


class One(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield MessageView("assistant", "")


def fence_texts(view: MessageView) -> list[str]:
    return [str(f.query_one("#code-content").render()).rstrip() for f in view.body.query(MarkdownFence)]


async def test_streamed_code_blocks_survive_recompose_without_a_full_render():
    app = One()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(MessageView)
        for token in re.findall(r"\s*\S+", REPLY):
            await view.append(token)
            await pilot.pause()
        updates = []
        original = view.body.update
        view.body.update = lambda text: updates.append(text) or original(text)
        await view.end_stream()
        await pilot.pause()
        assert updates == []  # nothing stale: no full re-render
        assert view.source == REPLY
        expected = [c.rstrip() for c in code_blocks(REPLY)]
        assert [f.code for f in view.body.query(MarkdownFence)] == expected
        for fence in view.body.query(MarkdownFence):
            await fence.recompose()
        await pilot.pause()
        assert [t.strip() for t in fence_texts(view)] == [c.strip() for c in expected]


async def test_final_text_that_differs_is_rendered_in_full():
    app = One()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(MessageView)
        await view.append("partial ans")
        await view.end_stream("the whole answer")
        await pilot.pause()
        assert view.source == "the whole answer"
        assert "the whole answer" in str(view.body.query_one("MarkdownParagraph").render())
