"""The Dataset pane's train/validation split (s), driven with Pilot at 100×30: the dialog, the files, the rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gptbench.core.datasets import apply_fixes, check_file
from gptbench.core.datasets.split import split_indexes, stratified_split_indexes
from gptbench.tui.panes.dataset import DatasetPane
from scripted import screen as screen_text
from test_dataset_pane import PaneApp, check, wait_for
from textual import events
from textual.app import ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

SIZE = (100, 30)


class FooterApp(PaneApp):
    """The pane with the app's footer under it."""

    def compose(self) -> ComposeResult:
        yield DatasetPane()
        yield Footer()


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def flat(app) -> str:  # noqa: ANN001 - the app under test
    """The screen as one line: a long path may wrap at the dialog's or status line's edge."""
    return " ".join(screen_text(app).split())


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    """30 prompt/completion pairs, every completion different (conditional generation)."""
    rows = [{"prompt": f"Question {n} ->", "completion": f" answer {n}\n"} for n in range(1, 31)]
    return write(tmp_path / "qa.jsonl", rows)


async def open_split_dialog(pilot: Pilot, path: Path) -> None:
    pilot.app.query_one(DatasetPane).open_path(path)
    await wait_for(pilot, lambda: f"{path.name}  " in screen_text(pilot.app))
    await pilot.press("s")
    await wait_for(pilot, lambda: "Enter splits · Esc cancels" in screen_text(pilot.app))


async def test_split_writes_the_cli_rows_and_a_second_split_takes_1_names(
    qa_file: Path, tmp_path: Path
) -> None:
    source = qa_file.read_bytes()
    folder = qa_file.parent
    train, valid = folder / "qa_train.jsonl", folder / "qa_valid.jsonl"
    app = FooterApp()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(DatasetPane).open_path(qa_file)
        await wait_for(pilot, lambda: "s Split" in screen_text(app))  # in the footer
        await open_split_dialog(pilot, qa_file)
        screen = flat(app)
        assert "Split qa.jsonl (the open file)" in screen
        assert "30 examples → 24 train / 6 valid (seed 42)" in screen
        assert f"train → {train}" in screen and f"valid → {valid}" in screen
        assert "stratified" not in screen  # not classification data
        assert listing(folder) == ["qa.jsonl"]  # nothing written before the answer
        await pilot.press("enter")
        await wait_for(pilot, lambda: "split qa.jsonl (unchanged)" in flat(app))
        screen = flat(app)
        assert f"train 24 → {train}" in screen and f"valid 6 → {valid}" in screen
        rows = lines(qa_file)
        assert len(lines(train)) == 24 and len(lines(valid)) == 6
        assert sorted(map(json.dumps, lines(train) + lines(valid))) == sorted(map(json.dumps, rows))
        # The rows (and order) of the core split with seed 42, as `gptbench data prepare --split` writes them.
        picked, rest = split_indexes(30, 42)
        assert lines(train) == [rows[i] for i in picked] and lines(valid) == [rows[i] for i in rest]
        cli = apply_fixes(qa_file, check_file(qa_file), set(), split=True, out_dir=tmp_path / "cli")
        assert [lines(p) for p in cli.paths] == [lines(train), lines(valid)]
        assert qa_file.read_bytes() == source

        await pilot.press("s")  # again: the names are taken, so both get " (1)"
        await wait_for(pilot, lambda: "Enter splits · Esc cancels" in screen_text(app))
        train1, valid1 = folder / "qa_train (1).jsonl", folder / "qa_valid (1).jsonl"
        assert f"train → {train1}" in flat(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"valid 6 → {valid1}" in flat(app))
        assert lines(train1) == lines(train) and lines(valid1) == lines(valid)
        assert listing(folder) == sorted(
            [
                "cli",
                "qa.jsonl",
                "qa_train.jsonl",
                "qa_valid.jsonl",
                "qa_train (1).jsonl",
                "qa_valid (1).jsonl",
            ]
        )
        assert qa_file.read_bytes() == source


async def test_classification_offers_stratified_and_keeps_class_shares(tmp_path: Path) -> None:
    labels = [" positive"] * 20 + [" negative"] * 10
    rows = [{"prompt": f"Review {n}: a film ->", "completion": c} for n, c in enumerate(labels)]
    path = write(tmp_path / "sentiment.jsonl", rows)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_split_dialog(pilot, path)
        screen = flat(app)
        assert "[ ] stratified: classification data (2 classes)" in screen
        assert "s toggles stratified" in screen
        await pilot.press("s")
        await wait_for(pilot, lambda: "[x] stratified" in flat(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "stratified split sentiment.jsonl" in flat(app))
    valid = lines(tmp_path / "sentiment_valid.jsonl")
    train = lines(tmp_path / "sentiment_train.jsonl")
    assert sorted(r["completion"] for r in valid) == [" negative"] * 2 + [" positive"] * 4  # 2:1, as the file
    assert len(train) == 24
    picked, rest = stratified_split_indexes([r["completion"] for r in rows], 42)
    assert train == [rows[i] for i in picked] and valid == [rows[i] for i in rest]
    cli = apply_fixes(path, check_file(path), set(), split=True, stratify=True, out_dir=tmp_path / "cli")
    assert [lines(p) for p in cli.paths] == [train, valid]


async def test_escape_cancels_and_writes_nothing(qa_file: Path) -> None:
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_split_dialog(pilot, qa_file)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "split cancelled: nothing written" in screen_text(app))
        assert "Enter splits" not in screen_text(app)
        assert app.query_one(DatasetPane).table.has_focus
    assert listing(qa_file.parent) == ["qa.jsonl"]


