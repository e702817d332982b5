"""The Chat pane through Pilot: streaming, cancel, edit-and-resend, regenerate, sessions, errors, export, copy."""

from __future__ import annotations

import asyncio

from chat_helpers import ScriptedPool
from gptbench.core.config import Settings
from gptbench.tui.app import GptBenchApp
from gptbench.tui.panes.chat import ChatPane
from gptbench.tui.panes.chat.conversation import PromptArea
from gptbench.tui.widgets.message_view import MessageView

SIZE = (120, 40)


def screen_text(app: GptBenchApp) -> str:
    """Everything the message list shows, as plain text (what the user reads)."""
    return "\n".join(f"{v.query_one('.header').render()}\n{v.source}" for v in app.query(MessageView))


async def wait_for(pilot, predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def make_app(tmp_path, settings: Settings | None = None) -> tuple[GptBenchApp, ScriptedPool]:
    settings = settings or Settings(model="scripted")
    pool = ScriptedPool(settings)
    return GptBenchApp(settings, pool=pool), pool


async def ready(pilot) -> ChatPane:
    app = pilot.app
    await wait_for(pilot, lambda: app.query(ChatPane) and app.query_one(ChatPane).session is not None)
    return app.query_one(ChatPane)


async def send(pilot, text: str) -> None:
    prompt = pilot.app.query_one(PromptArea)
    prompt.focus()
    prompt.text = text
    await pilot.press("enter")


async def test_send_streams_reply_and_saves_it(tmp_path):
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await send(pilot, "What is the capital of France?")
        await wait_for(
            pilot, lambda: not chat.generating and "Echo: What is the capital of France?" in screen_text(app)
        )
        await wait_for(pilot, lambda: "stop" in str(app.query_one("#usage").render()))
        text = screen_text(app)
        assert "You" in text and "Assistant" in text
        usage = str(app.query_one("#usage").render())
        assert "↑7" in usage and "ttft" in usage
        path = await app.store.path(chat.session.id)
        assert [(m.role, m.status) for m in path] == [("user", "complete"), ("assistant", "complete")]
        assert path[1].content == "Echo: What is the capital of France?"
        assert pool.made["scripted"].calls[0][-1].content == "What is the capital of France?"
