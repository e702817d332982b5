"""What the store hands out: a chat Session and the StoredMessage nodes of its message tree."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ..backends.base import TokenLogprob
from ..chat import Message
from ..errors import InputError
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
    #: The reply's token logprobs as stored (see `encode_logprobs`); None when none were asked for or received.
    #: Decoded only on demand (`logprobs`), so reading a long branch does not parse every token table.
    logprobs_json: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredMessage:
        return cls(**_columns(cls, row, params=_params(row["params"]), logprobs_json=row["logprobs"]))

    @property
    def logprobs(self) -> tuple[TokenLogprob, ...]:
        """Each generated token of this reply with its logprob and top alternatives, as streamed (() if none).

        InputError naming the message if the stored value is not one `encode_logprobs` wrote.
        """
        try:
            return decode_logprobs(self.logprobs_json)
        except InputError as err:
            raise InputError(f"message {self.id}: {err}") from None

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


def encode_logprobs(tokens: Sequence[TokenLogprob]) -> str | None:
    """Token logprobs as compact JSON for the messages.logprobs column (None for no tokens).

    One array per token: `[token, logprob, alt, alt_logprob, alt, alt_logprob, ...]`, the top alternatives
    flattened in order; an alternative that is the chosen token itself (the usual first one) is a bare `null`.
    Floats keep full precision (percentages read back exactly as shown live); -inf is written as -Infinity.
    """
    if not tokens:
        return None
    rows: list[list[Any]] = []
    for lp in tokens:
        row: list[Any] = [lp.token, lp.logprob]
        for token, logprob in lp.top:
            if token == lp.token and logprob == lp.logprob:
                row.append(None)
            else:
                row += [token, logprob]
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def decode_logprobs(text: str | None) -> tuple[TokenLogprob, ...]:
    """The TokenLogprobs `encode_logprobs` wrote (() for None); InputError if the text is not that shape."""
    if text is None:
        return ()
    try:
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError("not a list")
        return tuple(_decode_token(row) for row in rows)
    except (ValueError, TypeError, IndexError) as exc:
        raise InputError(f"logprobs: unreadable stored value ({exc})") from None


def _decode_token(row: list[Any]) -> TokenLogprob:
    token, logprob = _text(row[0]), _number(row[1])
    top: list[tuple[str, float]] = []
    rest = row[2:]
    i = 0
    while i < len(rest):
        if rest[i] is None:
            top.append((token, logprob))
            i += 1
        else:
            top.append((_text(rest[i]), _number(rest[i + 1])))
            i += 2
    return TokenLogprob(token, logprob, tuple(top))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"token {value!r} is not a string")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"logprob {value!r} is not a number")
    return float(value)


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
