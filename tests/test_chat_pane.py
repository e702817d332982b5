"""The Chat pane through Pilot: streaming, cancel, edit-and-resend, regenerate, sessions, errors, export, copy."""

from __future__ import annotations

import asyncio
import io

from gptbench.core.config import Settings
from gptbench.tui.app import GptBenchApp
from gptbench.tui.panes.chat import ChatPane
from gptbench.tui.panes.chat.conversation import MessageList, PromptArea
from gptbench.tui.widgets.message_view import Chunk, MessageView
from rich.console import Console
from scripted import ScriptedPool, wait_for, words

SIZE = (120, 40)


def rendered(view: MessageView) -> str:
    """The text a message's chunks put on screen (rendered as the app renders them, without colours)."""
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    for chunk in view.query(Chunk):
        console.print(chunk.render())
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    return "\n".join(lines).strip("\n")


def screen_text(app: GptBenchApp) -> str:
    """Every message's header line and rendered text, as the user reads them."""
    return "\n".join(f"{v.query_one('.header').render()}\n{rendered(v)}" for v in app.query(MessageView))


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


async def ask(pilot, chat, text: str) -> None:
    """Send `text` and wait until the scripted backend's echo of it has finished streaming."""
    await send(pilot, text)
    await wait_for(pilot, lambda: not chat.generating and f"Echo: {text}" in screen_text(pilot.app))


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


async def test_keys_arriving_in_one_burst_send_the_whole_line(tmp_path):
    """Type-ahead / a fast typist / tmux send-keys: the terminal hands the app the text and Enter in one read.
    Enter (a priority binding) must not overtake the characters still queued for the prompt."""
    from textual import events

    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        app.query_one(PromptArea).focus()
        await pilot.pause()
        text = "hello there"
        for char in text:  # what the driver does with one read of stdin: post every key, wait for none
            app.post_message(events.Key("space" if char == " " else char, char))
        app.post_message(events.Key("enter", "\r"))
        await wait_for(pilot, lambda: not chat.generating and f"Echo: {text}" in screen_text(app))
        assert [m[-1].content for m in pool.made["scripted"].calls] == [text]
        assert app.query_one(PromptArea).text == ""


async def test_keys_typed_while_the_app_starts_go_to_the_prompt(tmp_path):
    """`gptbench` ⏎ and typing at once: keys read before the Chat pane is ready are replayed to its prompt (not
    dropped, not typed into the sessions search box)."""
    from textual import events
    from textual.widgets import Input

    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        text = "typed early"
        for char in text:
            app.post_message(events.Key("space" if char == " " else char, char))
        app.post_message(events.Key("enter", "\r"))
        chat = await ready(pilot)
        await wait_for(pilot, lambda: not chat.generating and f"Echo: {text}" in screen_text(app))
        assert [m[-1].content for m in pool.made["scripted"].calls] == [text]
        assert app.query_one("#session-search", Input).value == ""
        assert app.focused is app.query_one(PromptArea)


async def test_escape_cancels_keeps_partial_reply_marked_stopped(tmp_path):
    app, pool = make_app(tmp_path)
    backend = pool.get()
    backend.hold = asyncio.Event()  # the stream waits after its first token until cancelled
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await send(pilot, "Tell me a long story")
        await wait_for(pilot, lambda: "Echo:" in screen_text(app))
        assert chat.generating
        await pilot.press("escape")
        await wait_for(pilot, lambda: not chat.generating and "stopped" in screen_text(app))
        assert backend.cancelled == 1
        path = await app.store.path(chat.session.id)
        assert path[-1].status == "stopped" and path[-1].content == "Echo:"
        assert "stopped" in str(app.query_one("#usage").render())


async def test_backend_error_mid_stream_shows_one_line_and_restores_prompt(tmp_path):
    app, pool = make_app(tmp_path)
    pool.get().fail_after = 2
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await send(pilot, "Are you there?")
        await wait_for(pilot, lambda: not chat.generating and "error" in screen_text(app))
        assert "✗ error: scripted: the server closed the stream" in screen_text(app)
        assert app.query_one(PromptArea).text == "Are you there?"
        assert "Traceback" not in screen_text(app)
        path = await app.store.path(chat.session.id)
        assert path[-1].status == "error" and path[-1].content == "Echo: Are"


