"""Exports of a chat session: a readable Markdown transcript, and a JSONL chat fine-tuning example.

The JSONL line (`{"messages": [...]}`, system prompt first, completed turns of the active branch only) is the
format OpenAI chat fine-tuning and the Dataset pane read; `append_jsonl` adds it to a dataset file without ever
rewriting what is there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .errors import InputError
from .files import write_text_atomic
from .params import GenerationParams
from .store.models import Session, StoredMessage, conversation

_HEADINGS = {
    "chat": {"user": "User", "assistant": "Assistant", "system": "System"},
    "completion": {"user": "Prompt", "assistant": "Completion", "system": "System"},
}


def session_to_markdown(session: Session, messages: Sequence[StoredMessage]) -> str:
    """A transcript of `messages` (normally the active branch): settings, then each turn under a role heading.

    Replies carry a line with model, finish reason, usage and timings; stopped and failed replies are marked.
    """
    created = datetime.fromtimestamp(session.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# {session.title}",
        "",
        f"- Backend: {session.backend} · Model: {session.model or 'default'}",
        f"- Mode: {session.mode}",
        f"- Parameters: {format_params(session.params)}",
        f"- Created: {created}",
        "",
    ]
    headings = _HEADINGS[session.mode]
    if session.system_prompt.strip():
        lines += ["## System", "", session.system_prompt.strip("\n"), ""]
    for message in messages:
        heading = headings.get(message.role, message.role.title())
        if message.status in ("stopped", "error"):
            heading += f" ({message.status})"
        lines += [f"## {heading}", ""]
        if message.content:
            lines += [message.content.strip("\n"), ""]
        if message.error:
            lines += [f"> {'Error' if message.status == 'error' else 'Note'}: {message.error}", ""]
        if message.role == "assistant":
            lines += [f"*{_reply_facts(session, message)}*", ""]
    return "\n".join(lines)


def format_params(params: GenerationParams) -> str:
    """The knobs that are set, as `name=value` (JSON values), or a note that the backend's defaults apply."""
    knobs = params.to_dict()
    if not knobs:
        return "backend defaults"
    return ", ".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in knobs.items())


def _reply_facts(session: Session, message: StoredMessage) -> str:
    facts = [message.model or session.model or "default model"]
    if message.params is not None and message.params != session.params:
        facts.append(f"params: {format_params(message.params)}")
    if message.finish_reason:
        facts.append(f"finish: {message.finish_reason}")
    if message.prompt_tokens is not None or message.completion_tokens is not None:
        facts.append(f"↑{message.prompt_tokens or 0} ↓{message.completion_tokens or 0} tokens")
    if message.time_to_first_token is not None:
        facts.append(f"first token {message.time_to_first_token:.2f} s")
    if message.elapsed is not None:
        facts.append(f"{message.elapsed:.2f} s")
    return " · ".join(facts)


def session_to_jsonl_example(session: Session, messages: Sequence[StoredMessage]) -> str:
    """One fine-tuning example as a JSON line (no newline): system prompt, then completed turns only.

    Turns whose reply was stopped, failed or is still streaming are left out with their prompt; the example
    ends with a reply. InputError if no turn completed.
    """
    chat = conversation(session, messages, complete_only=True)
    if not any(m.role == "assistant" for m in chat):
        raise InputError(f"session {session.title!r}: no completed reply to export as a fine-tuning example")
    return json.dumps({"messages": [m.to_dict() for m in chat]}, ensure_ascii=False)


def append_jsonl(path: Path | str, line: str) -> Path:
    """Append one JSON line to a dataset file (created if missing); what is there is never rewritten.

    If the file does not end with a newline, one is added first so the new record starts on its own line.
    The record goes out in one O_APPEND write, so concurrent appenders do not interleave.
    """
    target = Path(path).expanduser()
    if "\n" in line.strip("\n"):
        raise InputError(f"{target}: a JSONL record must be a single line")
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{target}: the record to append is not valid JSON ({exc})") from None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"{target}: cannot open the dataset file ({exc.strerror or exc})") from None
    try:
        size = os.fstat(fd).st_size
        needs_newline = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        data = ("\n" if needs_newline else "") + line.strip("\n") + "\n"
        os.write(fd, data.encode("utf-8"))
        os.fsync(fd)
    except OSError as exc:
        raise InputError(f"{target}: cannot append to the dataset file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    return target


def export_markdown(session: Session, messages: Sequence[StoredMessage], folder: Path | str) -> Path:
    """Write the Markdown transcript to "<title>.md" in `folder` (never over a file: "<title> (1).md")."""
    return write_text_atomic(
        Path(folder).expanduser() / f"{safe_filename(session.title)}.md",
        session_to_markdown(session, messages),
    )


def safe_filename(title: str) -> str:
    """A file name from a title: letters, digits, spaces, dots, dashes and underscores; at most 80 characters."""
    name = re.sub(r"[^\w .-]+", "_", title).strip(" ._")[:80].strip(" ._")
    return name or "session"
