"""The Chat pane's side panel: the session's system prompt, backend, model and parameters.

Built the first time the user opens it (ctrl+o), not at start-up: its twenty-odd inputs would otherwise cost the
first frame. Edits bubble up as the widgets' own Changed/Submitted messages; the pane saves them.
"""

from __future__ import annotations

from gptbench.core.store import Session
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, TextArea

from ...widgets.params_panel import ParamsPanel


class SessionSettings(Vertical):
    DEFAULT_CSS = """
    SessionSettings { width: 38; height: 1fr; border-left: solid $panel; }
    SessionSettings Label { color: $text-muted; }
    SessionSettings #chat-system { height: 5; }
    SessionSettings Select, SessionSettings Input { width: 1fr; }
    SessionSettings ParamsPanel { width: 1fr; }
    """

    def __init__(self, session: Session) -> None:
        super().__init__(id="chat-side")
        self._session = session

    def compose(self) -> ComposeResult:
        session = self._session
        yield Label("system prompt")
        yield TextArea(session.system_prompt, id="chat-system", soft_wrap=True)
        yield Label("backend · model (Enter applies)")
        yield Select(
            [("local", "local"), ("openai", "openai")],
            value=session.backend,
            allow_blank=False,
            id="chat-backend",
            compact=True,
        )
        yield Input(session.model or "", placeholder="model (empty: default)", id="chat-model", compact=True)
        yield ParamsPanel(
            session.params, session.backend, base_url=self.app.settings.openai.base_url, id="chat-params"
        )

    def show_session(self, session: Session) -> None:
        """Show another session's settings without echoing them back as edits."""
        self._session = session
        with self.prevent(TextArea.Changed, Input.Changed, Select.Changed):
            self.query_one("#chat-system", TextArea).text = session.system_prompt
            self.query_one("#chat-backend", Select).value = session.backend
            self.query_one("#chat-model", Input).value = session.model or ""
        panel = self.query_one(ParamsPanel)
        panel.set_params(session.params)
        panel.set_backend_kind(session.backend, self.app.settings.openai.base_url)