async def test_edit_and_resend_shows_new_branch_and_keeps_old(tmp_path):
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "first question")
        await ask(pilot, chat, "second question")
        app.query_one(MessageList).focus()
        await pilot.press("up", "up", "up", "up")  # cursor on the first user message
        await pilot.press("e")
        assert app.query_one(PromptArea).text == "first question"
        app.query_one(PromptArea).text = "edited question"
        app.query_one(PromptArea).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not chat.generating and "Echo: edited question" in screen_text(app))
        text = screen_text(app)
        assert "second question" not in text and "first question" not in text
        assert "‹2/2›" in text  # the edited prompt is the second of two alternatives
        old = await app.store.search_sessions("second question")
        assert [s.id for s in old] == [chat.session.id]
        # Browse back to the old branch with ← on the edited message.
        app.query_one(MessageList).focus()
        await pilot.press("up", "up", "left")
        await wait_for(pilot, lambda: "Echo: second question" in screen_text(app))
        assert "‹1/2›" in screen_text(app)


async def test_regenerate_adds_alternative_switchable(tmp_path):
    app, pool = make_app(tmp_path)
    backend = pool.get()
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "hello")
        backend.script = ["Another", " answer"]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not chat.generating and "Another answer" in screen_text(app))
        assert "‹2/2›" in screen_text(app) and "Echo: hello" not in screen_text(app)
        path = await app.store.path(chat.session.id)
        siblings = await app.store.siblings(path[-1].id)
        assert [s.content for s in siblings] == ["Echo: hello", "Another answer"]
        app.query_one(MessageList).focus()
        await pilot.press("up", "left")
        await wait_for(pilot, lambda: "Echo: hello" in screen_text(app))


async def test_n_greater_than_one_gives_switchable_alternatives(tmp_path):
    from gptbench.core.params import GenerationParams

    settings = Settings(model="scripted", params=GenerationParams(n=2))
    app, pool = make_app(tmp_path, settings)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await send(pilot, "two answers")
        await wait_for(pilot, lambda: not chat.generating and "‹1/2›" in screen_text(app))
        path = await app.store.path(chat.session.id)
        assert len(await app.store.siblings(path[-1].id)) == 2
        app.query_one(MessageList).focus()
        await pilot.press("up", "right")
        await wait_for(pilot, lambda: "‹2/2›" in screen_text(app))


async def test_sessions_new_switch_rename_search_delete(tmp_path):
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "apples are red")
        first = chat.session.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: chat.session.id != first)
        await send(pilot, "bananas are yellow")
        await wait_for(pilot, lambda: not chat.generating and "Echo: bananas" in screen_text(app))
        assert "apples" not in screen_text(app)
        # Switch back through the sidebar with the keyboard.
        await pilot.press("ctrl+b")
        titles = [str(item.query_one("Label").render()) for item in app.query("SessionItem")]
        assert titles == ["bananas are yellow", "apples are red"]
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: chat.session.id == first and "Echo: apples are red" in screen_text(app))
        # Rename.
        await pilot.press("ctrl+b", "r")
        await wait_for(pilot, lambda: app.screen.query("#dialog-input"))
        app.screen.query_one("#dialog-input").value = "Fruit talk"
        await pilot.press("enter")
        await wait_for(pilot, lambda: chat.session.title == "Fruit talk")
        # Search by content.
        app.query_one("#session-search").value = "bananas"
        await wait_for(pilot, lambda: len(app.query("SessionItem")) == 1)
        assert str(app.query_one("SessionItem Label").render()) == "bananas are yellow"
        app.query_one("#session-search").value = ""
        await wait_for(pilot, lambda: len(app.query("SessionItem")) == 2)
        # Delete asks first; "n" keeps it, "y" deletes it.
        await pilot.press("ctrl+b", "d")
        await wait_for(pilot, lambda: "ConfirmDialog" in type(app.screen).__name__)
        await pilot.press("n")
        await pilot.pause(0.1)
        assert len(await app.store.list_sessions()) == 2
        await pilot.press("ctrl+b", "d")
        await wait_for(pilot, lambda: "ConfirmDialog" in type(app.screen).__name__)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.query("SessionItem")) == 1)
        assert [s.title for s in await app.store.list_sessions()] == ["bananas are yellow"]
        assert chat.session.title == "bananas are yellow"


