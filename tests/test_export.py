"""Session exports (Markdown transcript, JSONL fine-tuning example) and the safe file writers under them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gptbench.core.errors import InputError
from gptbench.core.export import (
    append_jsonl,
    export_markdown,
    session_to_jsonl_example,
    session_to_markdown,
)
from gptbench.core.files import unique_path, write_text_atomic
from gptbench.core.params import GenerationParams
from gptbench.core.store import Store


@pytest.fixture
def chat(tmp_path: Path):
    """A session with a completed turn, a stopped one, a failed one and a compare-mode style reply."""
    with Store.open(tmp_path / "s.db") as store:
        s = store.create_session(
            "Capitals / quiz",
            system_prompt="Answer in one word.",
            backend="local",
            model="smollm2",
            params=GenerationParams(temperature=0.8, top_p=0.9, stop=("\n\n",)),
        )
        q1 = store.add_user_message(s.id, "Capital of France?")
        (a1,) = store.begin_replies(s.id, q1.id)
        store.finish_reply(
            a1.id,
            content="Paris.",
            status="complete",
            finish_reason="stop",
            prompt_tokens=21,
            completion_tokens=3,
            time_to_first_token=0.19,
            elapsed=0.4234,
        )
        q2 = store.add_user_message(s.id, "And of Spain? Write an essay.")
        (a2,) = store.begin_replies(s.id, q2.id, params=GenerationParams(temperature=0.0))
        store.finish_reply(a2.id, content="Madrid is", status="stopped", finish_reason="cancelled")
        q3 = store.add_user_message(s.id, "Italy?")
        (a3,) = store.begin_replies(s.id, q3.id)
        store.finish_reply(a3.id, content="", status="error", error="server unreachable: http://127.0.0.1:9")
        q4 = store.add_user_message(s.id, "Italy?")
        (a4,) = store.begin_replies(s.id, q4.id, model="smollm2-ft")
        store.finish_reply(a4.id, content="Rome.", status="complete", finish_reason="stop")
        yield store.get_session(s.id), store.path(s.id)


def test_markdown_transcript_content(chat) -> None:
    session, path = chat
    created = datetime.fromtimestamp(session.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert session_to_markdown(session, path) == (
        "# Capitals / quiz\n"
        "\n"
        "- Backend: local · Model: smollm2\n"
        "- Mode: chat\n"
        '- Parameters: temperature=0.8, top_p=0.9, stop=["\\n\\n"]\n'
        f"- Created: {created}\n"
        "\n"
        "## System\n\nAnswer in one word.\n\n"
        "## User\n\nCapital of France?\n\n"
        "## Assistant\n\nParis.\n\n"
        "*smollm2 · finish: stop · ↑21 ↓3 tokens · first token 0.19 s · 0.42 s*\n\n"
        "## User\n\nAnd of Spain? Write an essay.\n\n"
        "## Assistant (stopped)\n\nMadrid is\n\n"
        "*smollm2 · params: temperature=0.0 · finish: cancelled*\n\n"
        "## User\n\nItaly?\n\n"
        "## Assistant (error)\n\n"
        "> Error: server unreachable: http://127.0.0.1:9\n\n"
        "*smollm2*\n\n"
        "## User\n\nItaly?\n\n"
        "## Assistant\n\nRome.\n\n"
        "*smollm2-ft · finish: stop*\n"
    )


def test_jsonl_example_has_system_first_and_only_completed_turns(chat) -> None:
    session, path = chat
    line = session_to_jsonl_example(session, path)
    assert "\n" not in line
    assert line == (
        '{"messages": [{"role": "system", "content": "Answer in one word."}, '
        '{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}, '
        '{"role": "user", "content": "Italy?"}, {"role": "assistant", "content": "Rome."}]}'
    )


def test_jsonl_example_refuses_a_session_without_a_completed_reply(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        s = store.create_session("empty")
        store.add_user_message(s.id, "hello?")
        with pytest.raises(InputError, match="'empty': no completed reply"):
            session_to_jsonl_example(store.get_session(s.id), store.path(s.id))


def test_completion_mode_headings(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        s = store.create_session("raw", mode="completion")
        q = store.add_user_message(s.id, "Review: great!\nSentiment:")
        (a,) = store.begin_replies(s.id, q.id)
        store.finish_reply(a.id, content=" positive", status="complete", finish_reason="length")
        text = session_to_markdown(store.get_session(s.id), store.path(s.id))
    assert "- Parameters: backend defaults\n" in text
    assert "## Prompt\n\nReview: great!\nSentiment:\n\n## Completion\n\n positive\n\n" in text
    assert text.endswith("*default model · finish: length*\n")


def test_append_jsonl_adds_a_newline_to_a_file_without_one_and_never_truncates(tmp_path: Path, chat) -> None:
    session, path = chat
    dataset = tmp_path / "train.jsonl"
    dataset.write_bytes(b'{"messages": [{"role": "user", "content": "old"}]}')  # no trailing newline
    line = session_to_jsonl_example(session, path)
    assert append_jsonl(dataset, line) == dataset
    append_jsonl(dataset, line + "\n")
    assert dataset.read_text(encoding="utf-8") == (
        '{"messages": [{"role": "user", "content": "old"}]}\n' + line + "\n" + line + "\n"
    )
    assert [len(json.loads(x)["messages"]) for x in dataset.read_text().splitlines()] == [1, 5, 5]


def test_append_jsonl_creates_the_file_and_refuses_bad_records(tmp_path: Path) -> None:
    target = tmp_path / "new" / "data.jsonl"
    append_jsonl(target, '{"messages": []}')
    assert target.read_text() == '{"messages": []}\n'
    with pytest.raises(InputError, match="data.jsonl: the record to append is not valid JSON"):
        append_jsonl(target, '{"messages": [')
    with pytest.raises(InputError, match="single line"):
        append_jsonl(target, '{"a": 1}\n{"b": 2}')
    assert target.read_text() == '{"messages": []}\n'
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    append_jsonl(empty, "{}")
    assert empty.read_text() == "{}\n"


def test_write_text_atomic_never_overwrites_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    assert write_text_atomic(target, "one") == target
    assert write_text_atomic(target, "two") == tmp_path / "notes (1).md"
    assert write_text_atomic(target, "three") == tmp_path / "notes (2).md"
    assert [target.read_text(), (tmp_path / "notes (1).md").read_text()] == ["one", "two"]
    assert unique_path(target) == tmp_path / "notes (3).md"
    assert write_text_atomic(target, "line\r\nfour", overwrite=True) == target
    assert target.read_bytes() == b"line\r\nfour"  # written exactly, no newline translation
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes (1).md",
        "notes (2).md",
        "notes.md",
    ]  # no temps


def test_export_markdown_names_the_file_after_the_title(tmp_path: Path, chat) -> None:
    session, path = chat
    first = export_markdown(session, path, tmp_path / "exports")
    second = export_markdown(session, path, tmp_path / "exports")
    assert (first.name, second.name) == ("Capitals _ quiz.md", "Capitals _ quiz (1).md")
    assert first.read_text(encoding="utf-8") == session_to_markdown(session, path) == second.read_text()


def test_unwritable_targets_are_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(InputError, match="not-a-folder/out.md: cannot write here"):
        write_text_atomic(blocker / "out.md", "text")
    with pytest.raises(InputError, match="not-a-folder/data.jsonl: cannot open the dataset file"):
        append_jsonl(blocker / "data.jsonl", "{}")
    with pytest.raises(InputError, match="cannot open the dataset file"):
        append_jsonl(tmp_path, "{}")  # a folder
    assert blocker.read_text() == "x"
