"""Tokens pane in a bare test App (the app shell's attributes are optional): live counts, bar, ids, next token."""

from __future__ import annotations

import re
import time

from gptbench.core.config import Settings
from gptbench.core.tokens import get_tokenizer
from gptbench.tui.panes.tokens import TokensPane
from scripted import screen as screen_text
from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList


class PaneApp(App):
    """A stand-in shell: only what the pane may read, and only when given."""

    def __init__(self, text: str = "", **attrs) -> None:
        super().__init__()
        self._text = text
        for name, value in attrs.items():
            setattr(self, name, value)

    def compose(self) -> ComposeResult:
        yield TokensPane(self._text)


async def wait_for(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out\n" + screen_text(pilot.app)
        await pilot.pause(0.02)


def counts_line(app: App) -> str:
    return next((line for line in screen_text(app).splitlines() if "o200k_base" in line), "")


def shown(app: App, name: str) -> int | None:
    m = re.search(rf"{name} ([\d,]+)", counts_line(app))
    return int(m.group(1).replace(",", "")) if m else None


async def test_typing_updates_counts_ratios_bar_and_cost() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 0)
        await pilot.press(*"hello world")
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 2)
        screen = screen_text(app)
        assert "cl100k_base 2" in screen and "r50k_base 2" in screen
        assert "11 chars · 11 bytes · 5.50 chars/token" in screen
        assert "2 + 256 / 128,000 (0.2%)" in screen  # gpt-4o-mini by default, max_tokens 256
        assert "cost ≤ $0.000154" in screen and "as of 2024-07-18" in screen
        await pilot.press(*", and ")
        app.query_one(TokensPane).editor.insert("世界 😀!")  # keys cannot spell these; a paste can
        text = "hello world, and 世界 😀!"
        expected = {n: get_tokenizer(n).count(text) for n in ("o200k_base", "cl100k_base", "r50k_base")}
        await wait_for(pilot, lambda: shown(app, "o200k_base") == expected["o200k_base"])
        assert shown(app, "cl100k_base") == expected["cl100k_base"]
        assert shown(app, "r50k_base") == expected["r50k_base"]
        assert f"{expected['o200k_base']} + 256 / 128,000" in screen_text(app)


async def test_model_and_max_tokens_change_the_bar_and_the_first_count() -> None:
    app = PaneApp(" ".join(["word"] * 3000))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 3000)
        model = app.query_one("#tokens-model", Input)
        model.value = "gpt-4"
        await wait_for(pilot, lambda: counts_line(app).lstrip().startswith("cl100k_base"))
        await wait_for(pilot, lambda: "3,000 + 256 / 8,192 (39.7%)" in screen_text(app))
        app.query_one("#tokens-max", Input).value = "6000"
        await wait_for(pilot, lambda: "3,000 + 6,000 / 8,192 (109.9%) over by 808" in screen_text(app))
        model.value = "davinci"
        await wait_for(pilot, lambda: "/ 2,049" in screen_text(app))
        assert counts_line(app).lstrip().startswith("r50k_base")
        assert "no price for davinci (add one under [prices] in the config)" in screen_text(app)
        model.value = "not-a-model"
        await wait_for(pilot, lambda: "unknown model 'not-a-model'" in screen_text(app))


async def test_ids_toggle_shows_the_cursor_lines_tokens() -> None:
    app = PaneApp("hello world")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 2)
        assert "24912" not in screen_text(app)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "hello:24912" in screen_text(app).replace(" ", ""))
        assert "world:2375" in screen_text(app).replace(" ", "")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "24912" not in screen_text(app))


async def test_big_text_counts_stay_exact_while_typing() -> None:
    text = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog, {i * 7}.\n" for i in range(3000))
    app = PaneApp(text)
    async with app.run_test(size=(80, 24)) as pilot:
        o200k = get_tokenizer("o200k_base")
        await wait_for(pilot, lambda: shown(app, "o200k_base") == o200k.count(text))
        app.query_one(TokensPane).editor.move_cursor((1500, 5))
        await pilot.press(*"xyz ")
        edited = app.query_one(TokensPane).editor.text
        await wait_for(pilot, lambda: shown(app, "o200k_base") == o200k.count(edited))
        assert shown(app, "cl100k_base") == get_tokenizer("cl100k_base").count(edited)


async def test_next_token_without_a_backend_says_so() -> None:
    app = PaneApp("hello")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "no model" in screen_text(app))


