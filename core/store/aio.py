"""The store for async code (the app): every call runs on one dedicated thread that owns the connection.

Why one thread rather than `asyncio.to_thread`: SQLite connections belong to the thread that made them, and a
single writer thread runs calls in the order they were made (a reply's last content update can never land after
its finalisation), never contends with itself for the write lock, and costs one connection for the app's life.
Each call takes well under a millisecond to a few milliseconds; the event loop only awaits it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .messages import Messages
from .models import StoredMessage

if TYPE_CHECKING:
    from ..backends.base import Finish, TokenLogprob

P = ParamSpec("P")
R = TypeVar("R")


class Store(Messages):
    """The synchronous store: sessions (see Sessions) and their message trees (see Messages).

    Use it from tests, the CLI and worker threads; the app uses AsyncStore. Open with `Store.open(path=None)`.
    """


def _in_thread(
    method: Callable[Concatenate[Store, P], R],
) -> Callable[Concatenate[AsyncStore, P], Awaitable[R]]:
    """The async twin of a Store method: same arguments, run on the store's thread."""

    @functools.wraps(method)
    async def call(self: AsyncStore, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._run(method, self._store, *args, **kwargs)

    return call


class AsyncStore:
    """Store for the event loop: same methods as Store, awaitable. Open with `await AsyncStore.open()`."""

    def __init__(self, store: Store, executor: ThreadPoolExecutor) -> None:
        self._store = store
        self._executor = executor
        self.db_path: Path = store.db_path

    @classmethod
    async def open(cls, path: Path | str | None = None) -> AsyncStore:
        """Open (create, migrate) the database on the store thread; StoreError if it is unusable."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gptbench-store")
        try:
            store = await asyncio.get_running_loop().run_in_executor(executor, Store.open, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(store, executor)

    async def close(self) -> None:
        """Finish pending calls, close the connection and the thread."""
        await self._run(Store.close, self._store)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        # Shielded: a call already submitted completes even if the awaiting task is cancelled (Esc during a
        # save must not lose the save).
        future = self._executor.submit(functools.partial(fn, *args, **kwargs))
        return await asyncio.shield(asyncio.wrap_future(future))

    create_session = _in_thread(Store.create_session)
    get_session = _in_thread(Store.get_session)
    list_sessions = _in_thread(Store.list_sessions)
    search_sessions = _in_thread(Store.search_sessions)
    update_session = _in_thread(Store.update_session)
    delete_session = _in_thread(Store.delete_session)
    get_message = _in_thread(Store.get_message)
    path = _in_thread(Store.path)
    branch = _in_thread(Store.branch)
    siblings = _in_thread(Store.siblings)
    select = _in_thread(Store.select)
    add_user_message = _in_thread(Store.add_user_message)
    edit_and_branch = _in_thread(Store.edit_and_branch)
    begin_replies = _in_thread(Store.begin_replies)
    regenerate = _in_thread(Store.regenerate)
    update_reply = _in_thread(Store.update_reply)
    finish_reply = _in_thread(Store.finish_reply)


class ReplyRecorder:
    """Saves replies while they stream: text at most every `interval` seconds, then their final state once.

    Made from the rows `begin_replies`/`regenerate` returned (one per choice). Token logprobs (when the request
    asked for them) are gathered here and saved with the final state, also when the reply is stopped or fails.
    A kill during the stream loses at most the text since the last save, and the reply's logprobs; on the next
    open the row shows as "stopped" (interrupted).
    """

    def __init__(self, store: AsyncStore, messages: Sequence[StoredMessage], interval: float = 1.0) -> None:
        self.store = store
        self.messages = list(messages)
        self.texts = ["" for _ in self.messages]
        self.logprobs: list[list[TokenLogprob]] = [[] for _ in self.messages]
        self.interval = interval
        self._started = self._saved_at = time.monotonic()
        self._first_text_at: float | None = None
        self._dirty: set[int] = set()

    async def add(self, text: str, index: int = 0, logprobs: Sequence[TokenLogprob] = ()) -> None:
        """Append streamed text (and its token logprobs) to choice `index`: a Delta's text, index and logprobs.

        The text is saved when `interval` has passed since the last save; the logprobs when the reply ends.
        """
        now = time.monotonic()
        if self._first_text_at is None and text:
            self._first_text_at = now
        self.texts[index] += text
        self.logprobs[index].extend(logprobs)
        self._dirty.add(index)
        if now - self._saved_at >= self.interval:
            await self.save()

    async def save(self) -> None:
        """Write the text of every choice changed since the last save."""
        for index in sorted(self._dirty):
            await self.store.update_reply(self.messages[index].id, self.texts[index])
        self._dirty.clear()
        self._saved_at = time.monotonic()

    async def finish(self, finish: Finish) -> list[StoredMessage]:
        """The stream ended: "complete" (or "stopped" for a cancelled choice) with usage and timings.

        Usage is the request's (all n choices together); each choice gets its own finish reason.
        """
        out = []
        for index, message in enumerate(self.messages):
            reason = finish.finish_reasons[index] if index < len(finish.finish_reasons) else None
            out.append(
                await self.store.finish_reply(
                    message.id,
                    content=self.texts[index],
                    status="stopped" if reason == "cancelled" else "complete",
                    finish_reason=reason,
                    prompt_tokens=finish.usage.prompt_tokens,
                    completion_tokens=finish.usage.completion_tokens,
                    time_to_first_token=finish.time_to_first_token,
                    elapsed=finish.elapsed,
                    model=finish.model or None,
                    logprobs=tuple(self.logprobs[index]),
                )
            )
        self._dirty.clear()
        return out

    async def stop(self, error: str | None = None) -> list[StoredMessage]:
        """The user cancelled (error=None: status "stopped") or the backend failed (status "error", one line).

        The text received so far is kept in both cases, with the time to its first text and the time taken,
        both counted from when this recorder was made.
        """
        now = time.monotonic()
        first = self._first_text_at
        out = [
            await self.store.finish_reply(
                message.id,
                content=self.texts[index],
                status="stopped" if error is None else "error",
                finish_reason="cancelled" if error is None else "error",
                time_to_first_token=None if first is None else first - self._started,
                elapsed=now - self._started,
                error=error,
                logprobs=tuple(self.logprobs[index]),
            )
            for index, message in enumerate(self.messages)
        ]
        self._dirty.clear()
        return out
