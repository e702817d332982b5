"""CompletionView: streaming a continuation, per-token logprobs, the classification preset, cancel, errors, saving."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gptbench.core.backends.base import Backend
from gptbench.core.params import GenerationParams
from gptbench.core.store import AsyncStore
from gptbench.tui.panes.chat.completion import CompletionView
from scripted import ScriptedBackend, shown, wait_idle
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, TextArea


class CompletionApp(App):
    def __init__(
        self, backend: Backend, params: GenerationParams | None = None, store=None, session_id=None
    ) -> None:
        super().__init__()
        self.backend = backend
        self.params = params
        self.store = store
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield CompletionView(self.backend, params=self.params, session_id=self.session_id)


async def type_prompt(pilot, text: str) -> None:
    pilot.app.query_one("#completion-prompt", TextArea).focus()
    await pilot.press(*["enter" if ch == "\n" else "space" if ch == " " else ch for ch in text])


async def run_prompt(pilot, text: str) -> CompletionView:
    """Type a prompt, press the Run key and wait for the continuation."""
    view = pilot.app.query_one(CompletionView)
    await type_prompt(pilot, text)
    await pilot.press("ctrl+r")
    await wait_idle(pilot, view)
    return view


def paris(prompt: str, params: GenerationParams) -> list[str]:
    return [" Paris", ".", "\n"]


async def test_streams_after_the_prompt_and_shows_token_alternatives() -> None:
    backend = ScriptedBackend(paris)
    app = CompletionApp(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_prompt(pilot, "The capital of France is")
        assert backend.prompts == ["The capital of France is"]
        assert shown(app, "#completion-output") == "The capital of France is Paris.\n"
        table = app.query_one("#completion-tokens", DataTable)
        assert table.row_count == 3
        assert "' Paris'" in shown(app, "#completion-alternatives")
        # Keyboard: into the token table, down one row -> the second token's alternatives.
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        alternatives = shown(app, "#completion-alternatives")
        assert "token 2: '.' 60.0%" in alternatives
        assert "alt1" in alternatives and "20.0%" in alternatives
        usage = shown(app, "#completion-usage")
        assert usage.startswith("stop · ↑5 ↓3") and "ttft" in usage


async def test_classification_preset_is_one_key() -> None:
    backend = ScriptedBackend(lambda prompt, params: [" positive", " review"])
    app = CompletionApp(backend, params=GenerationParams(temperature=0.9))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(CompletionView)
        await type_prompt(pilot, "Great film, loved it")
        await pilot.press("ctrl+l")
        assert app.query_one("#completion-max_tokens", Input).value == "1"
        assert app.query_one("#completion-logprobs", Input).value == "5"
        params = view.run_params()
        assert (params.max_tokens, params.logprobs, params.temperature, params.do_sample) == (
            1,
            5,
            0.0,
            False,
        )
        await pilot.press("ctrl+r")
        await wait_idle(pilot, view)
        assert backend.prompts == ["Great film, loved it\n\n###\n\n"]
        assert view.continuation == " positive"
        assert app.query_one("#completion-tokens", DataTable).row_count == 1
        alternatives = shown(app, "#completion-alternatives")
        assert alternatives.count("%") == 6  # the chosen token's line + its 5 alternatives
        assert shown(app, "#completion-usage").startswith("length")
        # Pressing it again does not append a second separator.
        await pilot.press("ctrl+l")
        assert app.query_one("#completion-prompt", TextArea).text == "Great film, loved it\n\n###\n\n"


async def test_escape_cancels_and_keeps_the_partial_text() -> None:
    backend = ScriptedBackend(lambda prompt, params: [f" w{i}" for i in range(200)], delay=0.05)
    app = CompletionApp(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(CompletionView)
        await type_prompt(pilot, "Count")

        def cancel_offered() -> bool:
            active = app.screen.active_bindings.get("escape")
            return active is not None and active.node is view

        assert not cancel_offered()  # nothing to cancel: the footer does not offer it
        await pilot.press("ctrl+r")
        while len(view.continuation.split()) < 3:
            await pilot.pause(0.05)
        assert cancel_offered()
        await pilot.press("escape")
        await wait_idle(pilot, view, timeout=5)
        partial = view.continuation
        assert 3 <= len(partial.split()) < 200
        assert shown(app, "#completion-usage").startswith("stopped")
        assert not cancel_offered()
        await asyncio.sleep(0.3)
        assert view.continuation == partial  # nothing arrives after the cancel
        assert backend.active == 0  # the backend's stream was closed


async def test_backend_error_is_one_line_and_bad_field_is_named() -> None:
    backend = ScriptedBackend(lambda prompt, params: ["a", "b", "c", "d"], fail_after=2)
    app = CompletionApp(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await run_prompt(pilot, "Hi")
        assert shown(app, "#completion-status") == "scripted: the server closed the stream"
        assert view.continuation == "ab"
        assert app.query_one("#completion-prompt", TextArea).text == "Hi"
        app.query_one("#completion-max_tokens", Input).value = "0"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert shown(app, "#completion-status") == "max_tokens: must be ≥ 1, got 0"
        assert len(backend.prompts) == 1


async def test_runs_are_saved_as_completion_sessions(tmp_path: Path) -> None:
    store = await AsyncStore.open(tmp_path / "gptbench.db")
    try:
        app = CompletionApp(ScriptedBackend(paris), store=store)
        async with app.run_test(size=(100, 30)) as pilot:
            view = await run_prompt(pilot, "The capital of France is")
            session_id = view.session_id
        session = await store.get_session(session_id)
        assert session.mode == "completion"
        path = await store.path(session_id)
        assert [(m.role, m.content, m.status) for m in path] == [
            ("user", "The capital of France is", "complete"),
            ("assistant", " Paris.\n", "complete"),
        ]
        # A view opened on that session shows the saved run again.
        app = CompletionApp(ScriptedBackend(paris), store=store, session_id=session_id)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert app.query_one("#completion-prompt", TextArea).text == "The capital of France is"
            assert shown(app, "#completion-output") == "The capital of France is Paris.\n"
    finally:
        await store.close()


async def test_tiny_gpt2_streams_a_continuation_with_top_logprobs(tiny_gpt2: Path) -> None:
    from gptbench.core.backends.local import LocalBackend

    backend = LocalBackend(str(tiny_gpt2))
    app = CompletionApp(backend, params=GenerationParams(do_sample=False))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            app.query_one("#completion-max_tokens", Input).value = "6"
            app.query_one("#completion-logprobs", Input).value = "3"
            view = await run_prompt(pilot, "Hello world")
            table = app.query_one("#completion-tokens", DataTable)
            assert table.row_count == 6
            assert view.continuation  # real text from the model
            assert shown(app, "#completion-output") == "Hello world" + view.continuation
            table.focus()
            await pilot.press("down", "down")
            await pilot.pause()
            alternatives = shown(app, "#completion-alternatives")
            assert alternatives.startswith("token 3: ")
            assert alternatives.count("%") == 4  # the chosen token + its top 3
            # Greedy: the chosen token is the most likely alternative.
            assert alternatives.splitlines()[1].startswith("▸ ")
            assert shown(app, "#completion-usage").startswith("length · ↑2 ↓6")
    finally:
        await backend.aclose()


async def test_keys_are_remappable_by_binding_id() -> None:
    backend = ScriptedBackend(paris)
    app = CompletionApp(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        app.set_keymap({"completion.run": "f9", "completion.classify": "f8"})
        view = app.query_one(CompletionView)
        await type_prompt(pilot, "Q")
        await pilot.press("f8")
        assert app.query_one("#completion-max_tokens", Input).value == "1"
        await pilot.press("f9")
        await wait_idle(pilot, view)
        assert backend.prompts == ["Q\n\n###\n\n"]
        assert view.continuation == " Paris"
