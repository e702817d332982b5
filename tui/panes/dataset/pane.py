"""The Dataset pane: open a fine-tuning file of any size, browse it, check it, fix it, hand it to Fine-tune.

Opening never waits for the whole file: JSONL is shown through a `LineIndex` after its first 256 KB are indexed
(the rest is indexed in a worker), other formats are read by the engine's `read_records` in a worker and appear
as they come, spilled as JSON lines into a scratch file in the cache dir (`SpilledRows`) so that memory stays
bounded whatever the size; the spill file is deleted when another file is opened or the pane goes away.
Checking, searching, previewing and writing fixes all run in worker threads, cancellable with Esc.
`s` splits the open file (or the fixed file `a` just wrote) into NAME_train.jsonl / NAME_valid.jsonl after a
confirmation showing the counts and paths (core `plan_split` / `split_file`, the rule of `data prepare --split`).
A timer (10 Hz, only while something runs) moves progress into the status line and new rows into the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gptbench.core.datasets.line_index import LineIndex
from gptbench.core.datasets.report import Issue, Report
from gptbench.core.errors import GptbenchError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from ...widgets.virtual_table import VirtualTable
from .detail import RecordDetail
from .filters import issue_positions, row_marks, search_positions
from .fixes_view import FixesView
from .histogram import stats_text
from .path_suggester import PathSuggester
from .report_view import ReportView
from .rows import FilteredRows, IndexedRows, LoadedRows
from .spill import SpilledRows, SpillError
from .split_dialog import SplitDialog

if TYPE_CHECKING:
    from gptbench.core.datasets import PrepareResult
    from gptbench.core.datasets.split import SplitPlan, SplitResult

DEFAULT_MODEL = "gpt-4o-mini"
#: Bytes indexed before the first frame: a few hundred rows of chat data, well under a millisecond.
FIRST_SCREEN_BYTES = 256 * 1024


def _error_text(error: BaseException) -> str:
    """What the pane says about a failure: our one-line message, or the exception named plainly."""
    if isinstance(error, GptbenchError):
        text = str(error)
    elif isinstance(error, OSError):
        text = f"{getattr(error, 'filename', '') or ''} {error.strerror or error}"
    else:
        text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())  # one line, whatever the exception's message looked like


def _start_resource_tracker() -> None:
    """Let the engine's parallel scan start processes from inside a Textual app.

    Textual swaps sys.stderr for an object whose fileno() is -1; multiprocessing's resource tracker hands that
    fd to its child process and fails ("bad value(s) in fds_to_keep"). Starting the tracker once with the real
    stderr (on the UI thread, between frames) avoids it; later pools reuse the running tracker.
    """
    import sys
    from multiprocessing import resource_tracker

    saved = sys.stderr
    try:
        sys.stderr = sys.__stderr__
        resource_tracker.ensure_running()
    finally:
        sys.stderr = saved


class DatasetPane(Vertical, can_focus=True):
    """Browse, check and prepare one dataset file; `open_path(path)` is the way in for other panes."""

    DEFAULT_CSS = """
    DatasetPane { height: 1fr; }
    DatasetPane #dataset-bar { height: 1; }
    DatasetPane #dataset-bar Label { padding: 0 1; color: $text-muted; }
    DatasetPane #dataset-bar Input { height: 1; border: none; padding: 0 1; background: $boost; }
    DatasetPane #dataset-path { width: 1fr; }
    DatasetPane #dataset-model { width: 24; }
    DatasetPane #dataset-status { height: auto; max-height: 4; padding: 0 1; background: $panel; }
    DatasetPane #dataset-search { height: 1; border: none; padding: 0 1; background: $boost; }
    DatasetPane TabbedContent { height: 1fr; }
    DatasetPane TabPane { padding: 0; }
    DatasetPane #rows-pane { height: 1fr; }
    DatasetPane #dataset-detail { display: none; height: 50%; }
    DatasetPane.-detail #dataset-detail { display: block; }
    DatasetPane #stats-scroll { padding: 0 1; }
    """

    BINDINGS = [
        Binding("ctrl+o", "open", "Open", id="dataset.open"),
        Binding("c", "check", "Check", id="dataset.check"),
        Binding("escape", "cancel", "Cancel/close", show=False, id="dataset.cancel"),
        Binding("slash", "search", "Search", id="dataset.search"),
        Binding("f", "filter_issues", "Issues", id="dataset.filter_issues"),
        # Hidden so the footer keeps room for Split and To Fine-tune at 100 columns; Esc also shows all rows.
        Binding("x", "clear_filter", "All rows", show=False, id="dataset.clear_filter"),
        Binding("d", "toggle_detail", "Detail", id="dataset.detail"),
        Binding("m", "model", "Model", show=False, id="dataset.model"),
        Binding("a", "apply_fixes", "Apply fixes", id="dataset.apply_fixes"),
        Binding("s", "split", "Split", id="dataset.split"),
        Binding("t", "hand_off", "To Fine-tune", id="dataset.hand_off"),
        Binding("1", "tab('rows')", "Rows", show=False, id="dataset.tab.rows"),
        Binding("2", "tab('report')", "Report", show=False, id="dataset.tab.report"),
        Binding("3", "tab('fixes')", "Fixes", show=False, id="dataset.tab.fixes"),
        Binding("4", "tab('stats')", "Stats", show=False, id="dataset.tab.stats"),
    ]

    class HandOff(Message):
        """A prepared dataset for the Fine-tune pane; the app routes it."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.path: Path | None = None
        self.source: IndexedRows | SpilledRows | LoadedRows | None = None
        self.report: Report | None = None
        self.prepared: list[Path] = []
        self.filter_label = ""
        self.index: LineIndex | None = None
        self._cancel = threading.Event()  # set to stop this file's background work
        self._check_cancel: threading.Event | None = None
        self._check_progress = 0.0
        self._split_cancel: threading.Event | None = None  # set while a split is being planned
        self._loading = False
        self._message: Text | None = None

    # -- layout --------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="dataset-bar"):
            yield Label("File")
            yield Input(
                placeholder="path to a .jsonl/.json/.csv/.tsv/.xlsx/.txt/.parquet file — → completes, Enter opens",
                suggester=PathSuggester(),
                id="dataset-path",
            )
            yield Label("Model")
            yield Input(self._default_model(), placeholder="model for tokens", id="dataset-model")
        yield Static(Text("Ctrl+O: open a file", style="dim"), id="dataset-status")
        with TabbedContent(id="dataset-tabs", initial="rows"):
            with TabPane("1 Rows", id="rows"), Vertical(id="rows-pane"):
                yield Input(
                    placeholder="/ search rows, Enter filters, empty Enter shows all", id="dataset-search"
                )
                yield VirtualTable(
                    empty_text="No file open: press Ctrl+O, type a path, Enter.", id="dataset-table"
                )
                yield RecordDetail(id="dataset-detail")
            with TabPane("2 Report", id="report"):
                yield ReportView(id="dataset-report")
            with TabPane("3 Fixes", id="fixes"):
                yield FixesView(id="dataset-fixes")
            with TabPane("4 Stats", id="stats"), VerticalScroll(id="stats-scroll"):
                yield Static("No statistics yet: check the file first (c).", id="dataset-stats")

    def on_mount(self) -> None:
        self._ticker = self.set_interval(0.1, self._tick, pause=True)
        if self.screen.focused is None:
            self.focus()

    def on_focus(self) -> None:
        """Focus given to the pane (e.g. by the app showing it) goes to the table, or to the path if no file."""
        (self.table if self.path is not None else self.query_one("#dataset-path", Input)).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()  # our inner tabs are no business of the app's pane tabs

    def _default_model(self) -> str:
        """The configured OpenAI model (fine-tuning data targets one), else gpt-4o-mini."""
        settings = getattr(self.app, "settings", None)
        if getattr(settings, "backend", None) == "openai" and getattr(settings, "model", None):
            return str(settings.model)
        return DEFAULT_MODEL

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#dataset-table", VirtualTable)

    @property
    def model(self) -> str:
        return self.query_one("#dataset-model", Input).value.strip() or DEFAULT_MODEL

    # -- opening -------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Show a dataset file (other panes call this too). Returns False, with the reason shown, if it can't."""
        from gptbench.core.datasets.readers import check_path, sniff_binary

        self._close()
        path = Path(path).expanduser()
        self.query_one("#dataset-path", Input).value = str(path)
        try:
            path = check_path(path)
            reason = sniff_binary(path)
            if reason:
                raise GptbenchError(reason)
            with path.open("rb") as f:
                head = f.read(65536).lstrip(b"\xef\xbb\xbf").lstrip()
            indexed = path.suffix.lower() in (".jsonl", ".json") and not head.startswith(b"[")
            self.index = LineIndex(path) if indexed else None
        except (GptbenchError, OSError) as exc:
            self._show_error(f"Cannot open: {_error_text(exc)}")
            self.table.set_source([], empty_text=f"Cannot open {path.name}.")  # type: ignore[arg-type]
            return False
        self.path = path
        self._cancel = threading.Event()
        message = None
        if self.index is not None:
            self.index.step(FIRST_SCREEN_BYTES)
            self.source = IndexedRows(self.index)
            # The rest after the first frame: the indexing thread would compete with it for the GIL.
            if not self.index.done:
                self.call_after_refresh(self._build_index, self.index, self._cancel)
        else:
            try:
                self.source = SpilledRows(path.name)
            except OSError as exc:  # no writable cache dir: hold the rows in memory (big files cost RAM)
                self.source = LoadedRows()
                message = Text(f"rows held in memory: cannot spill to the cache dir ({exc.strerror or exc})")
            self._loading = True
            self._load_records(path, self.source, self._cancel, asyncio.get_running_loop())
        empty = f"{path.name} is empty." if path.stat().st_size == 0 else "Reading…"
        self.table.set_source(self.source, empty_text=empty)
        self._message = message
        self._reset_views()
        focused = self.screen.focused
        if focused is None or self in focused.ancestors_with_self:  # never steal focus from another pane
            self.table.focus()
        self._ticker.resume()
        self._tick()
        return True

    def _close(self) -> None:
        """Stop the previous file's work and forget it (the mapping is released when its worker ends)."""
        self._cancel.set()
        if self._check_cancel is not None:
            self._check_cancel.set()
            self._check_cancel = None  # its outcome, when it comes, is ignored
        if self._split_cancel is not None:
            self._split_cancel.set()
            self._split_cancel = None
        self.workers.cancel_group(self, "dataset-index")
        if isinstance(self.source, SpilledRows):
            self.source.close()  # deletes the spill file; the reading worker stops at its next record
        self.path = self.source = self.report = self.index = None
        self._loading = False
        self.prepared = []
        self.filter_label = ""
        self.remove_class("-detail")

    def on_unmount(self) -> None:
        self._close()

    def _reset_views(self) -> None:
        """Forget the previous file's report, fixes and statistics."""
        self.query_one(ReportView).clear()
        self.query_one(FixesView).clear()
        self.query_one("#dataset-stats", Static).update("No statistics yet: check the file first (c).")

    @work(thread=True, exclusive=True, group="dataset-index", exit_on_error=False)
    def _build_index(self, index: LineIndex, cancel: threading.Event) -> None:
        index.build(cancel=cancel)

    @work(thread=True, exclusive=True, group="dataset-index", exit_on_error=False)
    def _load_records(
        self,
        path: Path,
        rows: SpilledRows | LoadedRows,
        cancel: threading.Event,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        from gptbench.core.datasets.readers import read_records

        def draw_first_rows() -> None:  # without waiting for the 10 Hz ticker
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile
                loop.call_soon_threadsafe(self._tick_for, rows)

        try:
            if isinstance(rows, SpilledRows):
                try:
                    rows.fill(read_records(path), cancel, draw_first_rows)
                except SpillError as exc:  # a full disk: what was read stays on screen
                    raise GptbenchError(f"{path.name}: stopped after {len(rows):,} rows: {exc}") from None
                return
            for record in read_records(path):
                if cancel.is_set():
                    return
                rows.add(record)
        finally:
            if not cancel.is_set():
                self._loading = False

    @on(Input.Submitted, "#dataset-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() and self.open_path(event.value.strip()):
            self.table.focus()

    # -- status --------------------------------------------------------------------------------------------
    def _tick_for(self, rows: SpilledRows | LoadedRows) -> None:
        """A tick asked for by a worker, if its rows are still the ones shown."""
        if self.is_mounted and self.source is rows:
            self._tick()

    def _tick(self) -> None:
        """Bring background progress on screen; pause when nothing runs."""
        self.table.refresh_count()
        busy = self._status()
        if not busy:
            self._ticker.pause()

    def _status(self) -> bool:
        """Redraw the status line; return True while some background work is still running."""
        busy = False
        if self.path is None or self.source is None:
            hint = Text("Ctrl+O: open a file", style="dim")
            self.query_one("#dataset-status", Static).update(self._message or hint)
            return busy
        text = Text()
        text.append(self.path.name, style="bold")
        text.append(f"  {len(self.source):,} rows")
        if self.index is not None and not self.index.done:
            busy = True
            text.append(f" (indexing {self.index.progress:.0%})", style="yellow")
        elif self._loading:
            busy = True
            text.append(" (reading…)", style="yellow")
        if self.filter_label:
            text.append(f"  · {self.filter_label} ({len(self.table.source):,})", style="cyan")
        if self._check_cancel is not None:
            busy = True
            text.append(f"  · checking {self._check_progress:.0%} (Esc stops)", style="yellow")
        elif self.report is not None:
            errors = sum(i.severity == "error" for i in self.report.issues)
            warnings = sum(i.severity == "warning" for i in self.report.issues)
            style = "red" if errors else "green"
            text.append(f"  · {errors} errors, {warnings} warnings", style=style)
        if self._message is not None:
            text.append("  · ")
            text.append_text(self._message)
        self.query_one("#dataset-status", Static).update(text)
        return busy

    def _say(self, message: str, style: str = "") -> None:
        self._message = Text(message, style=style)
        self._status()

    def _show_error(self, message: str) -> None:
        self._say(message, "bold red")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed background job becomes a message (never a traceback)."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self._show_error(_error_text(event.worker.error))

    # -- checking ------------------------------------------------------------------------------------------
    def action_check(self) -> None:
        if self.path is None:
            self._show_error("Open a file first (Ctrl+O).")
            return
        if self._check_cancel is not None:
            self._say("A check is already running (Esc stops it).", "yellow")
            return
        _start_resource_tracker()
        self._check_cancel = threading.Event()
        self._check_progress = 0.0
        self._message = None
        self._ticker.resume()
        self._run_check(self.path, self.model, self._check_cancel)

    @work(thread=True, exclusive=True, group="dataset-check", exit_on_error=False)
    def _run_check(self, path: Path, model: str, cancel: threading.Event) -> None:
        from gptbench.core.datasets import check_file

        def progress(done: int, total: int) -> None:
            if self._check_cancel is cancel:
                self._check_progress = done / total if total else 0.0

        started = time.perf_counter()
        try:
            report = check_file(path, model, progress=progress, cancel=cancel)
        except BaseException as exc:
            self.app.call_from_thread(self._check_ended, cancel, None, exc, 0.0)
            return
        self.app.call_from_thread(self._check_ended, cancel, report, None, time.perf_counter() - started)

    def _check_ended(
        self, cancel: threading.Event, report: Report | None, error: BaseException | None, seconds: float
    ) -> None:
        """Show a finished check's outcome, unless it belongs to a file or a check that was left since."""
        from gptbench.core.datasets.check import CheckCancelled

        if self._check_cancel is not cancel:
            return
        self._check_cancel = None
        if cancel.is_set() or isinstance(error, CheckCancelled):
            self._say("Check stopped.", "yellow")
        elif error is not None:
            self._show_error(f"Check failed: {_error_text(error)}")
        elif report is not None and self.path is not None:
            self.report = report
            if self.source is not None:
                self.source.set_marks(row_marks(report))
            self.table.invalidate()
            self.query_one(ReportView).show(report)
            self.query_one(FixesView).show(self.path, report)
            self.query_one("#dataset-stats", Static).update(stats_text(report.stats))
            self._say(f"checked in {seconds:.1f} s", "dim")

    # -- filters -------------------------------------------------------------------------------------------
    def _filter(self, positions: list[int], label: str) -> None:
        if self.source is None:
            return
        self.filter_label = label
        self.table.set_source(FilteredRows(self.source, positions), empty_text=f"No rows: {label}.")
        self.action_tab("rows")
        self.table.focus()
        self._status()

    def show_issue_rows(self, issues: list[Issue], label: str) -> None:
        """Filter the table to the rows `issues` name."""
        if self.source is not None:
            self._filter(issue_positions(self.source, issues), label)

    def on_report_view_issue_chosen(self, event: ReportView.IssueChosen) -> None:
        self.show_issue_rows([event.issue], f"{event.issue.check}: {event.issue.message}")

    def action_filter_issues(self) -> None:
        if self.report is None:
            self._show_error("No report yet: press c to check the file.")
            return
        self.show_issue_rows(self.report.issues, "rows with any issue")

    def action_clear_filter(self) -> None:
        if self.source is not None and self.filter_label:
            self.filter_label = ""
            self.table.set_source(self.source, empty_text="No rows.")
            self._status()

    def action_search(self) -> None:
        self.action_tab("rows")
        self.query_one("#dataset-search", Input).focus()

    @on(Input.Submitted, "#dataset-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        needle = event.value.strip()
        if self.source is None:
            self._show_error("Open a file first (Ctrl+O).")
        elif not needle:
            self.action_clear_filter()
            self.table.focus()
        else:
            self._say(f"searching for {needle!r}…", "yellow")
            self._search(self.source, needle, self._cancel)

    @work(thread=True, exclusive=True, group="dataset-search", exit_on_error=False)
    def _search(
        self, source: IndexedRows | SpilledRows | LoadedRows, needle: str, cancel: threading.Event
    ) -> None:
        positions = search_positions(source, needle, cancel)
        if not cancel.is_set() and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._search_done, source, positions, needle)

    def _search_done(
        self, source: IndexedRows | SpilledRows | LoadedRows, positions: list[int], needle: str
    ) -> None:
        if source is self.source:
            self._message = None
            self._filter(positions, f"rows containing {needle!r}")

    # -- detail --------------------------------------------------------------------------------------------
    def action_toggle_detail(self) -> None:
        self.toggle_class("-detail")
        if self.has_class("-detail"):
            self._show_detail()

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.add_class("-detail")
        self._show_detail()

    def on_virtual_table_cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        if self.has_class("-detail"):
            self._show_detail()

    def _show_detail(self) -> None:
        source = self.table.source
        if not isinstance(source, IndexedRows | SpilledRows | LoadedRows | FilteredRows) or not len(source):
            return
        record = source.record(self.table.cursor, full=True)
        issues = self.report.issues_for_row(record.line) if self.report else []
        self.query_one(RecordDetail).show(record, issues, self.model)

    # -- fixes and hand-off --------------------------------------------------------------------------------
    def action_apply_fixes(self) -> None:
        if self.path is None or self.report is None:
            self._show_error("Check the file first (c): fixes come from the report.")
            return
        chosen = self.query_one(FixesView).chosen
        self._say("writing the prepared file…", "yellow")
        self._apply(self.path, self.report, chosen)

    @work(thread=True, exclusive=True, group="dataset-apply", exit_on_error=False)
    def _apply(self, path: Path, report: Report, chosen: list[str]) -> None:
        from gptbench.core.datasets import apply_fixes

        try:
            result = apply_fixes(path, report, set(chosen))
        except BaseException as exc:
            self.app.call_from_thread(self._show_error, f"Could not write: {_error_text(exc)}")
            return
        self.app.call_from_thread(self._applied, path, result)

    def _applied(self, path: Path, result: PrepareResult) -> None:
        if path != self.path:
            return
        self.prepared = [Path(p) for p in result.paths]
        fixes = self.query_one(FixesView)
        if self.prepared:
            names = ", ".join(str(p) for p in self.prepared)
            fixes.set_result(f"Wrote {names} (the source is unchanged; t sends it to Fine-tune)", "green")
            self._say(f"wrote {names}", "green")
        else:
            fixes.set_result("Nothing to write: the chosen fixes change nothing.", "yellow")
            self._say("nothing to write: the chosen fixes change nothing", "yellow")
        fixes.show_next_steps(result.next_steps)

    # -- train/validation split ----------------------------------------------------------------------------
    def _split_target(self) -> tuple[Path, str] | None:
        """The file a split takes: the fixed file `a` just wrote, else the open file; with how to call it."""
        if len(self.prepared) == 1 and self.prepared[0] != self.path:
            return self.prepared[0], "the fixed file written by a"
        if self.path is None:
            return None
        return self.path, "the open file"

    def action_split(self) -> None:
        """Count the examples in a worker, then ask (counts, paths, stratified?) before writing anything."""
        target = self._split_target()
        if target is None:
            self._show_error("Open a file first (Ctrl+O).")
            return
        path, which = target
        if self._check_cancel is not None:
            self._say("A check is running: split when it ends (Esc stops it).", "yellow")
            return
        if self._split_cancel is not None:
            self._say("Already reading the file for a split (Esc stops it).", "yellow")
            return
        if which == "the open file" and self.report is not None:
            necessary = [f for f in self.report.fixes if f.necessary]
            if necessary:
                self._show_error(
                    f"Cannot split {path.name}: it needs fixing first ({necessary[0].title.lower()}); "
                    "a writes the fixed file, then s splits it."
                )
                return
        self._split_cancel = threading.Event()
        self._say(f"reading {path.name} for the split… (Esc stops)", "yellow")
        self._plan_split(path, which, self._split_cancel)

    @work(thread=True, exclusive=True, group="dataset-split", exit_on_error=False)
    def _plan_split(self, path: Path, which: str, cancel: threading.Event) -> None:
        from gptbench.core.datasets.split import plan_split

        try:
            plan = plan_split(path, cancel=cancel)
        except BaseException as exc:
            self.app.call_from_thread(self._split_planned, cancel, which, None, exc)
            return
        self.app.call_from_thread(self._split_planned, cancel, which, plan, None)

    def _split_planned(
        self, cancel: threading.Event, which: str, plan: SplitPlan | None, error: BaseException | None
    ) -> None:
        from gptbench.core.datasets.check import CheckCancelled

        if self._split_cancel is not cancel or cancel.is_set() or isinstance(error, CheckCancelled):
            return  # cancelled, or the file was closed meanwhile
        self._split_cancel = None
        if plan is None:
            self._show_error(f"Cannot split: {_error_text(error or RuntimeError('no plan'))}")
            return
        self._say(f"split {plan.path.name}? (Enter splits, Esc cancels)", "dim")

        def answered(stratify: bool | None) -> None:
            if stratify is None:
                self._say("split cancelled: nothing written", "yellow")
                self.table.focus()
                return
            self._say(f"writing the split of {plan.path.name}…", "yellow")
            self._write_split(plan.path, stratify)

        self.app.push_screen(SplitDialog(plan, which), answered)

    @work(thread=True, exclusive=True, group="dataset-split", exit_on_error=False)
    def _write_split(self, path: Path, stratify: bool) -> None:
        from gptbench.core.datasets.split import split_file

        try:
            result = split_file(path, stratify=stratify)
        except BaseException as exc:
            self.app.call_from_thread(self._show_error, f"Could not split: {_error_text(exc)}")
            return
        self.app.call_from_thread(self._split_written, path, result)

    def _split_written(self, path: Path, result: SplitResult) -> None:
        train, valid = result.paths
        how = "stratified split" if result.stratified else "split"
        message = (
            f"{how} {path.name} (unchanged): train {result.n_train:,} → {train}  "
            f"valid {result.n_valid:,} → {valid}"
        )
        self._say(message, "green")
        self.query_one(FixesView).set_result(message, "green")
        self.table.focus()

    def action_hand_off(self) -> None:
        target = self.prepared[0] if self.prepared else None
        if target is None and self.report is not None and not self.report.blocking and self.path is not None:
            target = self.path  # checked, nothing blocks it: the file itself can be trained on
        if target is None:
            self._show_error("Nothing to send: check the file (c) and apply its fixes (a) first.")
            return
        self.post_message(self.HandOff(target))
        if self._hand_off_routed():
            self._say(f"sent to Fine-tune: {target}", "green")
        else:
            self.app.copy_to_clipboard(str(target))
            self._say(f"Fine-tune pane not built yet; path copied: {target}", "yellow")

    def _hand_off_routed(self) -> bool:
        """Whether an ancestor (the app) handles HandOff, so "sent" is true."""
        for node in self.ancestors:
            handlers = getattr(type(node), "_decorated_handlers", {})
            if hasattr(node, "on_dataset_pane_hand_off") or self.HandOff in handlers:
                return True
        return False

    # -- keys ----------------------------------------------------------------------------------------------
    def action_open(self) -> None:
        path_input = self.query_one("#dataset-path", Input)
        path_input.focus()
        path_input.cursor_position = len(path_input.value)

    def action_model(self) -> None:
        self.query_one("#dataset-model", Input).focus()

    @on(Input.Submitted, "#dataset-model")
    def _model_submitted(self) -> None:
        self._say(f"model: {self.model} (c re-checks with it)", "dim")
        if self.has_class("-detail"):
            self._show_detail()
        self.table.focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        # Focus moves into the shown tab: left on a hidden widget, it would pull its own tab back to the front.
        target = {"rows": "#dataset-table", "report": "#report-issues", "fixes": "#fix-list"}.get(
            tab, "#stats-scroll"
        )
        self.query_one(target).focus()

    def action_cancel(self) -> None:
        if self._check_cancel is not None:
            self._check_cancel.set()
            self._say("stopping the check…", "yellow")
        elif self._split_cancel is not None:
            self._split_cancel.set()
            self._split_cancel = None
            self._say("split cancelled: nothing written", "yellow")
        elif self.has_class("-detail"):
            self.remove_class("-detail")
            self.table.focus()
        elif self.filter_label:
            self.action_clear_filter()
        else:
            self.table.focus()
