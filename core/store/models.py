"""What the store hands out: a chat Session and the StoredMessage nodes of its message tree."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from ..chat import Message
from ..params import GenerationParams

Mode = Literal["chat", "completion"]
Status = Literal["complete", "stopped", "error", "streaming"]
MODES: tuple[str, ...] = ("chat", "completion")
#: Final states of a reply (anything but "streaming").
FINAL_STATUSES: tuple[str, ...] = ("complete", "stopped", "error")


@dataclass(frozen=True, slots=True)
class Session:
    """One conversation and the settings its next reply is made with."""

    id: int
    title: str
    system_prompt: str
    backend: str
    model: str | None
    params: GenerationParams
    mode: Mode
    #: The last message of the active branch (None while empty); `Store.path` walks up from it.
    current_leaf_id: int | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Session:
        return cls(**_columns(cls, row, params=_params(row["params"])))


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A node of a session's message tree: a user prompt or one reply, with how it was made."""

    id: int
    session_id: int
    #: The message this one answers or follows (None for the first turn); siblings share a parent.
    parent_id: int | None
    role: str
    content: str
    status: Status
    #: Which of the n>1 alternatives of one request this is (0 otherwise).
    choice_index: int
    backend: str | None
    model: str | None
    params: GenerationParams | None
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    time_to_first_token: float | None
    elapsed: float | None
    error: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredMessage:
        return cls(**_columns(cls, row, params=_params(row["params"])))

    def to_message(self) -> Message:
        return Message(self.role, self.content)  # type: ignore[arg-type]


def _columns(cls: type, row: sqlite3.Row, **decoded: Any) -> dict[str, Any]:
    """The row's columns named like the dataclass fields, with the JSON ones already decoded."""
    return {name: decoded[name] if name in decoded else row[name] for name in _field_names(cls)}


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@functools.lru_cache(maxsize=256)
def _params(text: str | None) -> GenerationParams | None:
    """Decoded once per distinct JSON: a long session repeats the same few parameter sets."""
    return GenerationParams.from_dict(json.loads(text)) if text is not None else None


def conversation(
    session: Session, path: Sequence[StoredMessage], *, complete_only: bool = False
) -> list[Message]:
    """The messages to send to a model (or to train on) for the branch `path`, system prompt first.

    A turn whose reply failed (status "error", or empty) is left out with its prompt, so resending after an
    error does not show the model the failed prompt twice; a stopped partial reply stays (the user saw it).
    With `complete_only` (fine-tuning export) only turns whose reply completed are kept, and the result ends
    with a reply.
    """
    out: list[Message] = []
    if session.system_prompt.strip():
        out.append(Message("system", session.system_prompt))
    pending: list[Message] = []  # prompts waiting for their reply
    for message in path:
        if message.role != "assistant":
            pending.append(message.to_message())
            continue
        usable = message.status == "complete" or (
            not complete_only and message.status == "stopped" and message.content
        )
        if usable:
            out.extend(pending)
            out.append(message.to_message())
        pending = []
    if not complete_only:
        out.extend(pending)
    return out
