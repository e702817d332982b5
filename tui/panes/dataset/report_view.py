"""The report: a summary of the verdict, then the issues grouped by check with severity, message and row count.

Enter on an issue posts `ReportView.IssueChosen`; the pane then filters the table to that issue's rows.
"""

from __future__ import annotations

from gptbench.core.datasets.report import Issue, Report
from rich.text import Text
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .filters import checks_of
from .rows import MARKS

NO_REPORT = "No report yet: press c to check the file."


def summary_text(report: Report) -> Text:
    """Format, task type, verdict and the notes, in a few lines."""
    text = Text()
    verdict = ("blocks fine-tuning", "bold red") if report.blocking else ("ready to fine-tune", "bold green")
    text.append(f"{report.path.name}: ", style="bold")
    text.append(verdict[0], style=verdict[1])
    text.append(
        f"   {report.n_records:,} records · {report.format.replace('_', '/')} · {report.task_type} · "
        f"{report.model} · {report.seconds:.2f} s\n",
        style="dim",
    )
    if report.stop_sequence:
        text.append(f"stop sequence: {report.stop_sequence!r}\n")
    for note in report.notes:
        text.append(f"{note}\n", style="dim")
    return text


def issue_prompt(issue: Issue) -> Text:
    glyph, style = MARKS.get(issue.severity, ("•", ""))
    text = Text("  ")
    text.append(f"{glyph} {issue.severity:<7} ", style=style)
    text.append(issue.message)
    if issue.count:
        text.append(f"  ({issue.count:,} row{'s' if issue.count != 1 else ''})", style="dim")
    if issue.fix_id:
        text.append("  [fix]", style="green")
    return text


class ReportView(Vertical):
    """Summary + issue list; `show(report)` fills it."""

    DEFAULT_CSS = """
    ReportView #report-summary { height: auto; max-height: 8; padding: 0 1; }
    ReportView OptionList { height: 1fr; border: none; }
    """

    class IssueChosen(Message):
        """Enter on an issue: show its rows."""

        def __init__(self, issue: Issue) -> None:
            super().__init__()
            self.issue = issue

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: Report | None = None

    def compose(self):
        yield Static(NO_REPORT, id="report-summary")
        yield OptionList(id="report-issues")

    def clear(self) -> None:
        self.report = None
        self.query_one("#report-summary", Static).update(NO_REPORT)
        self.query_one("#report-issues", OptionList).clear_options()

    def show(self, report: Report) -> None:
        self.report = report
        self.query_one("#report-summary", Static).update(summary_text(report))
        options = self.query_one("#report-issues", OptionList)
        options.clear_options()
        entries: list[Option | None] = []
        number = {id(issue): i for i, issue in enumerate(report.issues)}
        for check, issues in checks_of(report).items():
            rows = sum(i.count for i in issues)
            header = Text(check, style="bold")
            count = f"  {len(issues)} issue{'s' if len(issues) != 1 else ''}" + (
                f", {rows:,} rows" if rows else ""
            )
            header.append(count, style="dim")
            entries.append(Option(header, id=f"check:{check}", disabled=True))
            for issue in issues:
                entries.append(Option(issue_prompt(issue), id=f"issue:{number[id(issue)]}"))
        if not entries:
            entries.append(Option(Text("No issues: every check passed.", style="green"), disabled=True))
        options.add_options(entries)
        first = next((i for i, e in enumerate(entries) if e is not None and not e.disabled), None)
        options.highlighted = first

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if self.report is not None and option_id.startswith("issue:"):
            self.post_message(self.IssueChosen(self.report.issues[int(option_id[6:])]))
