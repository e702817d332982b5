"""The Dataset pane on big non-JSONL files (CSV, Parquet): rows spilled to the cache dir, memory bounded, Pilot 100×30.

What the screen shows (first rows, the last source row numbers, a bad row in place with its reason), what the
process costs (peak RSS growth for 200,000 rows vs 2,000), and what the disk holds (the spill file only while the
file is open, in the cache dir; the source unchanged).
"""

from __future__ import annotations

import csv
import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from gptbench.core.config import cache_dir
from gptbench.tui.panes.dataset import DatasetPane
from gptbench.tui.panes.dataset.filters import issue_positions, search_positions
from gptbench.tui.panes.dataset.spill import SpilledRows, spill_dir
from scripted import screen as screen_text
from textual.app import App, ComposeResult
from textual.pilot import Pilot

SIZE = (100, 30)
BIG = 200_000


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DatasetPane()


async def wait_for(pilot: Pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out\n" + screen_text(pilot.app)
        await pilot.pause(0.02)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_csv(path: Path, rows: int, *, wide: bool = False) -> int:
    """`rows` data rows; row 4 has a two-line quoted prompt and row 10 is ragged. Returns the last CSV row number."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        extra = ["source", "label", "note"] if wide else []
        writer.writerow(["prompt", "completion", *extra])
        for n in range(rows):
            if n == 7:  # CSV row 10 (the header is row 1, and row 4 spans two lines: 4-5)
                f.write("RAGGED row,with,three fields\r\n")
                continue
            prompt = f"Question {n}" + ("\nsecond line" if n == 2 else "")
            cells = [prompt, f" answer {n}"]
            if wide:
                cells += [
                    f"crawl-{n % 97} of the big scrape",
                    f"label-{n % 7}",
                    f"checked by reviewer {n % 13}",
                ]
            writer.writerow(cells)
    return rows + 2  # the header, plus one line for the two-line prompt


async def open_quickly(pilot: Pilot, path: Path, text: str) -> DatasetPane:
    """Open `path` and wait until `text` (from its first rows) is on screen: well before the whole file is read."""
    pane = pilot.app.query_one(DatasetPane)
    await pilot.pause()
    started = time.perf_counter()
    assert pane.open_path(path)
    await wait_for(pilot, lambda: text in screen_text(pilot.app))
    assert time.perf_counter() - started < 5  # generous for a loaded machine; ≈ 0.15 s measured
    return pane


def last_rows_on_screen(app: App) -> list[int]:
    numbers = []
    for line in screen_text(app).splitlines():
        first = line.split()[:1]
        if first and first[0].isdigit():
            numbers.append(int(first[0]))
    return numbers


async def test_a_200k_row_csv_opens_fast_scrolls_to_its_last_row_and_shows_a_ragged_row_in_place(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pairs.csv"
    last = write_csv(path, BIG)
    before = digest(path)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_quickly(pilot, path, "Question 12")
        screen = screen_text(app)
        # Row numbers are the CSV's: the header is row 1, row 4 spans two lines, row 10 is ragged, shown in place.
        assert "2   prompt: 'Question 0' → completion: ' answer 0'" in screen
        assert "4   prompt: 'Question 2\\nsecond line' → completion: ' answer 2'" in screen
        assert "6   prompt: 'Question 3' → completion: ' answer 3'" in screen
        assert "10   row 10 has 3 fields, the header has 2  RAGGED row,with,three fields" in screen
        assert "11   prompt: 'Question 8' → completion: ' answer 8'" in screen
        spill = pane.source.spill_path
        assert spill.exists() and spill.parent == cache_dir() / "dataset-spill"
        await wait_for(pilot, lambda: f"pairs.csv  {BIG:,} rows" in screen_text(app) and not pane._loading)
        await pilot.press("end")
        await wait_for(pilot, lambda: last_rows_on_screen(app)[-1:] == [last])
        assert last_rows_on_screen(app)[-3:] == [last - 2, last - 1, last]
        assert f"{last}   prompt: 'Question {BIG - 1}' → completion: ' answer {BIG - 1}'" in screen_text(app)
        await pilot.press("enter")  # the detail of the last row
        await wait_for(pilot, lambda: "tokens in fields" in screen_text(app))
        assert f"Row {last}  ·" in screen_text(app)
        assert f"Question {BIG - 1}" in screen_text(app).split("tokens in fields")[1]
        # Search runs over the spill file; the hit keeps its source row number.
        await pilot.press("slash", *"RAGGED", "enter")
        await wait_for(pilot, lambda: "rows containing 'RAGGED' (1)" in screen_text(app))
        assert "10   row 10 has 3 fields, the header has 2" in screen_text(app)
        # Opening another file deletes the spill file.
        small = tmp_path / "small.csv"
        write_csv(small, 20)
        assert pane.open_path(small)
        assert not spill.exists()
        await wait_for(pilot, lambda: "small.csv  20 rows" in screen_text(app) and not pane._loading)
        small_spill = pane.source.spill_path
        assert small_spill.exists()
    assert not small_spill.exists()  # the app exited
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.csv", "small.csv"]


async def test_a_200k_row_parquet_opens_scrolls_and_shows_a_row_in_detail(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    table = pa.table(
        {
            "prompt": [f"Parquet question {n}" for n in range(BIG)],
            "completion": [f" parquet answer {n}" for n in range(BIG)],
        }
    )
    pq.write_table(table, path, row_group_size=50_000)  # Hugging Face exports come in row groups like these
    before = digest(path)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_quickly(pilot, path, "Parquet question 10")
        assert "1   prompt: 'Parquet question 0' → completion: ' parquet answer 0'" in screen_text(app)
        spill = pane.source.spill_path
        await wait_for(
            pilot, lambda: f"train.parquet  {BIG:,} rows" in screen_text(app) and not pane._loading
        )
        await pilot.press("end")
        await wait_for(pilot, lambda: last_rows_on_screen(app)[-1:] == [BIG])
        assert f"{BIG}   prompt: 'Parquet question {BIG - 1}'" in screen_text(app)
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: "tokens in fields" in screen_text(app))
        assert f"Row {BIG - 1}  ·" in screen_text(app)
        assert f"Parquet question {BIG - 2}" in screen_text(app).split("tokens in fields")[1]
    assert not spill.exists()
    assert digest(path) == before


class PeakRss:
    """Peak resident memory of this process from `start()`: VmHWM reset by /proc/self/clear_refs, or sampled."""

    def __init__(self) -> None:
        self.base = 0
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def read(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/self/status")

    def start(self) -> None:
        self.base = self._peak = self.read("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux ≥ 4.0)
            self._thread = None
        except (
            OSError
        ):  # no reset: sample instead, often enough for an allocation that builds up over seconds
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, self.read("VmRSS"))

    def growth(self) -> int:
        if self._thread is None:
            return self.read("VmHWM") - self.base
        self._stop.set()
        self._thread.join()
        return self._peak - self.base


async def open_and_read(pilot: Pilot, pane: DatasetPane, path: Path, rows: int) -> int:
    """Peak RSS growth from opening `path` until all its rows are read and the last one is drawn."""
    import gc

    gc.collect()
    peak = PeakRss()
    peak.start()
    assert pane.open_path(path)
    await wait_for(pilot, lambda: pane.table.row_count == rows and not pane._loading, timeout=60)
    await pilot.press("end")
    await wait_for(pilot, lambda: (pane.table.last_row_painted or (-1, 0.0))[0] == rows - 1)
    return peak.growth()


async def test_opening_a_200k_row_csv_costs_about_the_memory_of_a_2k_row_one(tmp_path: Path) -> None:
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_csv(small, 2_000, wide=True)
    write_csv(big, BIG, wide=True)  # 23 MB; held as Python dicts (before spilling) it cost ≈ 130 MB of RSS
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DatasetPane)
        await pilot.pause()
        await open_and_read(pilot, pane, small, 2_000)  # warm-up: csv, json, the first spill, the table
        small_growth = await open_and_read(pilot, pane, small, 2_000)
        big_growth = await open_and_read(pilot, pane, big, BIG)
    mb = 2**20
    # Spilled, 200,000 rows cost their row arrays (17 bytes a row, 3.4 MB) plus buffers: ≈ 7 MB measured.
    assert big_growth - small_growth < 80 * mb, (small_growth / mb, big_growth / mb)


async def test_a_checked_csv_names_its_source_rows_in_the_report_filter_and_detail(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    write_csv(path, 30)
    before = digest(path)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DatasetPane)
        assert pane.open_path(path)
        await wait_for(pilot, lambda: "pairs.csv  30 rows" in screen_text(app) and not pane._loading)
        await pilot.press("c")  # the check reads pairs.csv through core, not the spill file
        await wait_for(pilot, lambda: "errors," in screen_text(app) and "checking" not in screen_text(app))
        assert pane.report is not None and pane.report.path == path
        ragged = [issue for issue in pane.report.issues if 10 in issue.rows]
        assert ragged and ragged[0].severity == "error"
        await pilot.press("f")  # rows with any issue: the ragged row, by its CSV row number
        await wait_for(pilot, lambda: "rows with any issue" in screen_text(app))
        assert "10 ✖ row 10 has 3 fields, the header has 2" in screen_text(app)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "RAGGED row,with,three fields" in screen_text(app).split("rows with")[1]
        )
    assert digest(path) == before


def test_spilled_rows_find_positions_by_source_row_and_text(tmp_path: Path) -> None:
    from gptbench.core.datasets.records import Record

    rows = SpilledRows("x.csv")
    records = [
        Record(2, {"prompt": "café au lait", "completion": "x"}),
        Record(3, None, 'Broken, "quoted" CAFÉ', "row 3 has 3 fields, the header has 2", "ragged"),
        Record(5, {"prompt": "tea", "completion": 'said "hi"\nthen left'}),
        Record(4, None, None, "line 4 is 40.0 MB, longer than the limit", "too_long"),  # out of order
    ]
    assert rows.fill(records, threading.Event())
    assert len(rows) == 4 and [rows.row_number(p) for p in range(4)] == [2, 3, 5, 4]
    assert rows.record(2) == records[2] and rows.record(1) == records[1]
    assert [rows.position_of(r) for r in (2, 3, 4, 5, 6)] == [0, 1, 3, 2, None]
    assert search_positions(rows, "TEA") == [2]
    assert search_positions(rows, "café") == [0, 1]  # non-ASCII: case-folded, the bad row by its raw text
    assert search_positions(rows, '"quoted"') == [1]
    assert search_positions(rows, "40.0 MB") == []  # an error message is not the row's text

    class Issue:
        rows = [4, 9, 2]

    assert issue_positions(rows, [Issue()]) == [0, 3]  # type: ignore[list-item]
    spill = rows.spill_path
    rows.close()
    assert not spill.exists()
    assert rows.record(0).error is not None  # closed: a message, not an exception


def test_spill_files_of_dead_processes_are_swept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import gptbench.tui.panes.dataset.spill as spill

    monkeypatch.setenv("GPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    folder = spill_dir()
    folder.mkdir(parents=True)
    dead = folder / "999999999-abc-old.csv.jsonl"  # no such pid
    alive = folder / f"{os.getppid()}-abc-other.csv.jsonl"
    dead.write_text("{}\n")
    alive.write_text("{}\n")
    monkeypatch.setattr(spill, "_swept", False)
    rows = SpilledRows("new.csv")
    assert not dead.exists() and alive.exists() and rows.spill_path.exists()
    rows.close()
    assert sorted(p.name for p in folder.iterdir()) == [alive.name]


def write_xlsx(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (
        ["prompt", "completion"],
        ["Sheet question", " sheet answer"],
        [None, None],
        ["Row 4", " four"],
    ):
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "pairs.tsv",
            b"prompt\tcompletion\nTab question\t tab answer\n\nRow 4\t four\n",
            ["2   prompt: 'Tab"],
        ),
        (
            "notes.txt",
            "Plain line\n\u00e9t\u00e9 line\n".encode(),
            ["1   prompt: '' → completion: 'Plain line'"],
        ),
        (
            "array.json",
            b'[{"prompt": "Array item", "completion": " one"},\n 7]',
            ["1   prompt: 'Array item'"],
        ),
        ("book.xlsx", None, ["2   prompt: 'Sheet question' → completion: ' sheet answer'"]),
    ],
)
async def test_every_other_format_is_shown_through_the_spill_with_its_own_row_numbers(
    tmp_path: Path, name: str, content: bytes | None, expected: list[str]
) -> None:
    path = tmp_path / name
    if content is None:
        write_xlsx(path)
    else:
        path.write_bytes(content)
    shows = {
        "pairs.tsv": [*expected, "4   prompt: 'Row 4' → completion: ' four'"],
        "notes.txt": [*expected, "2   prompt: '' → completion: 'été line'"],
        "array.json": [*expected, "2   element 2 (line 2): expected a JSON object, got a number"],
        "book.xlsx": [*expected, "4   prompt: 'Row 4' → completion: ' four'"],
    }[name]
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DatasetPane)
        assert pane.open_path(path)
        assert isinstance(pane.source, SpilledRows)
        await wait_for(pilot, lambda: all(text in screen_text(app) for text in shows))
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


async def test_without_a_writable_cache_dir_rows_are_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir should be")
    monkeypatch.setenv("GPTBENCH_CACHE_DIR", str(blocker))
    path = tmp_path / "pairs.csv"
    write_csv(path, 30)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DatasetPane)
        assert pane.open_path(path)
        await wait_for(pilot, lambda: "pairs.csv  30 rows" in screen_text(app))
        screen = screen_text(app)
        assert "rows held in memory: cannot spill to the cache dir" in screen
        assert "10   row 10 has 3 fields, the header has 2" in screen
