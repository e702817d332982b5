"""Chat messages as every backend and the store see them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import InputError

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str
    name: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"role": self.role, "content": self.content}
        if self.name:
            out["name"] = self.name
        return out


def messages_from_dicts(items: Iterable[dict]) -> list[Message]:
    """Build messages from OpenAI-style dicts, naming the index of the first bad one."""
    out: list[Message] = []
    for i, item in enumerate(items):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in ROLES:
            raise InputError(f"messages[{i}].role: expected one of {', '.join(ROLES)}, got {role!r}")
        content = item.get("content")
        if not isinstance(content, str):
            raise InputError(f"messages[{i}].content: expected a string")
        out.append(Message(role, content, item.get("name")))
    return out


def check_messages(messages: Sequence[Message]) -> None:
    """Refuse a conversation a model cannot answer: empty, or with nothing but blank text."""
    if not messages or not any(m.content.strip() for m in messages if m.role != "assistant"):
        raise InputError("the prompt is empty: write a message first")
