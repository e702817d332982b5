"""Token logprobs in the store: the compact encoding, saving through ReplyRecorder, migration 2 from a version-1
database, and the completion view's token table coming back after a session switch and an app restart."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
from gptbench.core.backends.base import Delta, Finish, TokenLogprob, Usage
from gptbench.core.config import Settings
from gptbench.core.errors import InputError
from gptbench.core.params import GenerationParams
from gptbench.core.store import MIGRATIONS, AsyncStore, ReplyRecorder, Store, StoreError, db
from gptbench.core.store.models import decode_logprobs, encode_logprobs
from gptbench.tui.app import GptBenchApp
from gptbench.tui.panes.chat.completion import CompletionView
from scripted import ScriptedPool, screen, shown, wait_for
from test_chat_pane import ask, ready
from test_completion_view import CompletionApp, run_prompt
from textual.widgets import DataTable, Input, TextArea

SIZE = (100, 30)

PARIS = (
    TokenLogprob(
        " Paris", math.log(0.6), ((" Paris", math.log(0.6)), (" Lyon", math.log(0.2)), ("\n", -math.inf))
    ),
    TokenLogprob(".", -0.1053605156578263, ()),  # no alternatives asked (logprobs=0)
    # The chosen token outside its own top list (sampling picked a token below the top k).
    TokenLogprob(" é\n", -3.25, (("🙂", -0.5), ('"q"', -1.0))),
)


# --- encoding ----------------------------------------------------------------------------------------------


def test_encoding_is_compact_and_reads_back_exactly() -> None:
    text = encode_logprobs(PARIS)
    assert text is not None
    rows = json.loads(text)
    # One array per token; the chosen token inside its own top list is a bare null, not a second copy.
    assert rows[0] == [" Paris", math.log(0.6), None, " Lyon", math.log(0.2), "\n", -math.inf]
    assert rows[1] == [".", -0.1053605156578263]
    assert " " not in text.replace(" Paris", "").replace(" Lyon", "").replace(" é", "")  # no padding
    assert "🙂" in text  # not escaped: stays short
    assert decode_logprobs(text) == PARIS
    assert encode_logprobs(()) is None and decode_logprobs(None) == ()


@pytest.mark.parametrize(
    "stored", ["not json", '{"a": 1}', "[[1, 0.5]]", '[["a"]]', '[["a", "x"]]', '[["a", 0, "b"]]']
)
def test_a_damaged_value_is_a_one_line_error(stored: str) -> None:
    with pytest.raises(InputError, match="^logprobs: unreadable stored value") as info:
        decode_logprobs(stored)
    assert "\n" not in str(info.value)


# --- saving ------------------------------------------------------------------------------------------------


def test_finish_reply_stores_logprobs_and_path_reads_them_back(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        session = store.create_session("c", mode="completion")
        user = store.add_user_message(session.id, "The capital of France is")
        (reply,) = store.begin_replies(session.id, user.id)
        assert reply.logprobs == ()
        store.finish_reply(reply.id, content=" Paris. é\n", status="complete", logprobs=PARIS)
        plain = store.add_user_message(session.id, "no logprobs asked")
        (other,) = store.begin_replies(session.id, plain.id)
        store.finish_reply(other.id, content="ok", status="complete")
    with Store.open(tmp_path / "s.db") as store:
        path = store.path(session.id)
        assert path[1].logprobs == PARIS
        assert path[3].logprobs == () and path[3].logprobs_json is None
        raw = store.conn.execute("SELECT logprobs FROM messages WHERE id = ?", (reply.id,)).fetchone()[0]
        assert raw == encode_logprobs(PARIS)
        # A hand-damaged row: the message still reads, its logprobs are a one-line error naming it.
        store.conn.execute("UPDATE messages SET logprobs = 'oops' WHERE id = ?", (reply.id,))
        damaged = store.get_message(reply.id)
        assert damaged.content == " Paris. é\n"
        with pytest.raises(InputError, match=f"^message {reply.id}: logprobs: unreadable"):
            _ = damaged.logprobs


def _lp(token: str, p: float) -> TokenLogprob:
    return TokenLogprob(token, math.log(p), ((token, math.log(p)), ("x", math.log(1 - p))))


async def test_recorder_saves_each_choices_logprobs_on_finish_stop_and_error(tmp_path: Path) -> None:
    store = await AsyncStore.open(tmp_path / "s.db")
    try:
        session = await store.create_session("r")
        user = await store.add_user_message(session.id, "q")

        # Two choices, finished: each keeps its own tokens, in order, across several deltas.
        replies = await store.begin_replies(session.id, user.id, n=2)
        recorder = ReplyRecorder(store, replies, interval=0)
        for delta in (
            Delta("A", 0, (_lp("A", 0.9),)),
            Delta("B", 1, (_lp("B", 0.8),)),
            Delta(" a", 0, (_lp(" a", 0.7),)),
            Delta("", 1),  # a delta without logprobs adds none
        ):
            await recorder.add(delta.text, delta.index, delta.logprobs)
        saved = await recorder.finish(Finish(("stop", "length"), Usage(1, 3), 0.1, 0.2))
        assert [m.logprobs for m in saved] == [(_lp("A", 0.9), _lp(" a", 0.7)), (_lp("B", 0.8),)]
        assert [(await store.get_message(m.id)).logprobs for m in replies] == [m.logprobs for m in saved]

        # Stopped (Esc) and failed: what was received is kept with the partial text.
        for error in (None, "scripted: the server closed the stream"):
            (reply,) = await store.regenerate(replies[0].id)
            recorder = ReplyRecorder(store, [reply])
            await recorder.add("Par", 0, (_lp("Par", 0.5),))
            (saved,) = await recorder.stop(error=error)
            assert saved.status == ("stopped" if error is None else "error")
            assert (saved.content, saved.logprobs) == ("Par", (_lp("Par", 0.5),))
    finally:
        await store.close()


# --- migration ---------------------------------------------------------------------------------------------


def _version_1_database(path: Path) -> None:
    """A database as gptbench with schema version 1 left it: two sessions, a branch, a crashed reply."""
    conn = sqlite3.connect(path)
    conn.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(
        """
        INSERT INTO sessions (id, title, system_prompt, backend, model, params, mode, created_at, updated_at)
        VALUES (1, 'Geography', 'Be brief.', 'local', 'smollm2', '{"temperature": 0.5}', 'chat', 1.0, 5.0),
               (2, 'Classifier', '', 'openai', 'davinci-002', '{"logprobs": 5}', 'completion', 2.0, 4.0);
        INSERT INTO messages (id, session_id, parent_id, role, content, status, finish_reason, prompt_tokens,
                              completion_tokens, selected, created_at, updated_at)
        VALUES (1, 1, NULL, 'user', 'Capital of France?', 'complete', NULL, NULL, NULL, 1, 1.0, 1.0),
               (2, 1, 1, 'assistant', 'Paris.', 'complete', 'stop', 12, 2, 1, 1.1, 1.1),
               (3, 1, 2, 'user', 'And Italy?', 'complete', NULL, NULL, NULL, 1, 1.2, 1.2),
               (4, 1, 3, 'assistant', 'Ro', 'streaming', NULL, NULL, NULL, 1, 1.3, 1.3),
               (5, 2, NULL, 'user', 'Great film ->', 'complete', NULL, NULL, NULL, 1, 2.0, 2.0),
               (6, 2, 5, 'assistant', ' positive', 'complete', 'length', 3, 1, 1, 2.1, 2.1);
        UPDATE sessions SET current_leaf_id = 4 WHERE id = 1;
        UPDATE sessions SET current_leaf_id = 6 WHERE id = 2;
        """
    )
    conn.close()


def test_a_version_1_database_upgrades_in_place_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "gptbench.db"
    _version_1_database(path)
    with Store.open(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
        assert [(s.id, s.title, s.mode) for s in store.list_sessions()] == [
            (1, "Geography", "chat"),
            (2, "Classifier", "completion"),
        ]
        geography = store.get_session(1)
        assert (geography.system_prompt, geography.params.temperature) == ("Be brief.", 0.5)
        path_1 = store.path(1)
        assert [(m.role, m.content, m.status) for m in path_1] == [
            ("user", "Capital of France?", "complete"),
            ("assistant", "Paris.", "complete"),
            ("user", "And Italy?", "complete"),
            ("assistant", "Ro", "stopped"),  # the crashed reply, as any open marks it
        ]
        assert (path_1[1].prompt_tokens, path_1[1].finish_reason) == (12, "stop")
        assert all(m.logprobs == () for m in path_1)
        assert [m.content for m in store.path(2)] == ["Great film ->", " positive"]
        # The upgraded file takes new replies with their logprobs.
        (again,) = store.regenerate(6)
        store.finish_reply(again.id, content=" Paris. é\n", status="complete", logprobs=PARIS)
    with Store.open(path) as store:
        assert store.path(2)[-1].logprobs == PARIS
        assert store.get_message(6).content == " positive"


def test_an_upgraded_database_is_refused_unchanged_by_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gptbench.db"
    _version_1_database(path)
    Store.open(path).close()
    before = path.read_bytes()
    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS[:1])  # gptbench as it was before migration 2
    with pytest.raises(StoreError, match="newer gptbench .schema version 2; this version knows up to 1"):
        Store.open(path)
    assert path.read_bytes() == before


# --- the app -----------------------------------------------------------------------------------------------


def token_table(app) -> list[tuple[str, ...]]:
    """The token table's rows as its cells show them (#, token, p)."""
    table = app.query_one("#completion-tokens", DataTable)
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def alternatives(pilot) -> list[str]:
    """The alternatives panel for every row, moving through the table with the keyboard."""
    table = pilot.app.query_one("#completion-tokens", DataTable)
    table.focus()
    await pilot.press("home")
    out = []
    for row in range(table.row_count):
        if row:
            await pilot.press("down")
        await wait_for(
            pilot,
            lambda row=row: shown(pilot.app, "#completion-alternatives").startswith(f"token {row + 1}:"),
        )
        out.append(shown(pilot.app, "#completion-alternatives"))
    return out