async def test_next_token_view_on_tiny_gpt2_picks_and_steps(tiny_backend) -> None:
    app = PaneApp("The quick brown", backend=tiny_backend, settings=Settings())
    async with app.run_test(size=(80, 24)) as pilot:
        # the loaded local model's own count is shown next to the encodings
        await wait_for(pilot, lambda: "local:" in counts_line(app))
        assert re.search(r"local:\S+ 3\b", counts_line(app))
        await pilot.press("ctrl+n")
        options = app.query_one("#tokens-next-list", OptionList)
        await wait_for(pilot, lambda: options.option_count == 10)
        rows = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        probs = [float(r.split("%")[0]) / 100 for r in rows]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-3
        assert all(r.split("%")[1].strip().startswith(("'", '"')) for r in rows)
        pane = app.query_one(TokensPane)
        first = pane._next_tokens[0]
        assert app.focused is options
        await pilot.press("enter")  # append the most likely token and ask again
        await wait_for(pilot, lambda: pane.editor.text == "The quick brown" + first)
        await wait_for(pilot, lambda: options.option_count == 10 and "…" not in screen_text(app))
        await pilot.press("escape")
        assert app.focused is pane.editor


async def test_pane_is_keyboard_only_and_fits_80x24() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 0)
        await pilot.press("ctrl+l")
        assert app.focused is app.query_one("#tokens-model", Input)
        await pilot.press("ctrl+a", "ctrl+k", *"gpt-4o")
        await pilot.press("tab", "tab")
        await pilot.press(*"abc")
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 1)
        screen = screen_text(app).splitlines()
        assert len(screen) == 24
        for needle in ("model", "o200k_base", "chars/token", "context", "cost"):
            assert any(needle in row for row in screen), needle


def test_bindings_have_ids() -> None:
    ids = {b.id for b in TokensPane.BINDINGS}
    assert {"tokens.toggle_ids", "tokens.next_token", "tokens.model"} <= ids


async def test_a_large_paste_is_counted_exactly() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 0)
        big = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n" * 20000  # ≈ 1.1 MB, ~200k tokens
        expected = get_tokenizer("o200k_base").count(big)
        pane = app.query_one(TokensPane)
        pane.editor.load_text(big)
        await wait_for(pilot, lambda: shown(app, "o200k_base") == expected, timeout=30)
        assert shown(app, "r50k_base") == get_tokenizer("r50k_base").count(big)


async def test_a_pasted_message_list_is_counted_in_chat_format() -> None:
    import json

    from gptbench.core.tokens import count_chat_tokens

    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Name a prime."}]
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 0)
        app.query_one(TokensPane).editor.insert(json.dumps(messages, indent=1))
        expected = count_chat_tokens(messages, "gpt-4o-mini")
        await wait_for(pilot, lambda: f"chat format: {expected} tokens for 2 messages" in screen_text(app))
        assert f"chat {'░' * 10}" in screen_text(app) and f" {expected} + 256 / 128,000" in screen_text(app)
        await pilot.press("end", "x")  # no longer valid JSON: back to plain text
        await wait_for(pilot, lambda: "chat format" not in screen_text(app))


async def test_in_the_app_shell_with_the_local_model(tiny_gpt2) -> None:
    """F3 opens the pane in the real app; it reads app.settings and app.backend (the loaded tiny GPT-2)."""
    from gptbench.core.backends.local import LocalBackend
    from gptbench.core.backends.pool import BackendPool
    from gptbench.tui.app import GptBenchApp

    backend = LocalBackend(str(tiny_gpt2), device="cpu", dtype="float32")  # the app closes it on exit
    await backend.load()
    settings = Settings(backend="local", model=backend.model)
    app = GptBenchApp(settings, pool=BackendPool(settings, factory=lambda *_: backend))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.chat_pane is not None and app.chat_pane.session is not None)
        await pilot.press("f3")
        await wait_for(pilot, lambda: bool(app.query(TokensPane)))
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 0)
        await pilot.press(*"Once upon a time")
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 4)
        await wait_for(pilot, lambda: re.search(r"local:\S+ 4\b", counts_line(app)) is not None)
        await pilot.press("ctrl+n")
        options = app.query_one("#tokens-next-list", OptionList)
        await wait_for(pilot, lambda: options.option_count == 10)


async def test_undo_and_redo_update_the_counts() -> None:
    app = PaneApp("hello")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 1)
        await pilot.press("end", "space", *"big", "space", *"world")
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 3)
        await pilot.press("ctrl+z")
        editor = app.query_one(TokensPane).editor
        await wait_for(
            pilot, lambda: shown(app, "o200k_base") == get_tokenizer("o200k_base").count(editor.text)
        )
        assert editor.text != "hello big world"
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: shown(app, "o200k_base") == 3 and editor.text == "hello big world")
