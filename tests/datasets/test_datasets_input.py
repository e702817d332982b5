"""Readers and bad input: every format, and each kind of broken file gives a clear report, never a crash or a change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gptbench.core.datasets import check_file, read_records
from gptbench.core.datasets.readers import MAX_LINE_BYTES
from gptbench.core.errors import InputError
from helpers import FIXTURES, checks, digest


def test_csv_tsv_xlsx_parquet_txt_and_json_formats(tmp_path: Path) -> None:
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.csv").write_text('prompt,completion\n"multi\nline ->", one\nb ->,\n', encoding="utf-8")
    assert [(r.line, r.data) for r in read_records(tmp_path / "a.csv")] == [
        (2, {"prompt": "multi\nline ->", "completion": " one"}),
        (4, {"prompt": "b ->", "completion": ""}),
    ]
    (tmp_path / "a.tsv").write_text("prompt\tcompletion\nx ->\t y\n", encoding="utf-8")
    assert next(read_records(tmp_path / "a.tsv")).data == {"prompt": "x ->", "completion": " y"}
    book = openpyxl.Workbook()
    book.active.append(["prompt", "completion"])
    book.active.append(["x ->", 5])
    book.create_sheet("other")
    book.save(tmp_path / "a.xlsx")
    reader = read_records(tmp_path / "a.xlsx")
    assert [(r.line, r.data) for r in reader] == [(2, {"prompt": "x ->", "completion": "5"})]
    assert "only the first" in reader.notes[0]
    sheets = check_file(tmp_path / "a.xlsx").issues[0]
    assert (sheets.check, sheets.severity) == (
        "file",
        "warning",
    ) and "2 sheets; only the first" in sheets.message
    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "completion": " c"}]), tmp_path / "a.parquet")
    assert next(read_records(tmp_path / "a.parquet")).data == {"prompt": "p", "completion": " c"}
    (tmp_path / "a.txt").write_text("first\nsecond\n", encoding="utf-8")
    assert [r.data for r in read_records(tmp_path / "a.txt")] == [
        {"prompt": "", "completion": "first"},
        {"prompt": "", "completion": "second"},
    ]
    (tmp_path / "lines.json").write_text('{"prompt": "a", "completion": "b"}\n', encoding="utf-8")
    assert next(read_records(tmp_path / "lines.json")).data == {"prompt": "a", "completion": "b"}
    (tmp_path / "one.jsonl").write_text('[{"prompt": "a", "completion": "b"}]', encoding="utf-8")
    assert next(read_records(tmp_path / "one.jsonl")).data == {"prompt": "a", "completion": "b"}


def test_missing_file_folder_and_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        check_file(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="is a folder"):
        check_file(tmp_path)
    (tmp_path / "data.xml").write_text("<a/>")
    with pytest.raises(InputError, match=r"unsupported file type '\.xml'; supported: \.csv, \.tsv"):
        check_file(tmp_path / "data.xml")


def test_empty_file(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"")
    report = check_file(src)
    assert (
        report.blocking
        and checks(report)["empty_file"].message == "empty.jsonl is empty: there is nothing to fine-tune on"
    )


def test_binary_file(tmp_path: Path) -> None:
    src = tmp_path / "model.jsonl"
    src.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    before = digest(src)
    report = check_file(src)
    assert (
        report.blocking
        and "looks like a binary file (NUL byte at offset 7)" in checks(report)["binary_file"].message
    )
    assert digest(src) == before


def test_json_array_of_non_objects() -> None:
    report = check_file(FIXTURES / "array_non_objects.json")
    issue = checks(report)["read:type"]
    assert (
        issue.rows == [1, 2, 4]
        and "element 1 (line 1): expected a JSON object, got a number" in issue.message
    )
    assert report.blocking and report.stats.n_examples == 1


def test_mixed_formats_in_one_file(tmp_path: Path) -> None:
    lines = [
        {"prompt": "a ->", "completion": " b"},
        {"prompt": "c ->", "completion": " d"},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
    ]
    src = tmp_path / "mixed.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = check_file(src)
    assert report.format == "prompt_completion" and report.blocking
    assert (
        checks(report)["mixed_formats"].rows == [3]
        and "chat (`messages`) records" in checks(report)["mixed_formats"].message
    )


def test_invalid_utf8_names_the_line() -> None:
    report = check_file(FIXTURES / "invalid_utf8.jsonl")
    issue = checks(report)["read:encoding"]
    assert issue.rows == [2] and "line 2: invalid UTF-8" in issue.message
    assert report.stats.n_examples == 2  # the scan went on


def test_ragged_csv_names_the_rows() -> None:
    report = check_file(FIXTURES / "ragged.csv")
    issue = checks(report)["read:ragged"]
    assert issue.rows == [3, 4] and "row 3 has 3 fields, the header has 2" in issue.message
    assert report.stats.n_examples == 2


def test_line_cap_with_a_small_limit(tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    src.write_text(
        '{"prompt": "a", "completion": " b"}\n'
        + '{"prompt": "'
        + "x" * 5000
        + '"}\n'
        + '{"prompt": "c", "completion": " d"}\n'
    )
    records = list(read_records(src, max_line_bytes=1000))
    assert [(r.line, r.kind) for r in records] == [(1, None), (2, "too_long"), (3, None)]
    assert records[1].error == "line 2 is longer than 0.000953674 MB; skipped"


def test_a_real_line_over_the_default_cap_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    src = tmp_path / "huge.jsonl"
    with src.open("wb") as f:
        f.write(
            b'{"messages": [{"role": "user", "content": "' + b"y" * (MAX_LINE_BYTES + 1024 * 1024) + b'"}]}\n'
        )
        for i in range(12):
            f.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"q{i}"},
                            {"role": "assistant", "content": "a"},
                        ]
                    }
                ).encode()
                + b"\n"
            )
    report = check_file(src)
    issue = checks(report)["format:too_long"]
    assert issue.rows == [1] and "longer than 32 MB" in issue.message
    assert report.stats.n_examples == 12


def test_a_sparse_2gb_single_line_file(tmp_path: Path) -> None:
    src = tmp_path / "two_gb.jsonl"
    with src.open("wb") as f:
        f.write(b'{"prompt": "')
        f.truncate(2 * 1024**3)  # sparse: no disk blocks, but 2 GB without a newline on read
    before = src.stat()
    report = check_file(src)  # NUL bytes: a clear "binary file" report after reading 8 KB
    assert report.blocking and "binary_file" in checks(report)
    assert src.stat().st_mtime == before.st_mtime and src.stat().st_size == 2 * 1024**3


def test_a_sparse_single_line_four_times_the_cap_streams_in_bounded_memory(tmp_path: Path) -> None:
    import resource

    src = tmp_path / "long_line.jsonl"
    with src.open("wb") as f:
        f.write(b'{"prompt": "')
        f.truncate(4 * MAX_LINE_BYTES)
        f.seek(0, 2)
        f.write(b'"}\n{"prompt": "after", "completion": " it"}\n')
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    records = list(read_records(src))
    assert [(r.line, r.kind) for r in records] == [(1, "too_long"), (2, None)]
    assert records[0].error == "line 1 is longer than 32 MB; skipped"
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024 < 80


def test_invalid_utf8_in_csv_and_txt_names_the_row(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_bytes(b"prompt,completion\na ->, ok\nb \xff ->, bad\nc ->, fine\n")
    report = check_file(tmp_path / "bad.csv")
    assert checks(report)["read:encoding"].rows == [3] and report.stats.n_examples == 2
    (tmp_path / "bad.txt").write_bytes(b"one\ntw\xc3o\nthree\n")
    records = list(read_records(tmp_path / "bad.txt"))
    assert [(r.line, r.kind) for r in records] == [(1, None), (2, "encoding"), (3, None)]
    assert records[1].error == "line 2: invalid UTF-8 (byte 3)"
