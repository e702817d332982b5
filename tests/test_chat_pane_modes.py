"""The Chat pane's parameters panel, completion mode and compare mode, driven by keys through Pilot."""

from __future__ import annotations

from gptbench.core.config import Settings
from gptbench.tui.app import GptBenchApp
from scripted import ScriptedPool, shown
from test_chat_pane import ask, ready, wait_for
from textual.widgets import Input, TextArea

SIZE = (120, 40)


def make_app() -> GptBenchApp:
    settings = Settings(model="scripted")
    return GptBenchApp(settings, pool=ScriptedPool(settings))


async def test_parameters_are_validated_as_typed_and_saved_per_session():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: app.query("#param-temperature"))
        field = app.query_one("#param-temperature", Input)
        assert field.value == "0.8"  # a new local session starts from the "balanced" preset
        field.focus()
        field.value = ""
        await pilot.press(*"5")
        await wait_for(pilot, lambda: "temperature" in shown(app, "#error-temperature"))
        assert "must be in [0, 2], got 5" in shown(app, "#error-temperature")
        # The emptied field was valid ("backend default") and saved; the invalid 5 was not.
        assert (await app.store.get_session(chat.session.id)).params.temperature is None
        await pilot.press("backspace", *"0.5")
        await wait_for(pilot, lambda: chat.session.params.temperature == 0.5)
        assert shown(app, "#error-temperature") == ""
        assert (await app.store.get_session(chat.session.id)).params.temperature == 0.5
        # The system prompt is per session too.
        app.query_one("#chat-system", TextArea).text = "Answer briefly."
        await wait_for(pilot, lambda: chat.session.system_prompt == "Answer briefly.")
        await pilot.press("ctrl+o")  # hide the panel, back to the prompt
        await ask(pilot, chat, "with params")
        reply = (await app.store.path(chat.session.id))[-1]
        assert reply.params.temperature == 0.5
        sent = app.pool.get().calls[-1]
        assert sent[0].role == "system" and sent[0].content == "Answer briefly."
        # A new session starts from the configured defaults, not from the other session's edits.
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: chat.session.title == "New chat")
        assert chat.session.params.temperature == 0.8 and chat.session.system_prompt == ""


async def test_completion_mode_streams_with_logprobs():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: app.query("#completion-prompt"))
        assert chat.mode == "completion"
        assert (await app.store.get_session(chat.session.id)).mode == "completion"
        app.query_one("#completion-prompt", TextArea).text = "Great movie! ->"
        app.query_one("#completion-prompt", TextArea).focus()
        await pilot.press("ctrl+l")  # the classification recipe: max_tokens=1, logprobs=5
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "positive" in shown(app, "#completion-output"))
        await wait_for(pilot, lambda: "alt1" in shown(app, "#completion-alternatives"))
        assert shown(app, "#completion-output").startswith("Great movie! ->")
        alternatives = shown(app, "#completion-alternatives")
        assert "positive" in alternatives and "%" in alternatives
        # ctrl+t again: compare, then back to chat.
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: chat.mode == "compare")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: chat.mode == "chat" and app.query_one("#prompt").display)


async def test_compare_mode_answers_the_conversation_side_by_side():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "compare this")
        await pilot.press("ctrl+t", "ctrl+t")
        await wait_for(pilot, lambda: app.query("#compare-status"))
        assert chat.mode == "compare"
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: (
                all("Echo: compare this" in v.source for v in app.query("#compare MessageView"))
                and len(app.query("#compare MessageView")) == 2
            ),
        )
        left = app.query_one("#left-answer").region
        right = app.query_one("#right-answer").region
        assert left.right <= right.x  # side by side
        path = await app.store.path(chat.session.id)
        replies = await app.store.siblings(path[-1].id)
        assert len(replies) == 3  # the chat reply + both compared answers, saved as alternatives
        assert path[-1].content == "Echo: compare this"  # the active branch did not move
