"""The chat sessions sidebar: a search box over a list of sessions; keys to open, create, rename, delete.

It only shows and asks: the Chat pane owns the store calls, this widget posts what the user asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, ListItem, ListView


class SessionItem(ListItem):
    def __init__(self, session_id: int, title: str) -> None:
        super().__init__(Label(title, markup=False))
        self.session_id = session_id


class SessionList(ListView):
    """The list itself; its keys act on the highlighted session."""

    BINDINGS = [
        Binding("n", "request('new')", "New", id="sessions.new"),
        Binding("r", "request('rename')", "Rename", id="sessions.rename"),
        Binding("d,delete", "request('delete')", "Delete", id="sessions.delete"),
        Binding("slash", "request('search')", "Search", id="sessions.search"),
    ]

    def action_request(self, what: str) -> None:
        item = self.highlighted_child
        session_id = item.session_id if isinstance(item, SessionItem) else None
        self.post_message(SessionsSidebar.Requested(what, session_id))


class SessionsSidebar(Vertical):
    """Search input above the session list."""

    DEFAULT_CSS = """
    SessionsSidebar { width: 24; height: 1fr; border-right: solid $panel; }
    SessionsSidebar > Input { height: 1; border: none; padding: 0 1; }
    SessionsSidebar > ListView { height: 1fr; }
    SessionsSidebar ListItem { padding: 0 1; }
    """

    class Requested(Message):
        """The user asked to open / new / rename / delete / search (session_id: the highlighted one)."""

        def __init__(self, action: str, session_id: int | None) -> None:
            super().__init__()
            self.action = action
            self.session_id = session_id

    class SearchChanged(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search sessions…", id="session-search", compact=True)
        yield SessionList(id="session-list")

    @property
    def list(self) -> SessionList:
        return self.query_one(SessionList)

    async def show(self, sessions: Sequence[tuple[int, str]], current: int | None) -> None:
        """Replace the items with (id, title) pairs and highlight `current`."""
        view = self.list
        await view.clear()
        await view.extend([SessionItem(sid, title) for sid, title in sessions])
        for index, (sid, _) in enumerate(sessions):
            if sid == current:
                view.index = index
                break

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.SearchChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.list.focus()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, SessionItem):
            self.post_message(self.Requested("open", event.item.session_id))