async def test_after_fixes_the_split_takes_the_fixed_file_with_the_cli_names(tmp_path: Path) -> None:
    """A file needing fixes is refused; once `a` wrote the fixed file, s splits that one into the names
    `gptbench data prepare --split` uses (NAME_prepared_train.jsonl), with the same rows."""
    rows = [{"prompt": f"Question {n} about cats ->", "completion": f" answer {n}\n"} for n in range(1, 13)]
    rows[4]["completion"] = ""
    src = write(tmp_path / "pairs.jsonl", rows)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DatasetPane)
        pane.open_path(src)
        await check(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: "Cannot split pairs.jsonl: it needs fixing first" in screen_text(app))
        assert listing(tmp_path) == ["pairs.jsonl"]
        await pilot.press("3")
        await wait_for(pilot, lambda: "Remove the 1 rows with an empty completion" in screen_text(app))
        chosen = set(pane.query_one("#dataset-fixes").chosen)
        await pilot.press("a")
        await wait_for(pilot, lambda: "Wrote" in screen_text(app))
        fixed = tmp_path / "pairs_prepared.jsonl"
        assert pane.prepared == [fixed]
        await pilot.press("s")
        await wait_for(pilot, lambda: "Enter splits · Esc cancels" in screen_text(app))
        screen = flat(app)
        assert "Split pairs_prepared.jsonl (the fixed file written by a)" in screen
        assert "11 examples → 8 train / 3 valid" in screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: "split pairs_prepared.jsonl" in flat(app))
    train, valid = tmp_path / "pairs_prepared_train.jsonl", tmp_path / "pairs_prepared_valid.jsonl"
    cli = apply_fixes(src, check_file(src), chosen, split=True, out_dir=tmp_path / "cli")
    assert [p.name for p in cli.paths] == [train.name, valid.name]
    assert [lines(p) for p in cli.paths] == [lines(train), lines(valid)]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "one.jsonl",
            '{"prompt": "a", "completion": " b"}\n',
            "Cannot split: one.jsonl: 1 example; a split needs at least 2",
        ),
        (
            "broken.jsonl",
            '{"prompt": "a", "completion": " b"}\n{"prompt": \n{"prompt": "c", "completion": " d"}\n',
            "Cannot split: broken.jsonl line 2: not valid JSON: Expecting value (column 12); apply the necessary fixes first",
        ),
    ],
)
async def test_errors_are_one_line_and_write_nothing(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(DatasetPane).open_path(path)
        await wait_for(pilot, lambda: f"{name}  " in screen_text(app))
        await pilot.press("s")
        await wait_for(pilot, lambda: "Cannot split" in screen_text(app))
        assert expected in flat(app)  # one message (the status line wraps it at the edge)
        assert "Traceback" not in screen_text(app) and "Enter splits" not in screen_text(app)
    assert listing(tmp_path) == [name]


async def test_a_chat_file_splits_like_prepare(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": f"a{n}"}]}
        for n in range(30)
    ]
    path = write(tmp_path / "chat.jsonl", rows)
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_split_dialog(pilot, path)
        assert "30 examples → 24 train / 6 valid" in flat(app) and "stratified" not in flat(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "split chat.jsonl" in flat(app))
    cli = apply_fixes(path, check_file(path), set(), split=True, out_dir=tmp_path / "cli")
    assert [lines(tmp_path / "chat_train.jsonl"), lines(tmp_path / "chat_valid.jsonl")] == [
        lines(p) for p in cli.paths
    ]


async def test_escape_stops_reading_a_big_file_for_the_split(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("prompt,completion\n" + "".join(f"question {n} ->, answer {n}\n" for n in range(100_000)))
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(DatasetPane).open_path(path)
        await wait_for(
            pilot, lambda: "100,000 rows" in screen_text(app) and "(reading" not in screen_text(app)
        )
        # Both keys queued at once, as a typing user sends them (Pilot.press would wait for the app to be idle).
        for key, char in (("s", "s"), ("escape", None)):
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: "split cancelled: nothing written" in screen_text(app))
        await pilot.pause(0.3)  # the reading thread stops at its next cancel check; no dialog comes
        assert "Enter splits" not in screen_text(app)
    assert listing(tmp_path) == ["many.csv"]
