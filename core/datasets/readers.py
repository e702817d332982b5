"""Streaming readers for every dataset format, with the legacy tool's rules for each.

Nothing here stops at a bad line: encoding problems, malformed JSON, wrong types, ragged CSV rows and lines
longer than the cap each become a `Record` with an `error`, and the scan goes on. Only a missing file, a folder
or an unsupported extension raise (`InputError`): there is nothing to scan then.

Lines are read with a byte cap (`MAX_LINE_BYTES`), so a 2 GB single-line file never sits in memory: the
oversized line is skipped in bounded chunks and reported ("line 1 is longer than 32 MB").
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from orjson import loads as fast_loads

from ..errors import InputError
from .records import Record

#: Extensions the readers understand (the legacy tool's six, plus Parquet).
SUPPORTED = (".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".txt", ".parquet")
#: Longest line read into memory; longer lines are skipped and reported.
MAX_LINE_BYTES = 32 * 1024 * 1024
#: Largest JSON array file parsed in one piece (an array cannot be streamed line by line).
MAX_JSON_ARRAY_BYTES = 1024 * 1024 * 1024
#: Formats whose bytes are binary by design (no NUL sniffing).
BINARY_FORMATS = (".xlsx", ".parquet")

_BOM = codecs.BOM_UTF8
_DRAIN_CHUNK = 4 * 1024 * 1024
_BUFFER = 1024 * 1024
_RAW_CUT = 200


def check_path(path: str | Path) -> Path:
    """The path as a readable dataset file, or an `InputError` naming what is wrong with it."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a dataset file")
    ext = p.suffix.lower()
    if ext not in SUPPORTED:
        raise InputError(
            f"{p}: unsupported file type {ext or '(no extension)'!r}; supported: {', '.join(SUPPORTED)}"
        )
    return p


def sniff_binary(path: Path) -> str | None:
    """Why a text dataset is really a binary file (a NUL byte early on), or None."""
    if path.suffix.lower() in BINARY_FORMATS:
        return None
    with path.open("rb") as f:
        head = f.read(8192)
    pos = head.find(b"\0")
    if pos >= 0:
        return (
            f"{path.name} looks like a binary file (NUL byte at offset {pos}), not {path.suffix.lower()} text"
        )
    return None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def cut(text: str) -> str:
    """A bad line shortened for a report."""
    return text if len(text) <= _RAW_CUT else text[:_RAW_CUT] + "…"


