"""The Dataset pane, driven with Pilot at 80×24: what the screen shows, and what lands on disk."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from gptbench.core.tokens import get_tokenizer
from gptbench.tui.panes.dataset import DatasetPane
from gptbench.tui.panes.dataset.histogram import bar, sparkline
from gptbench.tui.panes.dataset.path_suggester import PathSuggester
from scripted import screen as screen_text
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot


class PaneApp(App[None]):
    """The pane alone, as the app shell mounts it."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: list[Path] = []

    def compose(self) -> ComposeResult:
        yield DatasetPane()

    def on_dataset_pane_hand_off(self, message: DatasetPane.HandOff) -> None:
        self.handed.append(message.path)


async def wait_for(pilot: Pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds (workers finish in threads)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out\n" + screen_text(pilot.app)
        await pilot.pause(0.02)


def chat(user: str, answer: str, system: str | None = "You are terse.") -> str:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
    ]
    return json.dumps({"messages": messages})


@pytest.fixture
def chat_file(tmp_path: Path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(chat(f"question {n}", f"answer {n}") for n in range(1, 31)) + "\n")
    return path


async def test_opening_a_file_shows_its_rows(chat_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(chat_file.parent)
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        await pilot.press("ctrl+o")
        await pilot.press(*"ch", "right", "enter")  # the suggester completes "ch" to "chat.jsonl"
        await wait_for(pilot, lambda: "question 3" in screen_text(app))
        screen = screen_text(app)
        assert "chat.jsonl  30 rows" in screen
        assert "1   system: You are terse. │ user: question 1 │ assistant: answer 1" in screen
        assert pane.table.has_focus


async def test_csv_rows_come_from_the_engine_reader(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("prompt,completion\nHello there,General Kenobi\nsecond,row\n")
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.query_one(DatasetPane).open_path(path)
        await wait_for(pilot, lambda: "second" in screen_text(app))
        screen = screen_text(app)
        assert "pairs.csv  2 rows" in screen
        # CSV rows keep the spreadsheet's row numbers: the header is row 1.
        assert "2   prompt: 'Hello there' → completion: 'General Kenobi'" in screen
        assert "3   prompt: 'second' → completion: 'row'" in screen


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.jsonl", None, "no such file"),
        ("notes.docx", b"hello", "unsupported file type '.docx'"),
        ("blob.jsonl", b"\x00\x01\x02binary", "looks like a binary file"),
    ],
)
async def test_bad_input_shows_a_message(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.query_one(DatasetPane).open_path(path) is False
        await pilot.pause()
        screen = screen_text(app)
        assert "Cannot open:" in screen and expected in screen.replace("\n", " ")
        if content is not None:
            assert path.read_bytes() == content


async def test_malformed_lines_are_shown_as_errors_in_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(chat("ok", "fine").encode() + b'\n{"messages": [\n[1, 2]\n\xff\xfe\n')
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(path)
        await wait_for(pilot, lambda: "4 rows" in screen_text(app))
        screen = screen_text(app)
        assert "2   line 2: not valid JSON" in screen
        assert "3   line 3: expected a JSON object, got a list" in screen
        assert "4   line 4: invalid UTF-8" in screen


async def test_record_detail_shows_token_counts(chat_file: Path) -> None:
    tokenizer = get_tokenizer("gpt-4o-mini")
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(chat_file)
        await pilot.pause()
        await pilot.press("down", "enter")  # row 2, detail view
        await wait_for(pilot, lambda: "tokens in fields" in screen_text(app))
        screen = screen_text(app)
        assert "Row 2" in screen
        system, user = tokenizer.count("You are terse."), tokenizer.count("question 2")
        assert f"1. system  · {system} tokens" in screen
        assert f"2. user  · {user} tokens" in screen
        assert "Row 2  ·  gpt-4o-mini (o200k_base)  ·" in screen


async def test_search_filters_rows_and_escape_shows_all(chat_file: Path) -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(chat_file)
        await pilot.press("slash", *"ANSWER 2", "enter")
        await wait_for(pilot, lambda: "rows containing 'ANSWER 2' (11)" in screen_text(app))
        lines = [line for line in screen_text(app).splitlines() if "│ user:" in line]
        assert [line.split()[0] for line in lines] == ["2", *(str(n) for n in range(20, 30))]
        await pilot.press("escape")  # focus back on the table
        await pilot.press("x")
        await wait_for(pilot, lambda: "rows containing" not in screen_text(app))
        assert "1   system" in screen_text(app)


async def test_huge_file_shows_first_rows_before_indexing_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    line = chat("x" * 100, "y" * 150).encode() + b"\n"
    path.write_bytes(line * 200_000)  # ≈ 60 MB
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        started = time.perf_counter()
        pane.open_path(path)
        indexed_when_opened = len(pane.source)
        await wait_for(pilot, lambda: pane.table.first_row_painted_at is not None)
        first_paint = pane.table.first_row_painted_at - started
        # open_path indexed only the first 256 KB; the rest is left to the worker.
        assert 0 < indexed_when_opened < 2000
        assert first_paint < 1.0, first_paint  # the goal (bench) is 0.3 s; generous for a loaded CI machine
        assert "      1   system: You are terse." in screen_text(app)
        await wait_for(pilot, lambda: "200,000 rows" in screen_text(app))
        await pilot.press("end")
        await wait_for(pilot, lambda: " 200000   system" in screen_text(app))


def test_histogram_glyphs() -> None:
    assert bar(10, 10, 4) == "████"
    assert bar(5, 10, 4) == "██"
    assert bar(1, 16, 2) == "▏"
    assert bar(0, 10, 4) == ""
    assert sparkline([0, 1, 8]) == " ▁█"
    assert sparkline([6, 6, 3]) == "██▄"


async def test_path_suggester_completes_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("{}\n")
    (tmp_path / ".hidden").write_text("")
    suggester = PathSuggester()
    assert await suggester.get_suggestion(f"{tmp_path}/da") == f"{tmp_path}/data/"
    assert await suggester.get_suggestion(f"{tmp_path}/data") == f"{tmp_path}/data/"
    assert await suggester.get_suggestion(f"{tmp_path}/data/t") == f"{tmp_path}/data/train.jsonl"
    assert await suggester.get_suggestion(f"{tmp_path}/data/train.jsonl") is None
    assert await suggester.get_suggestion(f"{tmp_path}/.h") == f"{tmp_path}/.hidden"
    assert await suggester.get_suggestion(f"{tmp_path}/nothing/x") is None


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    """12 prompt/completion pairs: row 5 has an empty completion, rows 8 and 11 repeat row 2."""
    rows = [{"prompt": f"Question {n} about cats ->", "completion": f" answer {n}\n"} for n in range(1, 13)]
    rows[4]["completion"] = ""
    rows[7] = rows[10] = dict(rows[1])
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def table_rows(app: App) -> list[int]:
    """Row numbers of the table lines on screen."""
    return [int(line.split()[0]) for line in screen_text(app).splitlines() if "prompt: '" in line]


async def check(pilot: Pilot) -> None:
    await pilot.press("c")
    await wait_for(pilot, lambda: "warnings" in screen_text(pilot.app))


async def test_check_marks_rows_and_filtering_to_one_issue_shows_only_its_rows(pairs_file: Path) -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(pairs_file)
        await check(pilot)
        screen = screen_text(app)
        assert "0 errors, 4 warnings" in screen
        assert "      5 ▲ prompt: 'Question 5 about cats ->' → completion: ''" in screen
        await pilot.press("2")  # the report, grouped by check
        await wait_for(pilot, lambda: "duplicates  1 issue, 2 rows" in screen_text(app))
        assert "▲ warning 2 prompt/completion pairs repeat an earlier row" in screen_text(app)
        await pilot.press("down", "down", "enter")  # count → empty_completions → duplicates
        await wait_for(pilot, lambda: "duplicates: 2 prompt/completion pairs" in screen_text(app))
        assert table_rows(app) == [8, 11]
        await pilot.press("x")
        await wait_for(pilot, lambda: len(table_rows(app)) == 12)
        await pilot.press("f")  # every row any issue names
        await wait_for(pilot, lambda: table_rows(app) == [5, 8, 11])


async def test_applying_fixes_writes_a_new_file_and_leaves_the_source(pairs_file: Path) -> None:
    source = pairs_file.read_bytes()
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        pane.open_path(pairs_file)
        await pilot.press("t")  # nothing checked yet: nothing to hand over
        assert "Nothing to send" in screen_text(app) and app.handed == []
        await check(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: "+ (row removed)" in screen_text(app))  # preview of the first fix
        screen = screen_text(app)
        assert "Remove the 1 rows with an empty completion  necessary" in screen
        assert "row 5" in screen and '- {"prompt": "Question 5 about cats ->", "completion": ""}' in screen
        await pilot.press("down", "down")  # remove_completion_prefix: see what it does, then turn it off
        await wait_for(
            pilot,
            lambda: '+ {"prompt": "Question 1 about cats ->", "completion": " 1\\n"}' in screen_text(app),
        )
        await pilot.press("space", "a")
        prepared = pairs_file.with_name("pairs_prepared.jsonl")
        await wait_for(pilot, lambda: "Wrote" in screen_text(app))
        assert pane.prepared == [prepared]
        kept = [json.loads(line) for line in pairs_file.read_text().splitlines()]
        expected = [row for n, row in enumerate(kept, 1) if n not in (5, 8, 11)]
        assert [json.loads(line) for line in prepared.read_text().splitlines()] == expected
        assert pairs_file.read_bytes() == source
        await pilot.press("t")
        await wait_for(pilot, lambda: "sent to Fine-tune" in screen_text(app))
        assert app.handed == [prepared]


class NoRouteApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DatasetPane()


async def test_hand_off_without_a_fine_tune_pane_says_so(chat_file: Path) -> None:
    app = NoRouteApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(chat_file)
        await check(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: "Fine-tune pane not built yet" in screen_text(app))
        assert "sent to Fine-tune" not in screen_text(app)


async def test_inside_the_app_f4_shows_the_pane_ready_for_a_path(
    chat_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gptbench.core.config import Settings
    from gptbench.tui.app import GptBenchApp
    from scripted import ScriptedPool

    settings = Settings(model="scripted")
    app = GptBenchApp(settings, pool=ScriptedPool(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "dataset-path")
        monkeypatch.chdir(chat_file.parent)
        await pilot.press(*"chat.jsonl", "enter")
        await wait_for(pilot, lambda: "user: question 2" in screen_text(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: "0 errors, 1 warnings" in screen_text(app))
        assert app.query_one(DatasetPane).model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("name", "content", "row_text", "report_text"),
    [
        (
            "empty.jsonl",
            b"",
            "empty.jsonl is empty.",
            "empty.jsonl is empty: there is nothing to fine-tune on",
        ),
        ("array.json", b'[1, "a"]', "expected a JSON object, got a number", "not a JSON object"),
        ("ragged.csv", b"prompt,completion\na,b\nc\n", "3   row 3 has 1 field", "wrong number"),
        (
            "mixed.jsonl",
            (chat("hi", "yo", None) + '\n{"prompt": "p", "completion": "c"}\n').encode(),
            "2   prompt: 'p' → completion: 'c'",
            "are chat (`messages`) records in a",
        ),
    ],
)
async def test_bad_files_get_a_clear_report_and_stay_unchanged(
    tmp_path: Path, name: str, content: bytes, row_text: str, report_text: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.query_one(DatasetPane).open_path(path)
        await wait_for(pilot, lambda: row_text in screen_text(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: "errors," in screen_text(app) and "0 errors" not in screen_text(app))
        await pilot.press("2")
        await wait_for(pilot, lambda: report_text in screen_text(app))
        assert "blocks fine-tuning" in screen_text(app)
        await pilot.press("a")  # errors no fix removes: the writer refuses, the pane says why
        await wait_for(pilot, lambda: "Could not write" in screen_text(app))
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


async def test_a_huge_line_is_not_parsed_for_the_table(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text(
        json.dumps({"prompt": "x" * 3_000_000, "completion": " y"}) + "\n" + chat("a", "b") + "\n"
    )
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(path)
        await wait_for(pilot, lambda: "2   system" in screen_text(app))
        assert "1   line 1 is 2.9 MB: too long to show" in screen_text(app)


async def test_escape_stops_a_running_check(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"  # the record-by-record checker: cancel is honoured every 2,000 rows
    path.write_text("prompt,completion\n" + "".join(f"question {n} ->, answer {n}\n" for n in range(100_000)))
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        pane.open_path(path)
        await wait_for(pilot, lambda: "question 1 ->" in screen_text(app))
        # Both keys are queued at once, as a typing user sends them: Pilot.press waits for the app to be idle
        # after each key, and a fast check can finish inside that wait.
        for key, char in (("c", "c"), ("escape", None)):
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: "Check stopped." in screen_text(app))
        assert pane.report is None


async def test_opening_another_file_forgets_the_previous_report(pairs_file: Path, chat_file: Path) -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(DatasetPane)
        pane.open_path(pairs_file)
        await check(pilot)
        pane.open_path(chat_file)
        await pilot.press("3")
        await wait_for(pilot, lambda: "No fixes yet" in screen_text(app))
        assert "duplicate" not in screen_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: "No report yet" in screen_text(app))
        assert pane.report is None


async def test_stats_show_token_histograms_and_class_counts(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.jsonl"
    labels = [" positive"] * 20 + [" negative"] * 10
    path.write_text(
        "".join(
            json.dumps({"prompt": f"Review {n}: {'great ' * (n % 5)}film ->", "completion": c}) + "\n"
            for n, c in enumerate(labels)
        )
    )
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(path)
        await check(pilot)
        await pilot.press("4")
        await wait_for(pilot, lambda: "classes  2 distinct" in screen_text(app))
        screen = screen_text(app)
        assert "prompt tokens  n=30" in screen
        assert "' positive' ████████████████████████████████████████ 20  (<100)" in screen
        assert "' negative' " + "█" * 20 + " " * 20 + " 10  (<100)" in screen  # bars scale to the top class


class BrokenRows:
    """A row source whose third row cannot be drawn."""

    def __len__(self) -> int:
        return 5

    def render_row(self, position: int):
        from rich.text import Text

        if position == 2:
            raise ValueError("bad bytes")
        return Text(f"row {position}")


async def test_virtual_table_shows_a_row_it_cannot_draw_as_a_message() -> None:
    from gptbench.tui.widgets.virtual_table import VirtualTable

    class TableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield VirtualTable(BrokenRows())

    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "row 4" in screen_text(app))
        assert "cannot show row 3: ValueError: bad bytes" in screen_text(app)


async def test_an_unknown_model_is_named_in_the_detail_view(chat_file: Path) -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(DatasetPane).open_path(chat_file)
        await pilot.press("m", *"nonsense", "enter")  # replaces the (selected) default, back to the table
        await pilot.press("enter")
        await wait_for(pilot, lambda: "no token counts: unknown model 'nonsense'" in screen_text(app))


def test_search_finds_non_ascii_text_written_raw_or_escaped(tmp_path: Path) -> None:
    from gptbench.core.datasets.line_index import LineIndex
    from gptbench.tui.panes.dataset.filters import search_positions
    from gptbench.tui.panes.dataset.rows import IndexedRows

    path = tmp_path / "fr.jsonl"
    rows = [{"prompt": "café", "completion": "x"}, {"prompt": "tea", "completion": "y"}, {"prompt": "café"}]
    path.write_text(
        json.dumps(rows[0], ensure_ascii=False)
        + "\n"
        + json.dumps(rows[1])
        + "\n"
        + json.dumps(rows[2])
        + "\n"
    )
    with LineIndex(path) as index:
        index.build()
        assert search_positions(IndexedRows(index), "café") == [0, 2]
        assert search_positions(IndexedRows(index), "TEA") == [1]
