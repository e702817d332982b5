"""The app shell through Pilot: panes and their keys, coming notes, keymap override, themes remembered,
80x24 in a 16-colour theme, the command palette, status line, and errors shown as one line."""

from __future__ import annotations

import json

from gptbench.core.config import Settings, load_settings
from gptbench.tui.app import GptBenchApp
from gptbench.tui.panes.chat import ChatPane
from gptbench.tui.panes.placeholder import ComingSoon
from gptbench.tui.state import state_path
from scripted import ScriptedPool, screen
from test_chat_pane import ask, ready, screen_text, wait_for
from textual.widgets import Markdown


def make_app(settings: Settings | None = None) -> GptBenchApp:
    settings = settings or Settings(model="scripted")
    return GptBenchApp(settings, pool=ScriptedPool(settings))


def toasts(app: GptBenchApp) -> str:
    """The text of the notifications on screen."""
    return "\n".join(str(t.render()) for t in app.screen.query("Toast"))


def active(app: GptBenchApp) -> str:
    return app.active_pane


async def test_function_keys_switch_panes_and_unbuilt_panes_say_what_is_coming():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert active(app) == "chat"
        await pilot.press("f2")
        await wait_for(pilot, lambda: active(app) == "templates")
        note = app.query_one("#templates ComingSoon", ComingSoon)
        text = note.query_one(Markdown).source
        assert "Templates — coming" in text and "variables" in text
        await pilot.press("f5")
        await wait_for(pilot, lambda: active(app) == "finetune")
        assert "Fine-tune — coming" in app.query_one("#finetune ComingSoon Markdown", Markdown).source
        await pilot.press("ctrl+1")
        await wait_for(pilot, lambda: active(app) == "chat")
        top = screen(app).splitlines()[:2]  # status line, then the pane bar: both visible
        for title in ("Chat F1", "Templates F2", "Tokens F3", "Dataset F4", "Fine-tune F5"):
            assert title in top[1]


async def test_status_line_names_backend_model_and_state():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        status = screen(app).splitlines()[0]  # on screen, not just in the widget
        assert status.strip().startswith("local · scripted")


async def test_keymap_from_config_remaps_binding_ids(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\n"app.pane.tokens" = "f9"\n"chat.regenerate" = "f8"\n')
    settings = load_settings(config, env={})
    settings.model = "scripted"
    app = make_app(settings)
    backend = app.pool.get()
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(pilot)
        await pilot.press("f3")  # no longer bound
        await pilot.pause(0.1)
        assert active(app) == "chat"
        await pilot.press("f9")
        await wait_for(pilot, lambda: active(app) == "tokens")
        await pilot.press("f1")
        await wait_for(pilot, lambda: active(app) == "chat")
        await ask(pilot, chat, "hi")
        backend.script = ["Regenerated"]
        await pilot.press("ctrl+r")  # remapped away
        await pilot.pause(0.2)
        assert "Regenerated" not in screen_text(app)
        await pilot.press("f8")
        await wait_for(pilot, lambda: not chat.generating and "Regenerated" in screen_text(app))


async def test_theme_choice_is_remembered_across_restart_without_touching_config():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert app.theme == "gptbench-dark"
        app.theme = "gptbench-light"
        await wait_for(pilot, lambda: state_path().exists())
    assert json.loads(state_path().read_text())["theme"] == "gptbench-light"
    again = make_app()
    async with again.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert again.theme == "gptbench-light"
        assert again.current_theme.dark is False
        # Really applied at start (classes and colours), not just the name remembered.
        assert {"-theme-gptbench-light", "-light-mode"} <= set(again.classes)
        assert again.screen.styles.background.hex.upper() == again.current_theme.background.upper()


async def test_theme_switch_through_the_command_palette():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.query("CommandInput"))
        await pilot.press(*"Theme: gptbench-light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "gptbench-light")
        await wait_for(pilot, lambda: state_path().exists())
        assert json.loads(state_path().read_text())["theme"] == "gptbench-light"


async def test_palette_opens_panes_and_sessions():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(pilot)
        await ask(pilot, chat, "palette target")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: chat.session.title == "New chat")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.query("CommandInput"))
        await pilot.press(*"Session: palette target")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: chat.session.title == "palette target")
        await wait_for(pilot, lambda: "Echo: palette target" in screen_text(app))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.query("CommandInput"))
        await pilot.press(*"Pane: Dataset")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: active(app) == "dataset")


async def test_80x24_in_the_16_colour_theme_without_mouse():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "ansi-dark"
        chat = await ready(pilot)
        await ask(pilot, chat, "small screen")
        prompt = app.query_one("#prompt")
        assert prompt.region.width > 40 and prompt.region.bottom <= 24
        assert app.query_one("#messages").region.height >= 8
        await pilot.press("ctrl+o")  # settings side panel, by keyboard
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "chat-system")
        await pilot.press("ctrl+o")
        for key in ("f2", "f3", "f4", "f5", "f1"):
            await pilot.press(key)
            await pilot.pause(0.05)
        assert active(app) == "chat"


async def test_worker_failure_becomes_one_notification_not_a_traceback():
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        chat = await ready(pilot)

        async def broken() -> None:
            raise RuntimeError("disk full\nwith details")

        chat.spawn(broken)
        await wait_for(pilot, lambda: "disk full" in toasts(app))
        assert [t for t in toasts(app).splitlines() if "disk" in t] == [
            "RuntimeError: disk full with details"
        ]
        assert app.is_running
        assert isinstance(app.query_one(ChatPane), ChatPane)