class RecordReader:
    """An iterator of `Record`s over one file; `notes` collects file-level remarks, `bytes_read` progress."""

    def __init__(self, path: str | Path, *, max_line_bytes: int | None = None) -> None:
        self.path = check_path(path)
        self.ext = self.path.suffix.lower()
        self.max_line_bytes = max_line_bytes or MAX_LINE_BYTES
        self.notes: list[str] = []
        self.bytes_read = 0
        self.total_bytes = self.path.stat().st_size
        self._it = self._records()

    def __iter__(self) -> RecordReader:
        return self

    def __next__(self) -> Record:
        return next(self._it)

    # -- line access ---------------------------------------------------------------------------------------

    def _byte_lines(self, f: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
        """(line number, bytes without the newline) — None for a line over the cap, which is skipped."""
        cap = self.max_line_bytes
        n = 0
        while True:
            line = f.readline(cap + 1)
            if not line:
                return
            n += 1
            self.bytes_read += len(line)
            if n == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if len(line) > cap and not line.endswith(b"\n"):
                self.bytes_read += skip_line(f)
                yield n, None
                continue
            yield n, line.rstrip(b"\r\n") if line.endswith(b"\n") else line

    def _too_long(self, n: int) -> Record:
        return Record(
            n, None, None, f"line {n} is longer than {_mb(self.max_line_bytes)}; skipped", "too_long"
        )

    # -- formats -------------------------------------------------------------------------------------------

    def _records(self) -> Iterator[Record]:
        if self.ext in (".jsonl", ".json"):
            yield from self._json()
        elif self.ext in (".csv", ".tsv"):
            yield from self._csv("\t" if self.ext == ".tsv" else ",")
        elif self.ext == ".txt":
            yield from self._txt()
        elif self.ext == ".xlsx":
            yield from self._xlsx()
        else:
            yield from self._parquet()

    def _json(self) -> Iterator[Record]:
        with self.path.open("rb", buffering=_BUFFER) as f:
            head = f.read(65536).lstrip(_BOM).lstrip()
        # .json: an array is read as an array. .jsonl: only a one-line file is re-read as plain JSON (legacy).
        if head.startswith(b"[") and (self.ext == ".json" or _single_line(self.path)):
            yield from self._json_array()
            return
        yield from self._jsonl()

    def _jsonl(self) -> Iterator[Record]:
        with self.path.open("rb", buffering=_BUFFER) as f:
            for n, line in self._byte_lines(f):
                if line is None:
                    yield self._too_long(n)
                    continue
                yield parse_json_line(n, line)

    def _json_array(self) -> Iterator[Record]:
        if self.total_bytes > MAX_JSON_ARRAY_BYTES:
            yield Record(
                1,
                None,
                None,
                f"a JSON array over {_mb(MAX_JSON_ARRAY_BYTES)} cannot be read in one piece; save it as JSONL",
                "too_long",
            )
            return
        blob = self.path.read_bytes()
        self.bytes_read = len(blob)
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = blob.count(b"\n", 0, exc.start) + 1
            column = exc.start - blob.rfind(b"\n", 0, exc.start)
            yield Record(
                1,
                None,
                None,
                f"line {line}: invalid UTF-8 (byte {column}); the JSON array cannot be read",
                "encoding",
            )
            return
        decoder = json.JSONDecoder()
        pos = text.index("[") + 1
        line, counted = 1, 0
        index = 0
        while True:
            pos = _skip_ws(text, pos)
            line += text.count("\n", counted, pos)
            counted = pos
            if pos >= len(text):
                yield Record(
                    index + 1, None, None, f"line {line}: the JSON array is not closed with ]", "json"
                )
                return
            if text[pos] == "]":
                rest = text[pos + 1 :].strip()
                if rest:
                    yield Record(index + 1, None, cut(rest), f"line {line}: text after the closing ]", "json")
                return
            index += 1
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                yield Record(
                    index,
                    None,
                    None,
                    f"element {index} (line {exc.lineno}): not valid JSON: {exc.msg}",
                    "json",
                )
                return
            if isinstance(value, dict):
                yield Record(index, value)
            else:
                yield Record(
                    index,
                    None,
                    cut(text[pos:end]),
                    f"element {index} (line {line}): expected a JSON object, got {_type_name(value)}",
                    "type",
                )
            pos = _skip_ws(text, end)
            if pos < len(text) and text[pos] == ",":
                pos += 1
            elif pos < len(text) and text[pos] != "]":
                yield Record(
                    index + 1, None, None, f"element {index} (line {line}): expected , or ] after it", "json"
                )
                return

    def _csv(self, delimiter: str) -> Iterator[Record]:
        bad_lines: dict[int, Record] = {}

        def text_lines(f: BinaryIO) -> Iterator[str]:
            for n, line in self._byte_lines(f):
                if line is None:
                    bad_lines[n] = self._too_long(n)
                    yield "\n"
                else:
                    yield line.decode("utf-8", "surrogateescape") + "\n"

        with self.path.open("rb", buffering=_BUFFER) as f:
            reader = csv.reader(text_lines(f), delimiter=delimiter)
            header: list[str] | None = None
            start = 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield Record(start, None, None, f"row {start}: {exc}", "json")
                    start = reader.line_num + 1
                    continue
                row_line, start = start, reader.line_num + 1
                if row_line in bad_lines:
                    yield bad_lines.pop(row_line)
                    continue
                if not row:
                    continue  # blank line
                try:
                    "".join(row).encode("utf-8")
                except UnicodeEncodeError:
                    yield Record(row_line, None, None, f"row {row_line}: invalid UTF-8", "encoding")
                    continue
                if header is None:
                    header = [h.strip() for h in row]
                    continue
                if len(row) != len(header):
                    yield Record(
                        row_line,
                        None,
                        cut(delimiter.join(row)),
                        f"row {row_line} has {len(row)} fields, the header has {len(header)}",
                        "ragged",
                    )
                    continue
                yield Record(row_line, dict(zip(header, row, strict=True)))
        yield from bad_lines.values()  # an oversized last line

    def _txt(self) -> Iterator[Record]:
        with self.path.open("rb", buffering=_BUFFER) as f:
            for n, line in self._byte_lines(f):
                if line is None:
                    yield self._too_long(n)
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield Record(n, None, None, f"line {n}: invalid UTF-8 (byte {exc.start + 1})", "encoding")
                    continue
                yield Record(n, {"prompt": "", "completion": text})

    def _xlsx(self) -> Iterator[Record]:
        import openpyxl  # lazy: only xlsx needs it

        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged or non-xlsx file
            yield Record(1, None, None, f"cannot open as an Excel workbook: {exc}", "json")
            return
        try:
            if len(book.worksheets) > 1:
                self.notes.append(
                    f"the workbook has {len(book.worksheets)} sheets; only the first "
                    f"({book.worksheets[0].title!r}) is read"
                )
            header: list[str] | None = None
            for n, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
                cells = ["" if v is None else str(v) for v in row]
                while cells and cells[-1] == "" and (header is None or len(cells) > len(header)):
                    cells.pop()
                if header is None:
                    if cells:
                        header = [c.strip() for c in cells]
                    continue
                if not any(cells):
                    continue
                cells += [""] * (len(header) - len(cells))
                if len(cells) > len(header):
                    yield Record(
                        n,
                        None,
                        None,
                        f"row {n} has {len(cells)} cells, the header has {len(header)}",
                        "ragged",
                    )
                    continue
                yield Record(n, dict(zip(header, cells, strict=True)))
        finally:
            book.close()
        self.bytes_read = self.total_bytes

    def _parquet(self) -> Iterator[Record]:
        import pyarrow.parquet as pq  # lazy: only parquet needs it

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a damaged file
            yield Record(1, None, None, f"cannot open as a Parquet file: {exc}", "json")
            return
        n = 0
        total = max(1, pf.metadata.num_rows)
        for batch in pf.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                n += 1
                yield Record(n, row)
            self.bytes_read = self.total_bytes * n // total


def skip_line(f: BinaryIO) -> int:
    """Move past the next newline (or to the end) in bounded reads; returns the bytes skipped."""
    skipped = 0
    while True:
        block = f.read(_DRAIN_CHUNK)
        if not block:
            return skipped
        i = block.find(b"\n")
        if i >= 0:
            f.seek(i + 1 - len(block), 1)
            return skipped + i + 1
        skipped += len(block)


def parse_json_line(n: int, line: bytes) -> Record:
    """One JSONL line (without its newline) as a record: an object, or the reason it is not one."""
    try:
        value = fast_loads(line)  # orjson: 2-3x faster; on any refusal json below gives the exact reason
        if type(value) is dict:
            return Record(n, value)
    except ValueError:
        pass
    if not line.strip():
        return Record(n, None, None, f"line {n} is blank", "blank")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(n, None, None, f"line {n}: invalid UTF-8 (byte {exc.start + 1})", "encoding")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Record(n, None, cut(text), f"line {n}: not valid JSON: {exc.msg} (column {exc.colno})", "json")
    if not isinstance(value, dict):
        return Record(
            n, None, cut(text), f"line {n}: expected a JSON object, got {_type_name(value)}", "type"
        )
    return Record(n, value)


def _type_name(value: object) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _single_line(path: Path) -> bool:
    """True when the file has no line break before its last byte (read in bounded chunks)."""
    with path.open("rb") as f:
        skip_line(f)
        return not f.read(1).strip()


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def read_records(path: str | Path, *, max_line_bytes: int | None = None) -> RecordReader:
    """Stream the records of a dataset file (format by extension), each with its source line/row number."""
    return RecordReader(path, max_line_bytes=max_line_bytes)
