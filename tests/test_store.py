"""The SQLite store: safe open, migrations, sessions, the message tree, streaming saves and crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gptbench.core.backends.base import Finish, Usage
from gptbench.core.chat import Message
from gptbench.core.config import load_settings
from gptbench.core.errors import GptbenchError, InputError
from gptbench.core.params import PRESETS, GenerationParams
from gptbench.core.store import (
    MIGRATIONS,
    AsyncStore,
    ReplyRecorder,
    Store,
    StoreError,
    conversation,
    db,
)


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "s.db") as s:
        yield s


def _turn(store: Store, session_id: int, prompt: str, answer: str, status: str = "complete"):
    user = store.add_user_message(session_id, prompt)
    (reply,) = store.begin_replies(session_id, user.id)
    reply = store.finish_reply(reply.id, content=answer, status=status)
    return user, reply


def _contents(messages) -> list[str]:
    return [m.content for m in messages]


# --- opening, migrations, refusing files ---------------------------------------------------------------------


def test_fresh_database_is_migrated_in_wal_mode_and_reopens_unchanged(isolated_dirs: Path) -> None:
    with Store.open() as store:  # default place: the data dir
        assert store.db_path == isolated_dirs / "data" / "gptbench.db"
        session = store.create_session("first")
        conn = store.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
    with Store.open() as again:
        assert again.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert [s.title for s in again.list_sessions()] == ["first"]
        assert again.get_session(session.id) == session


def test_new_migration_is_applied_once_and_a_failing_one_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        store.create_session("kept")
    later = [*MIGRATIONS, "CREATE TABLE templates (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"]
    monkeypatch.setattr(db, "MIGRATIONS", later)
    with Store.open(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(later)
        store.conn.execute("INSERT INTO templates (name) VALUES ('t')")
        assert [s.title for s in store.list_sessions()] == ["kept"]
    with Store.open(path) as store:  # not applied twice (CREATE TABLE would fail)
        assert [tuple(r) for r in store.conn.execute("SELECT name FROM templates")] == [("t",)]

    broken = [*later, "CREATE TABLE runs (id INTEGER PRIMARY KEY); CREATE TABLE oops (;"]
    monkeypatch.setattr(db, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match="s.db"):
        Store.open(path)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == len(later)
    assert check.execute("SELECT count(*) FROM sqlite_master WHERE name = 'runs'").fetchone()[0] == 0
    check.close()


def _newer_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {db.APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, title TEXT, future TEXT)")
    conn.execute("INSERT INTO sessions VALUES (1, 'from the future', 'x')")
    conn.commit()
    conn.close()


def _corrupt_page(path: Path) -> None:
    with Store.open(path) as store:
        store.create_session("soon broken")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # keep the header, wreck the schema page
    path.write_bytes(bytes(data))


def _foreign_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, cookie TEXT)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            _newer_db,
            f"newer gptbench .schema version {len(MIGRATIONS) + 5}; this version knows up to {len(MIGRATIONS)}",
        ),
        (lambda p: p.write_bytes(b"this is my shopping list\n" * 100), "not an SQLite database"),
        (_corrupt_page, "unreadable database"),
        (_foreign_db, "did not create"),
    ],
    ids=["newer-schema", "text-file", "corrupt-page", "foreign-sqlite"],
)
def test_unusable_database_is_refused_and_never_touched(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "gptbench.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=reason) as info:
        Store.open(path)
    message = str(info.value)
    assert isinstance(info.value, GptbenchError)
    assert str(path) in message and "left untouched" in message and "\n" not in message
    with pytest.raises(StoreError, match=reason):
        asyncio.run(AsyncStore.open(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gptbench.db"]  # no -wal/-journal left either


def test_a_folder_where_the_database_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "gptbench.db").mkdir()
    with pytest.raises(StoreError, match="gptbench.db: cannot read the database"):
        Store.open(tmp_path / "gptbench.db")


# --- sessions ----------------------------------------------------------------------------------------------


def test_session_crud_and_most_recent_first(store: Store) -> None:
    a = store.create_session("alpha", system_prompt="Be brief.", backend="openai", model="gpt-4o-mini")
    b = store.create_session("", params=PRESETS["balanced"], mode="completion")
    assert b.title == "New chat" and b.mode == "completion" and b.params == PRESETS["balanced"]
    assert (a.system_prompt, a.backend, a.model, a.params) == (
        "Be brief.",
        "openai",
        "gpt-4o-mini",
        GenerationParams(),
    )
    assert [s.id for s in store.list_sessions()] == [b.id, a.id]

    renamed = store.update_session(a.id, title="  Alpha prime ")
    assert renamed.title == "Alpha prime" and renamed.system_prompt == "Be brief."
    assert [s.id for s in store.list_sessions()] == [a.id, b.id]  # just used: first

    changed = store.update_session(a.id, params=GenerationParams(temperature=0.2, stop=("END",)), model=None)
    assert changed.params == GenerationParams(temperature=0.2, stop=("END",)) and changed.model is None
    assert store.get_session(a.id) == changed
    with pytest.raises(InputError, match="title"):
        store.update_session(a.id, title="  ")
    with pytest.raises(InputError, match="mode"):
        store.update_session(a.id, mode="poetry")  # type: ignore[arg-type]

    _turn(store, a.id, "q", "a")
    store.delete_session(a.id)
    assert [s.id for s in store.list_sessions()] == [b.id]
    assert store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    with pytest.raises(StoreError, match=f"no session {a.id}"):
        store.get_session(a.id)


def test_search_by_title_system_prompt_or_content_any_case(store: Store) -> None:
    trip = store.create_session("Trip to ÉVORA")
    cooking = store.create_session("Cooking")
    _turn(store, cooking.id, "How much salt? 100% sure, snake_case", "A PINCH of Fleur de Sel.")
    rules = store.create_session("Misc", system_prompt="Answer like a Pirate")

    def ids(query: str) -> list[int]:
        return [s.id for s in store.search_sessions(query)]

    assert ids("évora") == [trip.id]
    assert ids("fleur DE sel") == [cooking.id]
    assert ids("pirate") == [rules.id]
    assert ids("100%") == [cooking.id] and ids("e_c") == [cooking.id]  # literal, not LIKE wildcards
    assert ids("0% s") == [cooking.id] and ids("%") == [cooking.id]
    assert ids("nothing like it") == []
    assert ids("  ") == [s.id for s in store.list_sessions()]


# --- the message tree --------------------------------------------------------------------------------------


def test_edit_and_resend_branches_and_keeps_the_old_branch(store: Store) -> None:
    s = store.create_session("tree").id
    q1, a1 = _turn(store, s, "q1", "a1")
    q2, a2 = _turn(store, s, "q2", "a2")
    _turn(store, s, "q3", "a3")
    assert _contents(store.path(s)) == ["q1", "a1", "q2", "a2", "q3", "a3"]

    q2b = store.edit_and_branch(q2.id, "q2 edited")
    assert q2b.parent_id == a1.id
    assert _contents(store.path(s)) == ["q1", "a1", "q2 edited"]
    (a2b,) = store.begin_replies(s, q2b.id)
    store.finish_reply(a2b.id, content="a2 new", status="complete")
    assert _contents(store.path(s)) == ["q1", "a1", "q2 edited", "a2 new"]

    assert _contents(store.siblings(q2b.id)) == ["q2", "q2 edited"]
    assert _contents(store.branch(q2.id)) == ["q1", "a1", "q2", "a2", "q3", "a3"]  # old turns reachable
    assert _contents(store.path(s))[-1] == "a2 new"  # previewing does not switch

    assert _contents(store.select(q2.id)) == ["q1", "a1", "q2", "a2", "q3", "a3"]
    assert store.get_session(s).current_leaf_id == store.path(s)[-1].id
    assert _contents(store.select(q2b.id)) == ["q1", "a1", "q2 edited", "a2 new"]

    # Editing the very first prompt makes a second root; going back there follows the branch chosen last.
    q1b = store.edit_and_branch(q1.id, "q1 edited")
    assert q1b.parent_id is None and _contents(store.path(s)) == ["q1 edited"]
    assert _contents(store.select(q1.id)) == ["q1", "a1", "q2 edited", "a2 new"]

    with pytest.raises(InputError, match="only a user message"):
        store.edit_and_branch(a1.id, "no")


def test_regenerate_adds_a_sibling_reply_and_keeps_the_old_one(store: Store) -> None:
    s = store.create_session("regen", model="m1").id
    q, a = _turn(store, s, "q", "first answer")
    (again,) = store.regenerate(a.id, model="m2", params=GenerationParams(temperature=1.5))
    assert (again.status, again.parent_id, again.model) == ("streaming", q.id, "m2")
    assert again.params == GenerationParams(temperature=1.5)
    store.finish_reply(again.id, content="second answer", status="complete")
    assert _contents(store.path(s)) == ["q", "second answer"]
    assert _contents(store.siblings(a.id)) == ["first answer", "second answer"]
    assert store.get_message(a.id).status == "complete"
    assert _contents(store.select(a.id)) == ["q", "first answer"]
    with pytest.raises(InputError, match="only a reply"):
        store.regenerate(q.id)


def test_n_alternatives_are_siblings_one_selected(store: Store) -> None:
    s = store.create_session("alts", params=GenerationParams(n=3)).id
    q = store.add_user_message(s, "name a colour")
    alts = store.begin_replies(s, q.id, n=3)
    assert [m.choice_index for m in alts] == [0, 1, 2]
    assert all(m.status == "streaming" and m.params == GenerationParams(n=3) for m in alts)
    for m, colour in zip(alts, ["red", "green", "blue"], strict=True):
        store.finish_reply(m.id, content=colour, status="complete", finish_reason="stop")
    assert _contents(store.path(s)) == ["name a colour", "red"]
    assert _contents(store.select(alts[2].id)) == ["name a colour", "blue"]
    _turn(store, s, "why blue?", "because")
    assert _contents(store.path(s)) == ["name a colour", "blue", "why blue?", "because"]
    assert _contents(store.select(alts[1].id)) == ["name a colour", "green"]
    assert _contents(store.select(alts[2].id)) == ["name a colour", "blue", "why blue?", "because"]


def test_compare_reply_does_not_change_the_active_branch(store: Store) -> None:
    s = store.create_session("cmp", backend="local", model="smollm2").id
    q, a = _turn(store, s, "q", "local answer")
    (other,) = store.begin_replies(s, q.id, backend="openai", model="gpt-4o-mini", select=False)
    store.finish_reply(other.id, content="openai answer", status="complete")
    assert _contents(store.path(s)) == ["q", "local answer"]
    assert [(m.backend, m.model) for m in store.siblings(a.id)] == [
        ("local", "smollm2"),
        ("openai", "gpt-4o-mini"),
    ]


def test_conversation_skips_failed_turns_and_keeps_stopped_text(store: Store) -> None:
    s = store.create_session("conv", system_prompt="sys").id
    _turn(store, s, "q1", "a1")
    _turn(store, s, "q2", "", status="error")
    _turn(store, s, "q2 again", "partial", status="stopped")
    store.add_user_message(s, "q3")
    session, path = store.get_session(s), store.path(s)
    assert conversation(session, path) == [
        Message("system", "sys"),
        Message("user", "q1"),
        Message("assistant", "a1"),
        Message("user", "q2 again"),
        Message("assistant", "partial"),
        Message("user", "q3"),
    ]
    assert conversation(session, path, complete_only=True) == [
        Message("system", "sys"),
        Message("user", "q1"),
        Message("assistant", "a1"),
    ]


def test_finish_reply_rejects_streaming_and_late_updates_do_not_clobber(store: Store) -> None:
    s = store.create_session("x").id
    q = store.add_user_message(s, "q")
    (r,) = store.begin_replies(s, q.id)
    with pytest.raises(InputError, match="reply status"):
        store.finish_reply(r.id, content="", status="streaming")
    store.finish_reply(r.id, content="final", status="complete")
    store.update_reply(r.id, "stale partial")
    assert store.get_message(r.id).content == "final"


# --- async store and recorder ------------------------------------------------------------------------------


async def test_recorder_saves_at_most_every_interval_then_finalises(tmp_path: Path) -> None:
    store = await AsyncStore.open(tmp_path / "a.db")
    try:
        s = await store.create_session("async", model="tiny")
        q = await store.add_user_message(s.id, "hello")
        rec = ReplyRecorder(store, await store.begin_replies(s.id, q.id, n=2), interval=3600)
        await rec.add("Hel", 0)
        await rec.add("Yo", 1)
        assert [m.content for m in await store.siblings(rec.messages[0].id)] == ["", ""]  # not yet: throttled
        await rec.save()
        assert [m.content for m in await store.siblings(rec.messages[0].id)] == ["Hel", "Yo"]
        await rec.add("lo", 0)
        done = await rec.finish(
            Finish(("stop", "length"), Usage(7, 5), time_to_first_token=0.25, elapsed=1.5, model="tiny-1")
        )
        assert [(m.content, m.status, m.finish_reason) for m in done] == [
            ("Hello", "complete", "stop"),
            ("Yo", "complete", "length"),
        ]
        assert (done[0].prompt_tokens, done[0].completion_tokens, done[0].time_to_first_token) == (7, 5, 0.25)
        assert (done[0].elapsed, done[0].model) == (1.5, "tiny-1")

        q2 = await store.add_user_message(s.id, "again")
        rec = ReplyRecorder(store, await store.begin_replies(s.id, q2.id), interval=0)
        await asyncio.sleep(0.05)
        await rec.add("par")
        assert (await store.get_message(rec.messages[0].id)).content == "par"  # interval 0: saved at once
        await asyncio.sleep(0.05)
        (stopped,) = await rec.stop()
        assert (stopped.content, stopped.status, stopped.finish_reason) == ("par", "stopped", "cancelled")
        assert stopped.time_to_first_token is not None and stopped.elapsed is not None
        assert 0.05 <= stopped.time_to_first_token < stopped.elapsed - 0.04

        q3 = await store.add_user_message(s.id, "fail")
        rec = ReplyRecorder(store, await store.begin_replies(s.id, q3.id))
        await rec.add("half")
        (failed,) = await rec.stop(error="server unreachable: http://127.0.0.1:9")
        assert (failed.content, failed.status, failed.error) == (
            "half",
            "error",
            "server unreachable: http://127.0.0.1:9",
        )
    finally:
        await store.close()


async def test_a_save_is_not_lost_when_the_awaiting_task_is_cancelled(tmp_path: Path) -> None:
    store = await AsyncStore.open(tmp_path / "a.db")
    try:
        s = await store.create_session("cancel")
        q = await store.add_user_message(s.id, "q")
        (r,) = await store.begin_replies(s.id, q.id)
        task = asyncio.create_task(store.finish_reply(r.id, content="kept", status="stopped"))
        await asyncio.sleep(0)  # the call is submitted to the store thread
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await store.get_message(r.id)).status == "stopped"
    finally:
        await store.close()


_STREAMER = """
import asyncio, sys, time
from gptbench.core.backends.base import Finish, Usage
from gptbench.core.store import AsyncStore, ReplyRecorder