def scripted_app() -> tuple[GptBenchApp, ScriptedPool]:
    settings = Settings(model="scripted")
    pool = ScriptedPool(settings)
    pool.get().script = [" Paris", ".", "\n", " é"]
    return GptBenchApp(settings, pool=pool), pool


async def test_completion_token_table_comes_back_after_restart_and_session_switch() -> None:
    app, _ = scripted_app()
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: app.query("#completion-prompt"))
        app.query_one("#completion-prompt", TextArea).text = "The capital of France is"
        app.query_one("#completion-logprobs", Input).value = "3"
        app.query_one("#completion-prompt", TextArea).focus()
        await pilot.press("ctrl+r")
        view = app.query_one(CompletionView)
        await wait_for(pilot, lambda: not view.running and len(token_table(app)) == 4)
        ran = token_table(app)
        ran_alternatives = await alternatives(pilot)
        completion_session = chat.session.id
    assert ran == [
        ("1", "' Paris'", "60.0%"),
        ("2", "'.'", "60.0%"),
        ("3", "'\\n'", "60.0%"),
        ("4", "' é'", "60.0%"),
    ]
    assert "alt2" in ran_alternatives[0] and "13.3%" in ran_alternatives[0]

    again, _ = scripted_app()
    async with again.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        assert chat.session.id == completion_session
        await wait_for(pilot, lambda: again.query("#completion-tokens") and len(token_table(again)) == 4)
        assert token_table(again) == ran
        on_screen = screen(again)
        assert "' Paris'" in on_screen and "'\\n'" in on_screen and "60.0%" in on_screen
        assert shown(again, "#completion-output") == "The capital of France is Paris.\n é"
        assert await alternatives(pilot) == ran_alternatives

        # Switch to a new chat session and back through the sidebar: the table is rebuilt from the store.
        await pilot.press("ctrl+n")
        await wait_for(
            pilot, lambda: chat.session.id != completion_session and not again.query("#completion-tokens")
        )
        await pilot.press("ctrl+b", "down", "enter")
        await wait_for(
            pilot, lambda: chat.session.id == completion_session and again.query("#completion-tokens")
        )
        await wait_for(pilot, lambda: len(token_table(again)) == 4)
        assert token_table(again) == ran
        assert await alternatives(pilot) == ran_alternatives


