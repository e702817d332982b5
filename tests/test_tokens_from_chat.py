"""Tokens pane ctrl+o: the Chat pane's current conversation counted in chat format, in the real app (Pilot)."""

from __future__ import annotations

import json

from gptbench.core.config import Settings
from gptbench.core.prices import price_for
from gptbench.core.tokens import count_chat_tokens
from gptbench.tui.app import GptBenchApp
from gptbench.tui.panes.tokens import TokensPane
from scripted import ScriptedPool, wait_for
from scripted import screen as screen_text
from test_chat_pane import ask, ready, send
from textual.app import App, ComposeResult
from textual.widgets import Input, TextArea

SIZE = (100, 30)


def make_app(settings: Settings) -> GptBenchApp:
    return GptBenchApp(settings, pool=ScriptedPool(settings))


async def open_tokens(pilot) -> TokensPane:
    app = pilot.app
    await pilot.press("f3")
    await wait_for(pilot, lambda: bool(app.query(TokensPane)))
    pane = app.query_one(TokensPane)
    await wait_for(pilot, lambda: pane.primary_count == 0 and "o200k_base 0" in screen_text(app))
    return pane


async def from_chat(pilot, pane: TokensPane) -> list[dict]:
    """Press ctrl+o and return the message list the editor then holds."""
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: pane.editor.text.startswith("["))
    return json.loads(pane.editor.text)


def turn(prompt: str) -> list[dict]:
    """A prompt and the scripted backend's reply to it, as chat messages."""
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": f"Echo: {prompt}"}]


async def test_ctrl_o_counts_the_current_chat_and_leaves_the_session_alone() -> None:
    app = make_app(
        Settings(model="scripted")
    )  # a local session whose model is not loaded: gpt-4o-mini counts
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await pilot.press("ctrl+o")  # the chat's own settings panel: set a system prompt as a user would
        await wait_for(pilot, lambda: bool(app.query("#chat-system")))
        app.query_one("#chat-system", TextArea).text = "Be terse."
        await wait_for(pilot, lambda: chat.session.system_prompt == "Be terse.")
        await ask(pilot, chat, "What is 2+2?")
        await ask(pilot, chat, "And 3+3, in French?")
        session_before = await app.store.get_session(chat.session.id)
        path_before = await app.store.path(chat.session.id)

        pane = await open_tokens(pilot)
        assert "^o From chat" in screen_text(app)  # in the footer
        await pilot.press(*"hello")
        expected = [
            {"role": "system", "content": "Be terse."},
            *turn("What is 2+2?"),
            *turn("And 3+3, in French?"),
        ]
        assert await from_chat(pilot, pane) == expected
        assert pane.model == "gpt-4o-mini"
        tokens = count_chat_tokens(expected, "gpt-4o-mini")
        await wait_for(pilot, lambda: f"chat format: {tokens} tokens for 5 messages" in screen_text(app))
        screen = screen_text(app)
        assert f" {tokens} + 256 / 128,000" in screen and "chat ░" in screen
        assert f"cost ≤ ${price_for('gpt-4o-mini').cost(tokens, 256):.6f}" in screen
        assert "from chat 'What is 2+2?': 5 messages, counted for gpt-4o-mini" in screen

        # nothing in the chat session changed, and the text that was in the editor is one undo away
        assert await app.store.get_session(chat.session.id) == session_before
        assert await app.store.path(chat.session.id) == path_before
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: pane.editor.text == "hello")
        await wait_for(pilot, lambda: "chat format" not in screen_text(app))
        assert "from chat" not in screen_text(app)  # the note went with the text it was about


