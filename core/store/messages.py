"""The message tree of a session: prompts, streamed replies, edit-and-branch, regenerate, alternatives.

Every message points at its parent, so editing a prompt or regenerating a reply adds a sibling and nothing is
ever lost. The session's current leaf picks the active branch (`path`); each message remembers when it was
last on the active branch, so switching back to an old sibling returns to the turns that followed it then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import InputError
from ..params import GenerationParams
from .db import StoreError
from .models import FINAL_STATUSES, Status, StoredMessage, encode_logprobs

if TYPE_CHECKING:
    from ..backends.base import TokenLogprob
from .sessions import Sessions

#: The ancestors of a message, the message itself first.
_ANCESTORS = """
    WITH RECURSIVE up(id, depth) AS (
        SELECT id, 0 FROM messages WHERE id = ?
        UNION ALL
        SELECT m.parent_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.id WHERE m.parent_id IS NOT NULL
    )
"""


class Messages(Sessions):
    def get_message(self, message_id: int) -> StoredMessage:
        row = self._one("SELECT * FROM messages WHERE id = ?", (message_id,))
        if row is None:
            raise StoreError(f"{self.db_path}: no message {message_id} (its session may have been deleted)")
        return StoredMessage.from_row(row)

    def path(self, session_id: int) -> list[StoredMessage]:
        """The active branch of a session, first message to current leaf ([] for an empty session)."""
        leaf = self.get_session(session_id).current_leaf_id
        return self._ancestors(leaf) if leaf is not None else []

    def branch(self, message_id: int) -> list[StoredMessage]:
        """The branch through a message: its ancestors, itself, and the turns last followed below it.

        This is what `select(message_id)` would make active; use it to preview an old branch.
        """
        return self._ancestors(self._descend(message_id))

    def siblings(self, message_id: int) -> list[StoredMessage]:
        """The message and its alternatives (same parent: edits, regenerations, n>1 choices), oldest first."""
        message = self.get_message(message_id)
        rows = self._all(
            "SELECT * FROM messages WHERE session_id = ? AND parent_id IS ? ORDER BY id",
            (message.session_id, message.parent_id),
        )
        return [StoredMessage.from_row(r) for r in rows]

    def select(self, message_id: int) -> list[StoredMessage]:
        """Make the branch through `message_id` the session's active one (switch alternative); returns it."""
        message = self.get_message(message_id)
        leaf = self._descend(message_id)
        with self._write():
            self._set_leaf(message.session_id, leaf, time.time())
        return self._ancestors(leaf)

    def add_user_message(self, session_id: int, content: str) -> StoredMessage:
        """Save a prompt as it is sent: appended to the active branch, and made its new leaf."""
        leaf = self.get_session(session_id).current_leaf_id
        return self._insert_prompt(session_id, leaf, content)

    def edit_and_branch(self, message_id: int, new_content: str) -> StoredMessage:
        """Resend an edited prompt: a sibling of `message_id` that becomes the active leaf.

        The old prompt and every turn after it stay in the tree (see `siblings` and `branch`).
        """
        message = self.get_message(message_id)
        if message.role != "user":
            raise InputError(
                f"only a user message can be edited and resent, message {message_id} is {message.role}"
            )
        return self._insert_prompt(message.session_id, message.parent_id, new_content)

    def begin_replies(
        self,
        session_id: int,
        parent_id: int,
        *,
        n: int = 1,
        backend: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
        select: bool = True,
    ) -> list[StoredMessage]:
        """Insert the n replies about to stream for prompt `parent_id`, with status "streaming".

        backend/model/params default to the session's. With `select` the first choice becomes the active leaf;
        compare mode begins a second reply to the same prompt with select=False.
        """
        session = self.get_session(session_id)
        parent = self.get_message(parent_id)
        if parent.session_id != session_id:
            raise StoreError(f"{self.db_path}: message {parent_id} is not in session {session_id}")
        params = params if params is not None else session.params
        params_json = json.dumps(params.to_dict(), sort_keys=True)
        now = time.time()
        with self._write() as conn:
            ids = [
                conn.execute(
                    "INSERT INTO messages (session_id, parent_id, role, status, choice_index, backend, model,"
                    " params, created_at, updated_at) VALUES (?, ?, 'assistant', 'streaming', ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        parent_id,
                        index,
                        backend or session.backend,
                        model or session.model,
                        params_json,
                        now,
                        now,
                    ),
                ).lastrowid
                or 0
                for index in range(n)
            ]
            if select:
                self._set_leaf(session_id, ids[0], now)
            else:
                self._touch(session_id, now)
        return [self.get_message(i) for i in ids]

    def regenerate(
        self,
        message_id: int,
        *,
        n: int = 1,
        backend: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
    ) -> list[StoredMessage]:
        """Begin new replies to the prompt `message_id` (a reply) answered: siblings of it, made active."""
        message = self.get_message(message_id)
        if message.role != "assistant" or message.parent_id is None:
            raise InputError(f"only a reply can be regenerated, message {message_id} is {message.role}")
        return self.begin_replies(
            message.session_id, message.parent_id, n=n, backend=backend, model=model, params=params
        )

    def update_reply(self, message_id: int, content: str) -> None:
        """Save the text streamed so far (cheap: one UPDATE of one row; call it about once a second)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE messages SET content = ?, updated_at = ? WHERE id = ? AND status = 'streaming'",
                (content, time.time(), message_id),
            )

    def finish_reply(
        self,
        message_id: int,
        *,
        content: str,
        status: Status,
        finish_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        time_to_first_token: float | None = None,
        elapsed: float | None = None,
        model: str | None = None,
        error: str | None = None,
        logprobs: Sequence[TokenLogprob] = (),
    ) -> StoredMessage:
        """Record how a reply ended: complete, stopped (Esc; the partial text is kept) or error (one line).

        `logprobs`: the reply's tokens with their logprobs and top alternatives, when they were asked for
        (read back as `StoredMessage.logprobs`).
        """
        if status not in FINAL_STATUSES:
            raise InputError(f"reply status: expected one of {', '.join(FINAL_STATUSES)}, got {status!r}")
        message = self.get_message(message_id)
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "UPDATE messages SET content = ?, status = ?, finish_reason = ?, prompt_tokens = ?,"
                " completion_tokens = ?, time_to_first_token = ?, elapsed = ?, model = coalesce(?, model),"
                " error = ?, logprobs = ?, updated_at = ? WHERE id = ?",
                (
                    content,
                    status,
                    finish_reason,
                    prompt_tokens,
                    completion_tokens,
                    time_to_first_token,
                    elapsed,
                    model or None,
                    error,
                    encode_logprobs(logprobs),
                    now,
                    message_id,
                ),
            )
            self._touch(message.session_id, now)
        return self.get_message(message_id)

    def _insert_prompt(self, session_id: int, parent_id: int | None, content: str) -> StoredMessage:
        now = time.time()
        with self._write() as conn:
            message_id = (
                conn.execute(
                    "INSERT INTO messages (session_id, parent_id, role, content, created_at, updated_at)"
                    " VALUES (?, ?, 'user', ?, ?, ?)",
                    (session_id, parent_id, content, now, now),
                ).lastrowid
                or 0
            )
            self._set_leaf(session_id, message_id, now)
        return self.get_message(message_id)

    def _set_leaf(self, session_id: int, leaf_id: int, now: float) -> None:
        """Make `leaf_id` current and stamp its branch as the most recently selected (inside a transaction)."""
        # Only ancestors that a sibling outranks need a new stamp (none above the branch point): O(changes).
        self.conn.execute(
            f"""{_ANCESTORS}, outranked(id) AS (
                SELECT a.id FROM up JOIN messages a ON a.id = up.id WHERE EXISTS (
                    SELECT 1 FROM messages o WHERE o.id != a.id AND o.selected >= a.selected AND (
                        o.parent_id = a.parent_id
                        OR (a.parent_id IS NULL AND o.parent_id IS NULL AND o.session_id = a.session_id))))
            UPDATE messages SET selected =
                (SELECT coalesce(max(selected), 0) + 1 FROM messages WHERE session_id = ?)
            WHERE id IN (SELECT id FROM outranked)""",
            (leaf_id, session_id),
        )
        self.conn.execute(
            "UPDATE sessions SET current_leaf_id = ?, updated_at = ? WHERE id = ?", (leaf_id, now, session_id)
        )

    def _descend(self, message_id: int) -> int:
        """The leaf reached from a message by following, at each step, the child selected most recently."""
        current = self.get_message(message_id).id
        while True:
            row = self._one(
                "SELECT id FROM messages WHERE parent_id = ? ORDER BY selected DESC, id DESC LIMIT 1",
                (current,),
            )
            if row is None:
                return current
            current = row["id"]

    def _ancestors(self, message_id: int) -> list[StoredMessage]:
        rows = self._all(
            f"{_ANCESTORS} SELECT messages.* FROM messages JOIN up USING (id) ORDER BY up.depth DESC",
            (message_id,),
        )
        return [StoredMessage.from_row(r) for r in rows]