async def test_chat_reply_asked_with_logprobs_is_saved_with_them() -> None:
    app, pool = scripted_app()
    pool.get().script = None  # the echo
    async with app.run_test(size=(120, 40)) as pilot:
        chat = await ready(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: app.query("#param-logprobs"))
        field = app.query_one("#param-logprobs", Input)
        field.focus()
        await pilot.press(*"2")
        await wait_for(pilot, lambda: chat.session.params.logprobs == 2)
        await pilot.press("ctrl+o")
        await ask(pilot, chat, "hello there")
        reply = (await app.store.path(chat.session.id))[-1]
    assert [lp.token for lp in reply.logprobs] == ["Echo:", " hello", " there"]
    assert [len(lp.top) for lp in reply.logprobs] == [2, 2, 2]
    assert reply.logprobs[0].top[1] == ("alt1", math.log(0.2))


async def test_tiny_gpt2_token_table_is_the_same_after_reopening(tmp_path: Path, tiny_gpt2: Path) -> None:
    from gptbench.core.backends.local import LocalBackend

    backend = LocalBackend(str(tiny_gpt2), device="cpu", dtype="float32")
    store = await AsyncStore.open(tmp_path / "gptbench.db")
    try:
        app = CompletionApp(backend, params=GenerationParams(do_sample=False), store=store)
        async with app.run_test(size=SIZE) as pilot:
            app.query_one("#completion-max_tokens", Input).value = "6"
            app.query_one("#completion-logprobs", Input).value = "3"
            view = await run_prompt(pilot, "Hello world")
            ran, ran_alternatives = token_table(app), await alternatives(pilot)
            ran_output = shown(app, "#completion-output")
            session_id = view.session_id
        assert len(ran) == 6 and all(row[2].endswith("%") for row in ran)
    finally:
        await store.close()
        await backend.aclose()

    store = await AsyncStore.open(tmp_path / "gptbench.db")  # as after a restart: a fresh connection
    try:
        app = CompletionApp(backend, store=store, session_id=session_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(token_table(app)) == 6)
            assert token_table(app) == ran
            assert shown(app, "#completion-output") == ran_output
            assert await alternatives(pilot) == ran_alternatives
    finally:
        await store.close()
