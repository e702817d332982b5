"""Streaming render: a 5,000-token Markdown reply (headings, lists, code blocks) fed into the chat message view.

Two runs in one headless app (120x40), one MessageView in an anchored MessageList, as in the Chat pane:
  (a) worst case: every token flushed and rendered on its own (FLUSH_INTERVAL = 0): time per token over the
      last 500 tokens against the first 500 — flat (append-only) vs growing (re-rendering the whole reply);
  (b) the real setting: tokens coalesced and flushed every FLUSH_INTERVAL seconds, then the end of the stream.
The view re-renders only its live tail (older blocks are frozen into chunks), see tui/widgets/message_view.py.
Totals are compared with the time to just concatenate the text. Goal: last-500 / first-500 <= 1.5.

    .venv/bin/python bench/bench_stream_render.py
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time

from gptbench.tui.panes.chat.conversation import MessageList
from gptbench.tui.widgets import message_view
from gptbench.tui.widgets.message_view import MessageView
from textual.app import App, ComposeResult

TOKENS = 5000
WINDOW = 500


def reply_tokens(count: int) -> list[str]:
    """A long, realistic Markdown answer cut into word-sized tokens (whitespace kept with the word)."""
    section = (
        "## Step {n}: build the index\n\n"
        "First we **read** the file line by line and keep the byte offset of each line, so that any row can be "
        "reached with one `seek` instead of a scan. This matters once a dataset has millions of rows.\n\n"
        "- open the file in binary mode\n- map it with `mmap` when it is larger than a few megabytes\n"
        "- record offsets in an `array('Q')`\n  - nested: keep it compact\n\n"
        "```python\nimport mmap\nfrom array import array\n\n\ndef build_index(path):\n"
        "    offsets = array('Q', [0])\n    with open(path, 'rb') as f:\n"
        "        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
        "        pos = mm.find(b'\\n')\n        while pos != -1:\n            offsets.append(pos + 1)\n"
        "            pos = mm.find(b'\\n', pos + 1)\n    return offsets\n```\n\n"
        "1. check the result on a small file\n2. time it on a big one\n3. compare with `wc -l`\n\n"
        "> Note: step {n} costs O(n) once; every later lookup is O(1).\n\n"
    )
    text = ""
    n = 1
    while len(re.findall(r"\S+\s*", text)) < count:
        text += section.format(n=n)
        n += 1
    return re.findall(r"\s*\S+\s*", text)[:count] if not text[0].isspace() else []


class Bench(App):
    def compose(self) -> ComposeResult:
        yield MessageList(id="messages")


async def feed(tokens: list[str], interval: float) -> tuple[list[float], float, float]:
    """Per-token seconds, total feed seconds and final full-render seconds for one streamed reply."""
    message_view.FLUSH_INTERVAL = interval
    app = Bench()
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.query_one(MessageList)
        view = await listing.add(MessageView("assistant", ""))
        await pilot.pause()
        per_token = []
        start = time.perf_counter()
        for token in tokens:
            t = time.perf_counter()
            await view.append(token)
            await asyncio.sleep(0)  # let the app process the refresh the append asked for
            per_token.append(time.perf_counter() - t)
        await view.flush()
        await pilot.pause()
        total = time.perf_counter() - start
        t = time.perf_counter()
        await view.end_stream()
        await pilot.pause()
        final = time.perf_counter() - t
        assert view.source == "".join(tokens)
    return per_token, total, final


def main() -> None:
    tokens = reply_tokens(TOKENS)
    t = time.perf_counter()
    text = ""
    for token in tokens:
        text += token
    concat = time.perf_counter() - t
    print(f"reply: {len(tokens)} tokens, {len(text):,} characters, {text.count('```') // 2} code blocks")

    per_token, total, final = asyncio.run(feed(tokens, 0.0))
    first = statistics.mean(per_token[:WINDOW])
    last = statistics.mean(per_token[-WINDOW:])
    print("(a) every token rendered (FLUSH_INTERVAL=0):")
    print(f"    first {WINDOW} tokens: {first * 1e3:.3f} ms/token   last {WINDOW}: {last * 1e3:.3f} ms/token")
    print(f"    RATIO last/first = {last / first:.2f}  (goal <= 1.5)")
    print(
        f"    total {total:.2f} s ({total / len(tokens) * 1e3:.1f} ms/token overall); end of stream {final * 1e3:.0f} ms"
    )

    middle = statistics.mean(per_token[len(per_token) // 2 - WINDOW // 2 : len(per_token) // 2 + WINDOW // 2])
    print(f"    middle {WINDOW}: {middle * 1e3:.3f} ms/token")

    interval = 0.05
    per_token, total, final = asyncio.run(feed(tokens, interval))
    print(
        f"(b) coalesced, flushed every {interval * 1e3:.0f} ms (the app's setting), fed as fast as accepted:"
    )
    print(
        f"    total {total:.2f} s ({total / len(tokens) * 1e3:.3f} ms/token) + end of stream {final * 1e3:.0f} ms"
    )
    print(f"concatenating the text alone: {concat * 1e3:.2f} ms")
    print(f"RATIO coalesced total / concatenation = {total / concat:,.0f}x")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
