"""The proposed fixes: a checklist (space toggles) and, for the highlighted fix, a before/after preview of a few rows.

Necessary fixes stay on (the writer applies them whatever is chosen); recommended ones start on, as with the
legacy tool's `-q`; the rest start off. The preview comes from the engine's `preview_fix` in a worker thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gptbench.core.datasets.report import Fix, Report
from gptbench.core.errors import GptbenchError
from rich.text import Text
from textual import work
from textual.containers import Vertical, VerticalScroll
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

PREVIEW_ROWS = 5
NO_FIXES = "No fixes yet: check the file first (c)."


def fix_prompt(fix: Fix) -> Text:
    text = Text(fix.title)
    if fix.necessary:
        text.append("  necessary", style="bold red")
    elif fix.recommended:
        text.append("  recommended", style="yellow")
    return text


def _shown(value: Any) -> str:
    if not value:  # the engine's `after` is {} for a dropped row
        return "(row removed)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def preview_text(fix: Fix, rows: list[tuple[int, Any, Any]]) -> Text:
    """The fix's description, then `- before` / `+ after` for each previewed row."""
    text = Text(fix.description + "\n", style="dim")
    if not rows:
        return text.append("\nNo row changes (this fix acts on the file as a whole).", style="dim")
    for row, before, after in rows:
        text.append(f"\nrow {row}\n", style="bold")
        text.append(f"- {_shown(before)}\n", style="red")
        text.append(f"+ {_shown(after)}\n", style="green")
    return text


class FixesView(Vertical):
    """Fix checklist + preview + where the last prepared file went."""

    DEFAULT_CSS = """
    FixesView SelectionList { height: auto; max-height: 45%; border: none; }
    FixesView #fix-preview { height: 1fr; border-top: solid $primary; padding: 0 1; }
    FixesView #fix-result { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: Report | None = None
        self.path: Path | None = None

    def compose(self):
        yield Static(NO_FIXES, id="fix-result")
        yield SelectionList[str](id="fix-list")
        with VerticalScroll(id="fix-preview"):
            yield Static("", id="fix-preview-body")

    def clear(self) -> None:
        self.report = self.path = None
        self.query_one("#fix-list", SelectionList).clear_options()
        self.query_one("#fix-preview-body", Static).update("")
        self.set_result(NO_FIXES)

    @property
    def chosen(self) -> list[str]:
        """Ids of the fixes that are on."""
        return list(self.query_one("#fix-list", SelectionList).selected)

    def show(self, path: Path, report: Report) -> None:
        self.path, self.report = path, report
        fixes = self.query_one("#fix-list", SelectionList)
        fixes.clear_options()
        fixes.add_options(
            [Selection(fix_prompt(f), f.id, f.necessary or f.recommended, id=f.id) for f in report.fixes]
        )
        self.set_result(
            "space toggles a fix, a applies the chosen fixes to a new file."
            if report.fixes
            else "Nothing to fix: no fix proposed."
        )
        self.query_one("#fix-preview-body", Static).update("")
        if report.fixes:
            fixes.highlighted = 0

    def show_next_steps(self, steps: str) -> None:
        """After a write: what to run next (the engine's fine-tune command, stop sequence and estimates)."""
        self.query_one("#fix-preview-body", Static).update(Text(steps))

    def set_result(self, message: str, style: str = "") -> None:
        self.query_one("#fix-result", Static).update(Text(message, style=style))

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled) -> None:
        fix = self.report.fix(event.selection.value) if self.report else None
        if fix is not None and fix.necessary and fix.id not in self.chosen:
            event.selection_list.select(fix.id)
            self.set_result(f"{fix.title}: a necessary fix is always applied.", "yellow")

    def on_selection_list_selection_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        if self.report is not None and self.path is not None:
            fix = self.report.fix(event.selection.value)
            if fix is not None:
                self.query_one("#fix-preview-body", Static).update(Text("previewing…", style="dim"))
                self._preview(self.path, self.report, fix)

    @work(thread=True, exclusive=True, group="dataset-preview", exit_on_error=False)
    def _preview(self, path: Path, report: Report, fix: Fix) -> None:
        from gptbench.core.datasets import preview_fix

        try:
            text = preview_text(fix, list(preview_fix(path, report, fix.id, PREVIEW_ROWS)))
        except GptbenchError as exc:
            text = Text(str(exc), style="red")
        if not get_current_worker().is_cancelled:  # a newer preview replaced this one
            self.app.call_from_thread(self.query_one("#fix-preview-body", Static).update, text)
