"""The conversation column of the Chat pane: the message list with its keyboard cursor, and the prompt box."""

from __future__ import annotations

from collections.abc import Sequence

from gptbench.core.store import StoredMessage
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import TextArea

from ...widgets.message_view import MessageView


def header_for(message: StoredMessage, position: tuple[int, int] | None) -> str:
    """What the line above a message says: model, how it ended, and which alternative it is."""
    parts = []
    if message.role == "assistant":
        if message.model:
            parts.append(message.model)
        if message.status == "stopped":
            parts.append("■ stopped" + (f" ({message.error})" if message.error else ""))
        elif message.status == "error":
            parts.append(f"✗ error: {message.error or 'failed'}")
        elif message.status == "streaming":
            parts.append("…")
    if position is not None and position[1] > 1:
        parts.append(f"‹{position[0]}/{position[1]}›")
    return " · ".join(parts)


class PromptArea(TextArea):
    """The prompt box: Enter sends, ctrl+j (or shift+enter where the terminal tells it apart) adds a line."""

    DEFAULT_CSS = """
    PromptArea { height: auto; min-height: 3; max-height: 8; }
    """
    BINDINGS = [
        Binding("enter", "submit", "Send", id="chat.send", priority=True),
        Binding("ctrl+j,shift+enter", "newline", "New line", id="chat.newline", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def action_submit(self) -> None:
        # Enter is a priority binding (TextArea would insert a newline), so the app runs it as soon as it reads
        # the key — before keys typed just ahead of it (type-ahead, a fast typist, tmux send-keys) have reached
        # this widget's queue. Reading the text from this widget's own queue keeps the keys in order.
        self.call_later(self._submit)

    def _submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def action_newline(self) -> None:
        self.insert("\n")


class MessageList(VerticalScroll, can_focus=True):
    """Messages of the active branch; a cursor (↑/↓) picks the one that edit / copy / alternatives act on.

    Anchored to the bottom: a streaming reply keeps the view scrolled down until the user scrolls or moves the
    cursor up, and following resumes when they come back to the bottom.
    """

    DEFAULT_CSS = """
    MessageList { height: 1fr; padding: 0 1; }
    MessageList:focus { border-left: tall $primary; }
    """
    BINDINGS = [
        Binding("up,k", "move(-1)", "Prev", id="chat.cursor_up", show=False),
        Binding("down,j", "move(1)", "Next", id="chat.cursor_down", show=False),
        Binding("e", "act('edit')", "Edit", id="chat.edit"),
        Binding("c", "act('copy')", "Copy", id="chat.copy"),
        Binding("y", "act('copy_code')", "Copy code", id="chat.copy_code"),
        Binding("left,h", "act('previous')", "‹ Alt", id="chat.alt_previous"),
        Binding("right,l", "act('next')", "Alt ›", id="chat.alt_next"),
    ]

    class Act(Message):
        """The user asked for `action` on the message under the cursor."""

        def __init__(self, action: str, view: MessageView | None) -> None:
            super().__init__()
            self.action = action
            self.view = view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cursor: int | None = None

    def on_mount(self) -> None:
        self.anchor()

    @property
    def views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    @property
    def selected(self) -> MessageView | None:
        views = self.views
        if self.cursor is None or not views:
            return None
        return views[min(self.cursor, len(views) - 1)]

    async def show(self, items: Sequence[tuple[StoredMessage, tuple[int, int] | None]]) -> None:
        """Replace the list with these messages (and their k/n position among alternatives)."""
        await self.remove_children()
        views = [
            MessageView(m.role, m.content, header=header_for(m, pos), message_id=str(m.id))
            for m, pos in items
        ]
        if views:
            await self.mount_all(views)
        self.cursor = None
        self.anchor()

    async def add(self, view: MessageView) -> MessageView:
        await self.mount(view)
        return view

    def action_move(self, step: int) -> None:
        views = self.views
        if not views:
            return
        if self.cursor is None:
            self.cursor = len(views) - 1 if step < 0 else 0
        else:
            self.cursor = max(0, min(len(views) - 1, self.cursor + step))
        for index, view in enumerate(views):
            view.selected = index == self.cursor
        if self.cursor == len(views) - 1:
            self.anchor()  # on the last message: follow the conversation's end again
        else:
            self.release_anchor()
            self.scroll_to_widget(views[self.cursor], animate=False, top=True)

    def action_act(self, action: str) -> None:
        self.post_message(self.Act(action, self.selected))
