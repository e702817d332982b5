"""The Chat pane: sessions, a streamed conversation, prompt iteration, parameters, export and copy.

All model and store work runs in workers; the pane only turns key presses into store/backend calls and stream
events into widgets. The store saves each prompt as it is sent and each reply while it streams (ReplyRecorder),
so a crash loses at most the reply in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from gptbench.core.backends.base import Delta, Finish
from gptbench.core.errors import GptbenchError
from gptbench.core.params import session_defaults
from gptbench.core.store import AsyncStore, ReplyRecorder, Session, StoredMessage, conversation
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, Input, Select, Static, TextArea
from textual.worker import Worker

from ...errors import one_line
from ...widgets.dialogs import ConfirmDialog, InputDialog
from ...widgets.message_view import MessageView, code_blocks
from ...widgets.params_panel import ParamsPanel
from ...widgets.sessions_list import SessionsSidebar
from ...widgets.usage_line import UsageLine, summarize
from .conversation import MessageList, PromptArea, header_for
from .settings import SessionSettings

#: The views a session can show, cycled by ctrl+t. "compare" is not stored: it is a way of looking, not data.
MODES = ("chat", "completion", "compare")


class ChatPane(Horizontal):
    """Sessions sidebar | conversation (or completion / compare view) | settings side panel."""

    DEFAULT_CSS = """
    ChatPane { height: 1fr; }
    ChatPane #chat-main { width: 1fr; height: 1fr; }
    ChatPane #chat-banner { height: 1; padding: 0 1; color: $text-muted; }
    ChatPane #chat-banner.-error { color: $error; }
    ChatPane #chat-store-error { color: $error; padding: 1 2; height: auto; }
    ChatPane #chat-views { height: 1fr; }
    ChatPane.-no-sessions SessionsSidebar { display: none; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Stop", id="chat.cancel"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="chat.regenerate"),
        Binding("ctrl+n", "new_session", "New chat", id="chat.new"),
        Binding("ctrl+b", "focus_sessions", "Sessions", id="chat.sessions"),
        Binding("ctrl+o", "toggle_settings", "Settings", id="chat.settings"),
        Binding("ctrl+t", "cycle_mode", "Mode", id="chat.mode"),
        Binding("ctrl+f", "export_markdown", "Export .md", id="chat.export_markdown"),
        Binding("ctrl+s", "export_jsonl", "Add to dataset", id="chat.export_jsonl"),
        Binding("ctrl+g", "focus_messages", "Messages", id="chat.messages", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.store: AsyncStore | None = None
        self.session: Session | None = None
        self.sessions: list[Session] = []
        self.mode = "chat"
        self._path: list[StoredMessage] = []
        self._editing: StoredMessage | None = None
        self._generation: Worker | None = None
        self._code_index = 0
        self._streaming = False
        #: Set once the first session is shown (or the store error is): the pane is ready for input.
        self.started = asyncio.Event()

    # ---- layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield SessionsSidebar()
        with Vertical(id="chat-main"):
            yield Static("", id="chat-banner", markup=False)
            with ContentSwitcher(id="chat-views", initial="messages"):
                yield MessageList(id="messages")
            yield UsageLine(id="usage")
            yield PromptArea(id="prompt", soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 70, "-no-sessions")
        # Sessions load right after the first frame is painted: the frame does not wait for SQLite.
        self.call_after_refresh(self.spawn, self._start)

    async def _start(self) -> None:
        try:
            self.store = await self.app.get_store()
            if self.store is None:
                await self._show_store_error(self.app.store_error or "the session store is not available")
                return
            self.sessions = await self.store.list_sessions()
            if not self.sessions:
                await self._create_session()
            else:
                await self.open_session(self.sessions[0].id)
            if getattr(self.app, "active_pane", "chat") == "chat":  # the user may have moved on meanwhile
                self.query_one(PromptArea).focus()
        finally:
            self.started.set()

    async def _show_store_error(self, message: str) -> None:
        views = self.query_one("#chat-views", ContentSwitcher)
        await views.mount(
            Static(f"Chat sessions are unavailable.\n\n{message}", id="chat-store-error", markup=False)
        )
        views.current = "chat-store-error"
        self.query_one("#chat-banner", Static).update("no session store")

    # ---- sessions -------------------------------------------------------------------------------------
    async def _create_session(self) -> Session:
        assert self.store is not None
        settings = self.app.settings
        session = await self.store.create_session(
            backend=settings.backend,
            model=settings.model,
            params=session_defaults(settings.backend, settings.params),
        )
        self.sessions = await self.store.list_sessions()
        await self.open_session(session.id)
        return session

    async def refresh_sessions(self, query: str = "") -> None:
        if self.store is None:  # not open yet, or unusable (the pane says so)
            return
        self.sessions = await (self.store.search_sessions(query) if query else self.store.list_sessions())
        current = self.session.id if self.session else None
        await self.query_one(SessionsSidebar).show([(s.id, s.title) for s in self.sessions], current)

    async def open_session(self, session_id: int) -> None:
        """Make a session current: its messages, settings and backend."""
        assert self.store is not None
        self.cancel_generation()
        self.session = await self.store.get_session(session_id)
        self._editing = None
        self._path = await self.store.path(session_id)
        await self._render_path()
        await self.refresh_sessions(self.query_one("#session-search", Input).value)
        self._fill_settings()
        if (
            self.mode == "completion"
            and self.session.mode != "completion"
            or self.session.mode == "completion"
        ):
            await self._set_mode(self.session.mode)
        self.query_one(UsageLine).clear()
        self._update_banner()
        self.app.refresh_status()
        self.app.ensure_loaded(self.backend)

    @property
    def backend(self) -> Any:
        assert self.session is not None
        return self.app.pool.get(self.session.backend, self.session.model)

    def _fill_settings(self) -> None:
        assert self.session is not None
        for side in self.query(SessionSettings):
            side.show_session(self.session)

    def _update_banner(self, note: str = "") -> None:
        session = self.session
        if session is None:
            return
        model = session.model or self.backend.model
        text = f"{session.title} · {session.backend} · {model} · {self.mode}"
        if self._editing is not None:
            note = "editing a past message: Enter resends it (a new branch), Esc stops editing"
        banner = self.query_one("#chat-banner", Static)
        banner.update(f"{text} — {note}" if note else text)

    async def _update_session(self, **changes: Any) -> None:
        assert self.store is not None and self.session is not None
        self.session = await self.store.update_session(self.session.id, **changes)
        self._update_banner()
        if "backend" in changes or "model" in changes:
            for panel in self.query(ParamsPanel):
                panel.set_backend_kind(self.session.backend, self.app.settings.openai.base_url)
            self.app.refresh_status()
            self.app.ensure_loaded(self.backend)
            if self.mode != "chat":
                await self._set_mode(self.mode)
        if "title" in changes:
            await self.refresh_sessions(self.query_one("#session-search", Input).value)

    def _save(self, **changes: Any) -> None:
        self.spawn(self._update_session, **changes)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if (
            event.text_area.id == "chat-system"
            and self.session is not None
            and event.text_area.text != self.session.system_prompt
        ):
            self._save(system_prompt=event.text_area.text)

    def on_select_changed(self, event: Select.Changed) -> None:
        if (
            event.select.id == "chat-backend"
            and self.session is not None
            and event.value != self.session.backend
        ):
            self._save(backend=str(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "chat-model" and self.session is not None:
            self._save(model=event.value.strip() or None)

    def on_params_panel_changed(self, event: ParamsPanel.Changed) -> None:
        if self.session is not None and event.params != self.session.params:
            self._save(params=event.params)

    def on_sessions_sidebar_search_changed(self, event: SessionsSidebar.SearchChanged) -> None:
        self.spawn(self.refresh_sessions, event.query, exclusive=True)

    def on_sessions_sidebar_requested(self, event: SessionsSidebar.Requested) -> None:
        handler = {
            "open": self._request_open,
            "new": self._request_new,
            "rename": self._request_rename,
            "delete": self._request_delete,
            "search": self._request_search,
        }[event.action]
        self.spawn(handler, event.session_id)

    async def _request_open(self, session_id: int | None) -> None:
        if session_id is not None:
            await self.open_session(session_id)
            self.query_one(PromptArea).focus()

    async def _request_new(self, _: int | None = None) -> None:
        await self._create_session()
        self.query_one(PromptArea).focus()

    async def _request_rename(self, session_id: int | None) -> None:
        assert self.store is not None
        if session_id is None:
            return
        session = await self.store.get_session(session_id)
        title = await self.app.push_screen_wait(InputDialog("Rename session", session.title))
        if title and title.strip():
            await self.store.update_session(session_id, title=title)
            if self.session and self.session.id == session_id:
                self.session = await self.store.get_session(session_id)
                self._update_banner()
            await self.refresh_sessions(self.query_one("#session-search", Input).value)

    async def _request_delete(self, session_id: int | None) -> None:
        assert self.store is not None
        if session_id is None:
            return
        session = await self.store.get_session(session_id)
        if not await self.app.push_screen_wait(
            ConfirmDialog(f"Delete the session {session.title!r} and all its messages?")
        ):
            return
        await self.store.delete_session(session_id)
        self.sessions = await self.store.list_sessions()
        if self.session is not None and self.session.id == session_id:
            self.session = None
            if self.sessions:
                await self.open_session(self.sessions[0].id)
            else:
                await self._create_session()
        else:
            await self.refresh_sessions()
        self.app.notify(f"deleted {session.title!r}")

    async def _request_search(self, _: int | None = None) -> None:
        self.query_one("#session-search", Input).focus()

    def action_new_session(self) -> None:
        self.spawn(self._request_new)

    def action_focus_sessions(self) -> None:
        self.remove_class("-no-sessions")
        self.query_one(SessionsSidebar).list.focus()

    def action_focus_messages(self) -> None:
        self.query_one(MessageList).focus()

    async def action_toggle_settings(self) -> None:
        """Show (building it the first time) or hide the session settings panel."""
        if self.session is None:
            return
        found = self.query(SessionSettings)
        if not found:
            await self.mount(SessionSettings(self.session))
            self.query_one("#chat-system", TextArea).focus()
            return
        side = found.first()
        side.display = not side.display
        if side.display:
            self.query_one("#chat-system", TextArea).focus()
        else:
            self.query_one(PromptArea).focus()

    # ---- rendering ------------------------------------------------------------------------------------
    async def _positions(self, path: list[StoredMessage]) -> list[tuple[int, int] | None]:
        """For each message of the branch, its place among its alternatives (k, n)."""
        assert self.store is not None
        out: list[tuple[int, int] | None] = []
        for message in path:
            siblings = await self.store.siblings(message.id)
            ids = [s.id for s in siblings]
            out.append((ids.index(message.id) + 1, len(ids)) if len(ids) > 1 else None)
        return out

    async def _render_path(self) -> None:
        positions = await self._positions(self._path)
        await self.query_one(MessageList).show(list(zip(self._path, positions, strict=True)))

    # ---- sending and streaming ------------------------------------------------------------------------
    @property
    def generating(self) -> bool:
        return self._generation is not None and self._generation.is_running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self._streaming or self._editing is not None
        return True

    def on_prompt_area_submitted(self, event: PromptArea.Submitted) -> None:
        event.stop()
        text = event.text
        if not text.strip():
            self.app.notify("the prompt is empty: write a message first", severity="warning")
            return
        if self.generating:
            self.app.notify("a reply is still streaming: Esc stops it", severity="warning")
            return
        if self.store is None or self.session is None:
            return
        self.query_one(PromptArea).text = ""
        editing, self._editing = self._editing, None
        self._generation = self.spawn(self._send, text, editing, exclusive=True)

    async def _send(self, text: str, editing: StoredMessage | None) -> None:
        assert self.store is not None and self.session is not None
        session = self.session
        if editing is not None:
            user = await self.store.edit_and_branch(editing.id, text)
        else:
            user = await self.store.add_user_message(session.id, text)
        if session.title == "New chat":
            await self._update_session(title=" ".join(text.split())[:40])
        replies = await self.store.begin_replies(session.id, user.id, n=session.params.n)
        await self._stream(replies, restore_prompt=text, full_render=editing is not None)

    def action_regenerate(self) -> None:
        if self.generating or self.store is None or self.session is None:
            return
        view = self.query_one(MessageList).selected
        target = next((m for m in self._path if view is not None and str(m.id) == view.message_id), None)
        if target is None or target.role != "assistant":
            target = next((m for m in reversed(self._path) if m.role == "assistant"), None)
        if target is None:
            self.app.notify("no reply to regenerate yet", severity="warning")
            return
        self._generation = self.spawn(self._regenerate, target, exclusive=True)

    async def _regenerate(self, target: StoredMessage) -> None:
        assert self.store is not None and self.session is not None
        replies = await self.store.regenerate(target.id, n=self.session.params.n)
        await self._stream(replies, restore_prompt=None, full_render=True)

    async def _stream(
        self, replies: list[StoredMessage], restore_prompt: str | None, full_render: bool
    ) -> None:
        """Stream the reply(ies) just begun into the last view, saving as it goes; Esc or an error stops it."""
        assert self.store is not None and self.session is not None
        session = self.session
        self._path = await self.store.path(session.id)
        messages = conversation(session, self._path[:-1])  # up to the prompt: the last node is this reply
        listing = self.query_one(MessageList)
        if full_render:
            await self._render_path()
        else:
            await listing.add(MessageView("user", self._path[-2].content, message_id=str(self._path[-2].id)))
            await listing.add(MessageView("assistant", "", header="…", message_id=str(replies[0].id)))
        view = listing.views[-1]
        usage = self.query_one(UsageLine)
        usage.start()
        self._streaming = True
        self.refresh_bindings()  # Esc (stop) shows in the footer while streaming
        recorder = ReplyRecorder(self.store, replies)
        backend = self.backend
        counter = asyncio.create_task(self._count_prompt(backend, messages, usage))
        finish: Finish | None = None
        try:
            await self.app.wait_loaded(backend)
            stream = backend.stream_chat(messages, session.params)
            try:
                async for event in stream:
                    if isinstance(event, Delta):
                        await recorder.add(event.text, event.index, event.logprobs)
                        usage.add_tokens()
                        if event.index == 0:
                            await view.append(event.text)
                    elif isinstance(event, Finish):
                        finish = event
            finally:
                await stream.aclose()
            if finish is None:
                raise GptbenchError("the backend ended the reply without a finish event")
            saved = await recorder.finish(finish)
        except asyncio.CancelledError:
            saved = await recorder.stop()
            await self._settle(view, saved[0], usage, "stopped")
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes one line in the conversation
            saved = await recorder.stop(error=one_line(exc))
            await self._settle(view, saved[0], usage, "error")
            if restore_prompt is not None:
                prompt = self.query_one(PromptArea)
                if not prompt.text.strip():
                    prompt.text = restore_prompt
            return
        finally:
            counter.cancel()
            self._streaming = False
            self.refresh_bindings()
        await self._settle(view, saved[0], usage, saved[0].finish_reason or "complete", finish)

    async def _count_prompt(self, backend: Any, messages: list, usage: UsageLine) -> None:
        try:
            usage.set_prompt_tokens(await backend.count_tokens(messages))
        except Exception:  # noqa: BLE001 - the count is a nicety; the real figure arrives with Finish
            usage.set_prompt_tokens(None)

    async def _settle(
        self,
        view: MessageView,
        saved: StoredMessage,
        usage: UsageLine,
        status: str,
        finish: Finish | None = None,
    ) -> None:
        """Show the final state of a reply: full re-render, header, usage summary; refresh the branch."""
        assert self.store is not None and self.session is not None
        await view.end_stream(saved.content)
        self._path = await self.store.path(self.session.id)
        positions = await self._positions(self._path)
        position = next((p for m, p in zip(self._path, positions, strict=True) if m.id == saved.id), None)
        view.set_header(header_for(saved, position))
        view.set_class(saved.status == "error", "-error")
        if finish is not None:
            usage.finish(
                summarize(
                    status,
                    finish.usage.prompt_tokens,
                    finish.usage.completion_tokens,
                    finish.tokens_per_second,
                    finish.time_to_first_token,
                    finish.elapsed,
                    finish.model,
                )
            )
        else:
            usage.finish(status if saved.status != "error" else f"error: {saved.error}")

    def action_cancel(self) -> None:
        if self.generating:
            self.cancel_generation()
        elif self._editing is not None:
            self._editing = None
            self.query_one(PromptArea).text = ""
            self._update_banner()

    def cancel_generation(self) -> None:
        if self._generation is not None and self._generation.is_running:
            self._generation.cancel()

    # ---- message actions ------------------------------------------------------------------------------
    def on_message_list_act(self, event: MessageList.Act) -> None:
        view = event.view
        if view is None:
            self.app.notify("move to a message first (↑/↓)", severity="warning")
            return
        message = next((m for m in self._path if str(m.id) == view.message_id), None)
        if event.action == "copy":
            self.app.copy_to_clipboard(view.source)
            self.app.notify("message copied")
        elif event.action == "copy_code":
            blocks = code_blocks(view.source)
            if not blocks:
                self.app.notify("this message has no code block", severity="warning")
                return
            index = self._code_index % len(blocks)
            self._code_index += 1
            self.app.copy_to_clipboard(blocks[index])
            self.app.notify(f"code block {index + 1}/{len(blocks)} copied")
        elif event.action == "edit" and message is not None:
            if message.role != "user":
                self.app.notify(
                    "only your own messages can be edited (r regenerates a reply)", severity="warning"
                )
                return
            self._editing = message
            self.refresh_bindings()
            prompt = self.query_one(PromptArea)
            prompt.text = message.content
            prompt.focus()
            self._update_banner()
        elif event.action in ("previous", "next") and message is not None and not self.generating:
            step = -1 if event.action == "previous" else 1
            self.spawn(self._switch_alternative, message, step)

    async def _switch_alternative(self, message: StoredMessage, step: int) -> None:
        assert self.store is not None and self.session is not None
        siblings = await self.store.siblings(message.id)
        if len(siblings) < 2:
            self.app.notify("this message has no alternatives", severity="warning")
            return
        index = next(i for i, s in enumerate(siblings) if s.id == message.id)
        target = siblings[(index + step) % len(siblings)]
        self._path = await self.store.select(target.id)
        listing = self.query_one(MessageList)
        cursor = listing.cursor
        await self._render_path()
        if cursor is not None:
            listing.cursor = cursor - 1
            listing.action_move(1)

    # ---- modes ----------------------------------------------------------------------------------------
    def action_cycle_mode(self) -> None:
        if self.session is None or self.generating:
            return
        mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.spawn(self._set_mode, mode, save=True)

    async def _set_mode(self, mode: str, *, save: bool = False) -> None:
        assert self.session is not None
        self.mode = mode
        if save and mode in ("chat", "completion") and mode != self.session.mode:
            await self._update_session(mode=mode)
        views = self.query_one("#chat-views", ContentSwitcher)
        for stale in views.query("#completion, #compare"):
            await stale.remove()
        prompt = self.query_one(PromptArea)
        prompt.display = mode == "chat"
        self.query_one(UsageLine).display = mode == "chat"
        if mode == "chat":
            views.current = "messages"
            prompt.focus()
        else:
            view = self._make_view(mode)
            await views.mount(view)
            views.current = mode
            self.call_after_refresh(self._focus_first, view)
        self._update_banner()

    def _make_view(self, mode: str) -> Any:
        assert self.session is not None
        session = self.session
        kwargs = {
            "backend": self.backend,
            "kind": session.backend,
            "model": self.backend.model,
            "params": session.params,
        }
        if mode == "completion":
            from .completion import CompletionView

            return CompletionView(**kwargs, session_id=session.id, id="completion")
        from .compare import CompareView

        # The conversation up to the last prompt; both answers are saved as further replies to that prompt.
        last_user = max((i for i, m in enumerate(self._path) if m.role == "user"), default=None)
        upto = self._path[: last_user + 1] if last_user is not None else []
        return CompareView(
            conversation(session, upto),
            **kwargs,
            session_id=session.id,
            parent_id=upto[-1].id if upto else None,
            id="compare",
        )

    def on_completion_view_saved(self, event: Any) -> None:
        self.spawn(self.refresh_sessions, self.query_one("#session-search", Input).value)

    def _focus_first(self, view: Any) -> None:
        for widget in view.query("*"):
            if widget.focusable:
                widget.focus()
                return

    # ---- export ---------------------------------------------------------------------------------------
    def action_export_markdown(self) -> None:
        self.spawn(self._export, "markdown")

    def action_export_jsonl(self) -> None:
        self.spawn(self._export, "jsonl")

    async def _export(self, kind: str) -> None:
        from gptbench.core import export

        if self.store is None or self.session is None:
            return
        session, path = self.session, await self.store.path(self.session.id)
        if kind == "markdown":
            folder = await self.app.push_screen_wait(
                InputDialog(
                    "Export the session as Markdown into the folder:",
                    str(Path.cwd()),
                    f"writes {export.safe_filename(session.title)}.md there (never over an existing file)",
                )
            )
            if folder is None:
                return
            written = await asyncio.to_thread(export.export_markdown, session, path, folder)
        else:
            target = await self.app.push_screen_wait(
                InputDialog(
                    "Append the session as a fine-tuning example to the JSONL file:",
                    str(Path.cwd() / "dataset.jsonl"),
                    'one {"messages": [...]} line, appended; completed turns only',
                )
            )
            if target is None:
                return
            line = export.session_to_jsonl_example(session, path)
            written = await asyncio.to_thread(export.append_jsonl, target, line)
        self.app.notify(f"exported to {written}")

    def spawn(self, fn: Callable[..., Any], *args: Any, exclusive: bool = False, **kwargs: Any) -> Worker:
        """Run `fn(*args, **kwargs)` (a coroutine function) in a worker whose failure is reported, not raised."""
        return self.run_worker(
            self.app.guarded(fn(*args, **kwargs)),
            group=f"chat-{fn.__name__}",
            exclusive=exclusive,
            exit_on_error=False,
        )

    # ---- palette --------------------------------------------------------------------------------------
    def palette_commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        """Sessions, models and chat actions for the command palette."""
        for session in self.sessions:
            yield (
                f"Session: {session.title}",
                partial(self.spawn, self.open_session, session.id),
                "open this chat session",
            )
        seen: set[tuple[str, str]] = set()
        settings = self.app.settings
        candidates = [
            ("local", settings.model if settings.backend == "local" and settings.model else "smollm2"),
            ("openai", settings.model if settings.backend == "openai" and settings.model else "gpt-4o-mini"),
        ]
        candidates += [(s.backend, s.model) for s in self.sessions if s.model]
        for kind, model in candidates:
            if (kind, model) in seen:
                continue
            seen.add((kind, model))
            yield (
                f"Model: {model} ({kind})",
                partial(self._save, backend=kind, model=model),
                "use this model in the current session",
            )
        yield "Chat: new session", self.action_new_session, "start a new chat session (ctrl+n)"
        yield (
            "Chat: export as Markdown",
            self.action_export_markdown,
            "write the session as a .md file (ctrl+f)",
        )
        yield (
            "Chat: append to a JSONL dataset",
            self.action_export_jsonl,
            "add the session as a fine-tuning example (ctrl+s)",
        )
        for mode in MODES:
            yield (
                f"Chat mode: {mode}",
                partial(self.spawn, self._set_mode, mode, save=True),
                f"show the {mode} view",
            )
