"""ParamsPanel: validation as you type, presets, stop escapes, backend marks, keyboard use in a narrow panel."""

from __future__ import annotations

import pytest
from gptbench.core.errors import ParamError
from gptbench.core.params import PRESETS, GenerationParams
from gptbench.tui.widgets.params_panel import ParamsPanel, format_stop, parse_stop
from textual.app import App, ComposeResult
from textual.widgets import Input, Select, Static


class PanelApp(App):
    def __init__(self, params: GenerationParams | None = None, kind: str = "local") -> None:
        super().__init__()
        self.start = params or GenerationParams()
        self.kind = kind
        self.changes: list[GenerationParams] = []

    def compose(self) -> ComposeResult:
        yield ParamsPanel(self.start, self.kind)

    def on_params_panel_changed(self, event: ParamsPanel.Changed) -> None:
        self.changes.append(event.params)


async def type_into(pilot, selector: str, text: str) -> None:
    """Focus a field, clear it with the keyboard and type `text`."""
    pilot.app.query_one(selector).focus()
    await pilot.press("end", "ctrl+u", *list(text))
    await pilot.pause()


async def test_temperature_error_names_field_then_fix_posts_changed() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "#param-temperature", "-1")
        error = app.query_one("#error-temperature", Static)
        assert error.display
        assert "temperature" in str(error.render())
        assert "must be in [0, 2]" in str(error.render())
        assert app.changes == []  # never posts invalid params
        await type_into(pilot, "#param-temperature", "0.7")
        assert not error.display
        assert app.changes[-1] == GenerationParams(temperature=0.7)
        assert app.query_one(ParamsPanel).params.temperature == 0.7


async def test_not_a_number_and_bad_int_are_named() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "#param-top_k", "1.5")
        await type_into(pilot, "#param-top_p", "abc")
        panel = app.query_one(ParamsPanel)
        assert panel.errors["top_k"].startswith("top_k: expected a whole number")
        assert panel.errors["top_p"].startswith("top_p: expected a number")
        assert app.changes == [GenerationParams(top_k=1)]  # typing "1" of "1.5" was valid on its way
        await type_into(pilot, "#param-top_k", "40")
        assert app.changes == [GenerationParams(top_k=1)]  # top_p still wrong: nothing posted
        await type_into(pilot, "#param-top_p", "")
        assert app.changes[-1] == GenerationParams(top_k=40)


async def test_balanced_preset_fills_fields_and_posts() -> None:
    app = PanelApp(GenerationParams(max_tokens=50))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#param-preset", Select).focus()
        await pilot.press("enter")  # open the list
        await pilot.press("down", "enter")  # first option is "balanced"
        await pilot.pause()
        assert app.query_one("#param-temperature", Input).value == "0.8"
        assert app.query_one("#param-top_p", Input).value == "0.9"
        assert app.query_one("#param-repetition_penalty", Input).value == "1.1"
        assert app.query_one("#param-do_sample", Select).value == "sample"
        assert app.query_one("#param-max_tokens", Input).value == ""
        assert app.changes == [PRESETS["balanced"]]
        await type_into(pilot, "#param-seed", "3")
        assert app.changes[-1] == PRESETS["balanced"].merged(seed=3)
        assert app.query_one("#param-preset", Select).is_blank()


async def test_stop_field_with_escapes() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "#param-stop", "\\n\\n, ###,\\sEND")
        assert app.changes[-1].stop == ("\n\n", "###", " END")
        await type_into(pilot, "#param-stop", "a,b,c,d,e")
        assert "stop: at most 4 stop sequences" in app.query_one(ParamsPanel).errors["stop"]
        await type_into(pilot, "#param-stop", "\\q")
        assert "unknown escape" in app.query_one(ParamsPanel).errors["stop"]


def test_stop_round_trip() -> None:
    for stop in [("\n\n###\n\n",), (" Human:", "a,b", "back\\slash", "\t")]:
        assert parse_stop(format_stop(stop)) == stop
    assert parse_stop("") == ()
    with pytest.raises(ParamError, match="stop sequence 2 is empty"):
        parse_stop("a,,b")


async def test_openai_marks_knobs_it_cannot_honour() -> None:
    app = PanelApp(kind="openai")
    async with app.run_test(size=(80, 24)):
        panel = app.query_one(ParamsPanel)
        assert app.query_one("#label-top_k").has_class("-unhonoured")
        assert app.query_one("#label-repetition_penalty").has_class("-unhonoured")
        assert not app.query_one("#label-temperature").has_class("-unhonoured")
        note = str(app.query_one("#params-note", Static).render())
        assert "top_k" in note and "repetition_penalty" in note
        panel.set_backend_kind("local")
        assert not app.query_one("#label-top_k").has_class("-unhonoured")
        assert str(app.query_one("#params-note", Static).render()) == ""


async def test_do_sample_choice_and_keyboard_only_in_narrow_panel() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 10)) as pilot:
        panel = app.query_one(ParamsPanel)
        assert panel.size.width <= 36
        # Tab from the preset reaches do_sample, then max tokens: everything is reachable without a mouse.
        app.query_one("#param-preset").focus()
        await pilot.press("tab")
        assert app.focused.id == "param-do_sample"
        await pilot.press("enter", "down", "down", "enter")  # auto -> sample -> greedy
        await pilot.pause()
        assert app.changes[-1] == GenerationParams(do_sample=False)
        await pilot.press("tab", "1", "2", "8")
        await pilot.pause()
        assert app.changes[-1] == GenerationParams(do_sample=False, max_tokens=128)
        # In a short terminal the last field is still reachable by keyboard and scrolled into view.
        app.query_one("#param-max_length").focus()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        assert panel.scroll_y > 0
        assert app.query_one("#param-max_length").region.bottom <= 10


async def test_set_params_shows_values_without_posting() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(ParamsPanel)
        panel.set_params(GenerationParams(seed=7, stop=("\n",), n=2))
        await pilot.pause()
        assert app.query_one("#param-seed", Input).value == "7"
        assert app.query_one("#param-stop", Input).value == "\\n"
        assert app.query_one("#param-n", Input).value == "2"
        assert app.changes == []
        assert panel.params == GenerationParams(seed=7, stop=("\n",), n=2)
