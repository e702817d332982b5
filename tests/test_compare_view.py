"""CompareView: one conversation, two targets, answers side by side; scheduling, cancel, bad input."""

from __future__ import annotations

import pytest
from gptbench.core.backends.pool import BackendPool
from gptbench.core.chat import Message
from gptbench.core.config import Settings
from gptbench.core.errors import ParamError
from gptbench.core.params import GenerationParams
from gptbench.core.store import AsyncStore
from gptbench.tui.panes.chat.compare import CompareView, Target, format_params, parse_params
from gptbench.tui.widgets.message_view import MessageView
from scripted import ScriptedBackend, shown, wait_idle
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

QUESTION = [Message("system", "Be brief."), Message("user", "Name a colour.")]


def by_seed(prompt: str, params: GenerationParams) -> list[str]:
    colour = {1: "red", 2: "blue"}.get(params.seed, "grey")
    return ["The", " colour", " is", f" {colour}", "."]


class CompareApp(App):
    def __init__(self, view: CompareView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield self.view


def answer(app: App, side: str) -> str:
    return app.query_one(f"#{side}-answer MessageView", MessageView).source


async def set_field(pilot, selector: str, text: str) -> None:
    pilot.app.query_one(selector, Input).focus()
    await pilot.press("end", "ctrl+u", *["space" if ch == " " else ch for ch in text])


async def test_two_param_sets_answer_side_by_side_concurrently() -> None:
    backend = ScriptedBackend(by_seed, kind="openai", delay=0.02)
    view = CompareView(
        QUESTION,
        left=Target("openai", "scripted", GenerationParams(seed=1), backend),
        right=Target("openai", "scripted", GenerationParams(seed=1), backend),
    )
    app = CompareApp(view)
    async with app.run_test(size=(100, 30)) as pilot:
        await set_field(pilot, "#right-params", "seed=2 temperature=1")
        await pilot.press("ctrl+r")
        await wait_idle(pilot, view)
        assert answer(app, "left") == "The colour is red."
        assert answer(app, "right") == "The colour is blue."
        assert backend.max_active == 2  # remote targets stream at the same time
        assert backend.prompts == ["system: Be brief.\nuser: Name a colour."] * 2
        for side in ("left", "right"):
            usage = shown(app, f"#{side}-usage")
            assert usage.startswith("stop · ↑7 ↓5") and "tok/s" in usage and "ttft" in usage
        # Side by side: the two answers share rows on screen, left one to the left.
        left = app.query_one("#left-answer").region
        right = app.query_one("#right-answer").region
        assert left.y == right.y and left.right <= right.x
        header = str(app.query_one("#right-answer MessageView .header", Static).render())
        assert header == "Assistant  openai:scripted"


async def test_two_local_targets_run_one_after_the_other() -> None:
    backend = ScriptedBackend(by_seed, kind="local", delay=0.02)
    view = CompareView(
        QUESTION,
        left=Target("local", None, GenerationParams(seed=1), backend),
        right=Target("local", None, GenerationParams(seed=2), backend),
    )
    app = CompareApp(view)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+r")
        await wait_idle(pilot, view)
        assert backend.max_active == 1
        assert (answer(app, "left"), answer(app, "right")) == ("The colour is red.", "The colour is blue.")
        assert view.results == {
            "left": ("The colour is red.", "stop"),
            "right": ("The colour is blue.", "stop"),
        }


async def test_escape_stops_both_sides() -> None:
    backend = ScriptedBackend(lambda p, params: [f" w{i}" for i in range(300)], kind="openai", delay=0.03)
    view = CompareView(
        QUESTION, left=Target("openai", "a", backend=backend), right=Target("openai", "b", backend=backend)
    )
    app = CompareApp(view)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+r")
        while len(answer(app, "right").split()) < 3:
            await pilot.pause(0.05)
        await pilot.press("escape")
        await wait_idle(pilot, view, timeout=5)
        assert backend.active == 0
        for side in ("left", "right"):
            text, reason = view.results[side]
            assert reason == "stopped" and 3 <= len(text.split()) < 300
            assert shown(app, f"#{side}-usage") == "stopped"


async def test_bad_params_and_empty_conversation_are_named() -> None:
    backend = ScriptedBackend(by_seed)
    view = CompareView([], left=Target(backend=backend), right=Target(backend=backend))
    app = CompareApp(view)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert shown(app, "#compare-status") == "the prompt is empty: write a message first"
        view.set_conversation(QUESTION)
        await set_field(pilot, "#left-params", "temperature=-1")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert shown(app, "#left-error") == "left: temperature: must be in [0, 2], got -1"
        assert shown(app, "#compare-status") == "temperature: must be in [0, 2], got -1"
        assert backend.prompts == []


async def test_a_failing_side_shows_one_line_and_the_other_answers() -> None:
    good = ScriptedBackend(by_seed, kind="openai")
    bad = ScriptedBackend(by_seed, kind="openai", model="flaky", fail_after=2)
    view = CompareView(
        QUESTION, left=Target("openai", "a", backend=good), right=Target("openai", "b", backend=bad)
    )
    app = CompareApp(view)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+r")
        await wait_idle(pilot, view)
        assert view.results["left"] == ("The colour is grey.", "stop")
        assert view.results["right"] == ("The colour", "error")
        header = str(app.query_one("#right-answer MessageView .header", Static).render())
        assert header.endswith("⚠ flaky: the server closed the stream")


async def test_answers_are_saved_as_alternatives_without_moving_the_branch(tmp_path) -> None:
    store = await AsyncStore.open(tmp_path / "gptbench.db")
    try:
        session = await store.create_session("Colours", system_prompt="Be brief.")
        user = await store.add_user_message(session.id, "Name a colour.")
        (first,) = await store.begin_replies(session.id, user.id)
        await store.finish_reply(first.id, content="Green.", status="complete", finish_reason="stop")
        messages = [
            Message("system", "Be brief."),
            Message("user", "Name a colour."),
            Message("assistant", "Green."),
        ]
        backend = ScriptedBackend(by_seed, kind="openai")
        view = CompareView(
            messages,
            left=Target("openai", "m1", GenerationParams(seed=1), backend),
            right=Target("openai", "m2", GenerationParams(seed=2), backend),
            session_id=session.id,
            parent_id=user.id,
        )
        app = CompareApp(view)
        app.store = store
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("ctrl+r")
            await wait_idle(pilot, view)
        # The reply already given is not sent: both targets answer the last user turn.
        assert backend.prompts == ["system: Be brief.\nuser: Name a colour."] * 2
        replies = await store.siblings(first.id)
        assert [(m.content, m.model, m.status, m.params.seed) for m in replies] == [
            ("Green.", None, "complete", None),
            ("The colour is red.", "m1", "complete", 1),
            ("The colour is blue.", "m2", "complete", 2),
        ]
        assert [m.content for m in await store.path(session.id)][-1] == "Green."  # active branch unchanged
    finally:
        await store.close()


async def test_targets_chosen_with_the_keyboard_come_from_the_app_pool() -> None:
    made: list[ScriptedBackend] = []

    def factory(settings, kind, model, base_url):
        made.append(ScriptedBackend(lambda prompt, params: [f"I am {model}."], kind=kind, model=model))
        return made[-1]

    view = CompareView(QUESTION)
    app = CompareApp(view)
    app.pool = BackendPool(Settings(), factory=factory)
    async with app.run_test(size=(100, 30)) as pilot:
        await set_field(pilot, "#left-model", "m-a")
        await set_field(pilot, "#right-model", "m-b")
        app.query_one("#right-kind").focus()
        await pilot.press("enter", "down", "enter")  # local -> openai
        await pilot.press("ctrl+r")
        await wait_idle(pilot, view)
        assert [(b.kind, b.model) for b in made] == [("local", "m-a"), ("openai", "m-b")]
        assert (answer(app, "left"), answer(app, "right")) == ("I am m-a.", "I am m-b.")
        header = str(app.query_one("#right-answer MessageView .header", Static).render())
        assert header == "Assistant  openai:m-b"


def test_params_line_round_trip() -> None:
    params = GenerationParams(temperature=0.7, seed=2, stop=("\n\n", 'say "x"'), do_sample=True, max_tokens=9)
    assert parse_params(format_params(params)) == params
    assert parse_params("max_new_tokens=5 top_k=3") == GenerationParams(max_tokens=5, top_k=3)
    with pytest.raises(ParamError, match="^colour: unknown generation parameter"):
        parse_params("colour=red")
    with pytest.raises(ParamError, match="expected key=value"):
        parse_params("temperature")


async def test_tiny_gpt2_two_seeds_give_two_answers(tiny_gpt2) -> None:
    from gptbench.core.backends.local import LocalBackend

    backend = LocalBackend(str(tiny_gpt2))
    sampled = GenerationParams(do_sample=True, temperature=1.0, max_tokens=8)
    view = CompareView(
        QUESTION,
        left=Target("local", None, sampled.merged(seed=1), backend),
        right=Target("local", None, sampled.merged(seed=2), backend),
    )
    app = CompareApp(view)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("ctrl+r")
            await wait_idle(pilot, view)
            (left, left_reason), (right, right_reason) = view.results["left"], view.results["right"]
            assert left_reason == right_reason == "length"  # 8 tokens each, no EOS from random weights
            assert left and right and left != right
            assert answer(app, "left") == left and answer(app, "right") == right
            for side in ("left", "right"):
                assert "↓" in shown(app, f"#{side}-usage") and "tok/s" in shown(app, f"#{side}-usage")
    finally:
        await backend.aclose()
