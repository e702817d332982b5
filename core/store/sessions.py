"""Chat sessions: create, list (most recent first), search, change settings, delete."""

from __future__ import annotations

import json
import time
from typing import Any, Final

from ..errors import InputError
from ..params import GenerationParams
from .db import Database, StoreError
from .models import MODES, Mode, Session


class _Keep:
    """Marks an argument of `update_session` that stays as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()
DEFAULT_TITLE = "New chat"


class Sessions(Database):
    """Session records. Settings stored here never hold a secret: GenerationParams has no key field."""

    def create_session(
        self,
        title: str = DEFAULT_TITLE,
        *,
        system_prompt: str = "",
        backend: str = "local",
        model: str | None = None,
        params: GenerationParams | None = None,
        mode: Mode = "chat",
    ) -> Session:
        """A new empty session, with the settings its replies will be made with."""
        _check_mode(mode)
        now = time.time()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO sessions (title, system_prompt, backend, model, params, mode, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    title.strip() or DEFAULT_TITLE,
                    system_prompt,
                    backend,
                    model,
                    _params_json(params or GenerationParams()),
                    mode,
                    now,
                    now,
                ),
            )
        return self.get_session(cur.lastrowid or 0)

    def get_session(self, session_id: int) -> Session:
        row = self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if row is None:
            raise StoreError(f"{self.db_path}: no session {session_id} (it may have been deleted)")
        return Session.from_row(row)

    def list_sessions(self) -> list[Session]:
        """All sessions, the most recently used first."""
        return [
            Session.from_row(r) for r in self._all("SELECT * FROM sessions ORDER BY updated_at DESC, id DESC")
        ]

    def search_sessions(self, query: str) -> list[Session]:
        """Sessions whose title, system prompt or any message contains `query` (case-insensitive, literal).

        A plain substring scan (Unicode casefold, so "É" finds "é"; % and _ are not wildcards): fast enough for
        tens of thousands of messages, with no index to keep in step.
        """
        needle = query.casefold().strip()
        if not needle:
            return self.list_sessions()
        rows = self._all(
            "SELECT * FROM sessions s WHERE instr(casefold(s.title), ?) OR instr(casefold(s.system_prompt), ?)"
            " OR EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id AND instr(casefold(m.content), ?))"
            " ORDER BY updated_at DESC, id DESC",
            (needle, needle, needle),
        )
        return [Session.from_row(r) for r in rows]

    def update_session(
        self,
        session_id: int,
        *,
        title: str | _Keep = KEEP,
        system_prompt: str | _Keep = KEEP,
        backend: str | _Keep = KEEP,
        model: str | None | _Keep = KEEP,
        params: GenerationParams | _Keep = KEEP,
        mode: Mode | _Keep = KEEP,
    ) -> Session:
        """Rename or change settings; arguments left out keep their value. Returns the updated session."""
        changes: dict[str, Any] = {}
        if not isinstance(title, _Keep):
            if not title.strip():
                raise InputError("session title: must not be empty")
            changes["title"] = title.strip()
        if not isinstance(mode, _Keep):
            _check_mode(mode)
            changes["mode"] = mode
        if not isinstance(params, _Keep):
            changes["params"] = _params_json(params)
        for name, value in (("system_prompt", system_prompt), ("backend", backend), ("model", model)):
            if not isinstance(value, _Keep):
                changes[name] = value
        self.get_session(session_id)  # a clear error for a missing session
        if changes:
            changes["updated_at"] = time.time()
            assignments = ", ".join(f"{name} = ?" for name in changes)
            with self._write() as conn:
                conn.execute(
                    f"UPDATE sessions SET {assignments} WHERE id = ?", (*changes.values(), session_id)
                )
        return self.get_session(session_id)

    def delete_session(self, session_id: int) -> None:
        """Delete a session and all its messages (every branch)."""
        with self._write() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def _touch(self, session_id: int, now: float) -> None:
        """Mark the session as just used (inside a write transaction), so it lists first."""
        self.conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InputError(f"session mode: expected one of {', '.join(MODES)}, got {mode!r}")


def _params_json(params: GenerationParams) -> str:
    return json.dumps(params.to_dict(), sort_keys=True)
