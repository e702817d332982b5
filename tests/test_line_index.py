"""LineIndex: exact line boundaries for every line-ending shape, random access, and indexing in steps."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from gptbench.core.datasets.line_index import LineIndex
from gptbench.core.errors import InputError


def lines_of(path: Path) -> list[bytes]:
    with LineIndex(path) as index:
        index.build()
        return [index.line(n) for n in range(len(index))]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", []),
        (b"\n", [b""]),
        (b"a", [b"a"]),
        (b"a\n", [b"a"]),
        (b"a\nbb\nccc", [b"a", b"bb", b"ccc"]),
        (b"a\nbb\nccc\n", [b"a", b"bb", b"ccc"]),
        (b"a\r\nbb\r\n", [b"a", b"bb"]),
        (b"a\r\nbb", [b"a", b"bb"]),
        (b"a\n\n\nb\n", [b"a", b"", b"", b"b"]),
        (b"\r\n\r\n", [b"", b""]),
    ],
)
def test_lines_match_splitlines(tmp_path: Path, content: bytes, expected: list[bytes]) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    assert lines_of(path) == expected


def test_offsets_and_lengths(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"ab\r\ncde\nf")
    with LineIndex(path) as index:
        assert index.build()
        assert [index.span(n) for n in range(3)] == [(0, 2), (4, 7), (8, 9)]
        assert [index.line_length(n) for n in range(3)] == [2, 3, 1]
        assert index.line(1, limit=2) == b"cd"
        with pytest.raises(IndexError):
            index.span(3)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with LineIndex(path) as index:
        assert index.done and index.progress == 1.0 and len(index) == 0
        assert index.build()


def test_random_access_over_many_lines(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("".join(f"line {n}\n" for n in range(50_000)))
    with LineIndex(path) as index:
        index.build()
        assert len(index) == 50_000
        for n in (0, 1, 12_345, 49_999, 7, 31_000):
            assert index.line(n) == f"line {n}".encode()


def test_incremental_steps_only_expose_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "steps.txt"
    path.write_text("".join(f"{n:05d}\n" for n in range(1000)))  # 6 bytes a line
    with LineIndex(path) as index:
        assert not index.step(64)  # 64 bytes: lines 0-9 complete, line 10 begun
        assert len(index) == 10 and 0 < index.progress < 1
        assert index.line(9) == b"00009"
        with pytest.raises(IndexError):
            index.line(10)
        seen = []
        while not index.step(1000):
            seen.append(len(index))
        assert seen == sorted(seen) and len(index) == 1000
        assert index.line(999) == b"00999"


def test_build_in_a_thread_while_reading_and_cancel(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("".join(f"row {n}\n" for n in range(300_000)))
    index = LineIndex(path)
    index.step(256)
    first = len(index)
    assert first > 0 and index.line(0) == b"row 0"
    progress: list[float] = []
    worker = threading.Thread(target=index.build, kwargs={"progress": progress.append})
    worker.start()
    while worker.is_alive():  # reads while the other thread appends
        count = len(index)
        if count:
            assert index.line(count - 1) == f"row {count - 1}".encode()
    worker.join()
    assert len(index) == 300_000 and progress[-1] == 1.0
    index.close()

    cancelled = threading.Event()
    cancelled.set()
    with LineIndex(path) as again:
        assert again.build(cancel=cancelled) is False
        assert not again.done and len(again) < 300_000


def test_missing_file_and_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.jsonl"):
        LineIndex(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="folder"):
        LineIndex(tmp_path)


def test_find_lines_one_hit_per_line_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"a": "Paris paris"}\n{"a": "Rome"}\r\n{"a": "PARIS"}\n{"a": "x"}')
    with LineIndex(path) as index:
        index.build()
        assert index.find_lines(b"paris") == [0, 2]
        assert index.find_lines(b"paris", ignore_case=False) == [0]
        assert index.find_lines(b'"x"') == [3]
        assert index.find_lines(b"nowhere") == []
        assert [index.line_at(o) for o in (0, 20, 21, 35, 36)] == [0, 0, 1, 1, 2]


def test_find_lines_only_searches_the_indexed_part(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_bytes(b"hit\nmiss\nhit\nhit\n")
    with LineIndex(path) as index:
        index.step(10)  # lines 0-1 complete, line 2 being scanned
        assert index.find_lines(b"hit") == [0]