async def main():
    store = await AsyncStore.open(sys.argv[1])
    s = await store.create_session("crash")
    q1 = await store.add_user_message(s.id, "first question")
    rec = ReplyRecorder(store, await store.begin_replies(s.id, q1.id))
    await rec.add("first answer")
    await rec.finish(Finish(("stop",), Usage(3, 2), 0.1, 0.2))
    q2 = await store.add_user_message(s.id, "second question")
    rec = ReplyRecorder(store, await store.begin_replies(s.id, q2.id), interval=0)
    for word in ["partial ", "reply "]:
        await rec.add(word)
    print("STREAMING", flush=True)
    while True:  # the reply goes on until the process is killed
        await rec.add("more ")
        await asyncio.sleep(0.01)

asyncio.run(main())
"""


def test_kill_9_mid_stream_keeps_earlier_messages_and_marks_the_reply_stopped(tmp_path: Path) -> None:
    path = tmp_path / "gptbench.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_STREAMER), str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "STREAMING"
        import time

        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{path}-wal").exists()  # killed: nothing was checkpointed or closed

    with Store.open(path) as store:
        (session,) = store.list_sessions()
        q1, a1, q2, a2 = store.path(session.id)
        assert (q1.content, a1.content, a1.status, a1.completion_tokens) == (
            "first question",
            "first answer",
            "complete",
            2,
        )
        assert q2.content == "second question"
        assert a2.status == "stopped" and a2.error and "interrupted" in a2.error
        assert a2.content.startswith("partial reply more ")
    with Store.open(path) as store:  # and nothing is left "streaming" for later
        assert (
            store.conn.execute("SELECT count(*) FROM messages WHERE status = 'streaming'").fetchone()[0] == 0
        )


def test_no_api_key_reaches_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-DO-NOT-STORE-1234567890abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    settings = load_settings()
    assert settings.openai.api_key == secret
    path = tmp_path / "gptbench.db"
    with Store.open(path) as store:
        s = store.create_session(
            "keys",
            backend="openai",
            model=settings.default_model,
            params=settings.params.merged(temperature=0.3),
        )
        store.update_session(s.id, params=settings.params)
        _turn(store, s.id, "hello", "hi")
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert raw and b"hello" in raw  # the content is really in these bytes...
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in raw and b"sk-test" not in raw  # ...and the key is not