async def test_restart_restores_sessions_and_messages(tmp_path):
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "remember me")
    again, _ = make_app(tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await wait_for(pilot, lambda: "Echo: remember me" in screen_text(again))
        assert chat.session.title == "remember me"
        assert "You\nremember me" in screen_text(again)


async def test_export_markdown_and_jsonl_files(tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "Say hi")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: app.screen.query("#dialog-input"))
        assert app.screen.query_one("#dialog-input").value == str(tmp_path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "Say hi.md").exists())
        markdown = (tmp_path / "Say hi.md").read_text()
        assert "# Say hi" in markdown and "Say hi" in markdown and "Echo: Say hi" in markdown
        dataset = tmp_path / "dataset.jsonl"
        dataset.write_text(
            '{"messages": [{"role": "user", "content": "old"}, {"role": "assistant", "content": "kept"}]}\n'
        )
        for expected in (2, 3):
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen.query("#dialog-input"))
            assert app.screen.query_one("#dialog-input").value == str(dataset)
            await pilot.press("enter")
            await wait_for(pilot, lambda n=expected: len(dataset.read_text().splitlines()) == n)
        lines = dataset.read_text().splitlines()
        assert json.loads(lines[0])["messages"][1]["content"] == "kept"
        assert (
            json.loads(lines[1])
            == json.loads(lines[2])
            == {
                "messages": [
                    {"role": "user", "content": "Say hi"},
                    {"role": "assistant", "content": "Echo: Say hi"},
                ]
            }
        )


async def test_copy_message_and_code_block(tmp_path):
    app, pool = make_app(tmp_path)
    pool.get().script = ["Use:\n```python\nprint('hi')\n```\nand\n```sh\nls\n```"]
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await send(pilot, "code please")
        await wait_for(pilot, lambda: not chat.generating and "print('hi')" in screen_text(app))
        app.query_one(MessageList).focus()
        await pilot.press("up", "c")
        assert app.clipboard.startswith("Use:\n```python")
        await pilot.press("y")
        assert app.clipboard == "print('hi')\n"
        await pilot.press("y")
        assert app.clipboard == "ls\n"


async def test_unusable_database_shows_message_and_is_not_touched(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "gptbench.db"
    db.write_bytes(b"this is not a database, it is my notes\n")
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.query("#chat-store-error"))
        text = str(app.query_one("#chat-store-error").render())
        assert "not an SQLite database" in text and "left untouched" in text
        await pilot.press("f3")  # the rest of the app still works
        await pilot.pause(0.1)
    assert db.read_bytes() == b"this is not a database, it is my notes\n"


async def test_newer_schema_database_is_refused_and_kept(tmp_path):
    import sqlite3

    from gptbench.core.store import MIGRATIONS, Store

    data = tmp_path / "data"
    data.mkdir()
    db = data / "gptbench.db"
    Store.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    before = db.read_bytes()
    app, pool = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.query("#chat-store-error"))
        assert "newer gptbench" in str(app.query_one("#chat-store-error").render())
    assert db.read_bytes() == before


async def test_autoscroll_follows_only_while_at_the_bottom(tmp_path):
    app, pool = make_app(tmp_path)
    backend = pool.get()
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        backend.script = words(" ".join(f"line {i}\n\n" for i in range(40)))
        await send(pilot, "first")
        await wait_for(pilot, lambda: not chat.generating and "line 39" in screen_text(app))
        listing = app.query_one(MessageList)
        await pilot.pause(0.1)
        assert listing.max_scroll_y > 0 and listing.scroll_y == listing.max_scroll_y  # followed the reply
        backend.delay = 0.02
        await send(pilot, "second")
        await wait_for(pilot, lambda: "line 5" in listing.views[-1].source)
        listing.focus()
        await pilot.press("up", "up", "up")  # the user goes up to read an earlier message
        await wait_for(pilot, lambda: not chat.generating, timeout=20)
        await pilot.pause(0.1)
        assert listing.scroll_y < listing.max_scroll_y - 10  # the growing reply did not pull the view down
        await pilot.press("down", "down", "down")  # back to the last message: following again
        await pilot.pause(0.1)
        assert listing.scroll_y >= listing.max_scroll_y - 1
