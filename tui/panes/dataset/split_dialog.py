"""The confirmation before a train/validation split: which file, the counts, the two paths, stratified or not."""

from __future__ import annotations

from gptbench.core.datasets.split import SplitPlan
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class SplitDialog(ModalScreen[bool | None]):
    """Enter splits (returns whether stratified), s toggles stratified (classification only), Esc cancels (None)."""

    DEFAULT_CSS = """
    SplitDialog { align: center middle; }
    SplitDialog > Vertical { width: 96; max-width: 100%; height: auto; padding: 1 2; border: round $primary;
                             background: $surface; }
    SplitDialog #split-stratify { margin-top: 1; }
    SplitDialog #split-keys { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "confirm", "Split", id="dataset.split.confirm", priority=True),
        Binding("s", "toggle_stratify", "Stratified", id="dataset.split.stratify"),
        Binding("escape", "cancel", "Cancel", id="dataset.split.cancel"),
    ]

    def __init__(self, plan: SplitPlan, which: str) -> None:
        super().__init__()
        self.plan = plan
        self.which = which
        self.stratify = False

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical():
            title = Text("Split ", style="bold")
            title.append(plan.path.name, style="bold")
            title.append(f" ({self.which})")
            yield Static(title, id="split-title")
            yield Static(
                Text(f"{plan.n:,} examples → {plan.n_train:,} train / {plan.n_valid:,} valid  (seed 42)"),
                id="split-counts",
            )
            paths = Text()
            paths.append("train → ", style="dim")
            paths.append(str(plan.names[0]))
            paths.append("\nvalid → ", style="dim")
            paths.append(str(plan.names[1]))
            yield Static(paths, id="split-paths")
            if plan.classification:
                yield Static(self._stratify_text(), id="split-stratify")
            keys = "Enter splits · Esc cancels" + (" · s toggles stratified" if plan.classification else "")
            yield Static(keys, id="split-keys", markup=False)

    def _stratify_text(self) -> Text:
        plan = self.plan
        mark = "[x]" if self.stratify else "[ ]"
        text = Text(f"{mark} stratified: ", style="bold" if self.stratify else "")
        text.append(
            f"classification data ({len(plan.classes)} classes): keep each class's share in both files"
            if self.stratify
            else f"classification data ({len(plan.classes)} classes): s keeps each class's share in both files"
        )
        return text

    def action_toggle_stratify(self) -> None:
        if self.plan.classification:
            self.stratify = not self.stratify
            self.query_one("#split-stratify", Static).update(self._stratify_text())

    def action_confirm(self) -> None:
        self.dismiss(self.stratify)

    def action_cancel(self) -> None:
        self.dismiss(None)