async def test_an_openai_session_is_counted_for_its_own_model_and_a_model_change_recounts() -> None:
    app = make_app(Settings(backend="openai", model="gpt-4o"))
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "Name a prime.")
        pane = await open_tokens(pilot)
        model = app.query_one("#tokens-model", Input)
        model.value = "gpt-4"  # another model chosen here: ctrl+o counts for the chat's model instead
        await wait_for(pilot, lambda: "/ 8,192" in screen_text(app))
        messages = turn("Name a prime.")
        assert await from_chat(pilot, pane) == messages
        assert model.value == "gpt-4o"
        tokens = count_chat_tokens(messages, "gpt-4o")
        await wait_for(pilot, lambda: f"chat format: {tokens} tokens for 2 messages" in screen_text(app))
        assert f" {tokens} + 256 / 128,000" in screen_text(app)
        # choosing another model recounts the same messages under that model's rule (4 tokens a message here)
        model.value = "gpt-3.5-turbo-0301"
        old = count_chat_tokens(messages, "gpt-3.5-turbo-0301")
        assert old != tokens
        await wait_for(pilot, lambda: f"chat format: {old} tokens for 2 messages" in screen_text(app))


async def test_the_command_palette_counts_the_current_chat_from_any_pane() -> None:
    app = make_app(Settings(model="scripted"))
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "Count me.")
        await pilot.press("ctrl+p")  # from the Chat pane: the Tokens pane is not built yet
        await wait_for(pilot, lambda: app.screen.query("CommandInput"))
        await pilot.press(*"Tokens: count the current chat")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.query(TokensPane)) and app.active_pane == "tokens")
        pane = app.query_one(TokensPane)
        await wait_for(pilot, lambda: pane.editor.text.startswith("["))
        assert json.loads(pane.editor.text) == turn("Count me.")
        tokens = count_chat_tokens(turn("Count me."), "gpt-4o-mini")
        await wait_for(pilot, lambda: f"chat format: {tokens} tokens for 2 messages" in screen_text(app))


async def test_an_empty_chat_session_gives_a_notice_and_leaves_the_editor() -> None:
    app = make_app(Settings(model="scripted"))
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        pane = await open_tokens(pilot)
        await pilot.press(*"abc")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "the chat session is empty: nothing to count" in screen_text(app))
        assert pane.editor.text == "abc"
        assert await app.store.path(chat.session.id) == []
        await pilot.press("d")  # the next edit clears the note
        await wait_for(pilot, lambda: "nothing to count" not in screen_text(app))


async def test_without_a_chat_pane_ctrl_o_says_no_session_is_open() -> None:
    class Bare(App):
        def compose(self) -> ComposeResult:
            yield TokensPane("abc")

    app = Bare()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "no chat session is open: nothing to count" in screen_text(app))
        assert app.query_one(TokensPane).editor.text == "abc"


def test_the_action_has_a_binding_id() -> None:
    binding = next(b for b in TokensPane.BINDINGS if b.id == "tokens.from_chat")
    assert binding.key == "ctrl+o" and binding.show and binding.description == "From chat"


async def test_a_local_session_is_counted_with_the_loaded_models_chat_template(tiny_gpt2) -> None:
    from gptbench.core.backends.local import LocalBackend
    from gptbench.core.backends.pool import BackendPool
    from gptbench.core.params import GenerationParams
    from gptbench.core.tokens import tokenizer_of_backend

    backend = LocalBackend(str(tiny_gpt2), device="cpu", dtype="float32")  # the app closes it on exit
    await backend.load()
    settings = Settings(backend="local", model=backend.model, params=GenerationParams(max_tokens=6))
    app = GptBenchApp(settings, pool=BackendPool(settings, factory=lambda *_: backend))
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await send(pilot, "Once upon a time")
        usage = app.query_one("#usage")
        await wait_for(pilot, lambda: "tok/s" in str(usage.render()) and not chat.generating, timeout=60)
        path = await app.store.path(chat.session.id)
        assert [m.status for m in path] == ["complete", "complete"]
        pane = await open_tokens(pilot)
        messages = await from_chat(pilot, pane)
        assert messages == [{"role": m.role, "content": m.content} for m in path]
        assert pane.model == "local"
        tokens = count_chat_tokens(messages, tokenizer_of_backend(backend))
        await wait_for(pilot, lambda: f"chat format: {tokens} tokens for 2 messages" in screen_text(app))
        assert f" {tokens} + 6 / 256" in screen_text(app)  # the tiny model's 256 positions, max_tokens 6
