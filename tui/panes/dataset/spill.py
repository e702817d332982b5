"""Rows of a non-JSONL file (CSV, TSV, XLSX, Parquet, TXT, JSON array) kept on disk, not in memory.

While the engine's `read_records` streams a file in a worker, `SpilledRows.fill` writes each record as one JSON line
into a scratch file under the cache dir (`cache_dir()/dataset-spill/`, never next to the user's file) and keeps
three compact arrays: where each spill line starts, the record's source row number, and whether it is a bad row
(whose spill line is then `[error, raw, kind]`). Only the rows on screen are read back and parsed, so a
million-row CSV or Parquet costs ~17 bytes a row of memory instead of a Python dict per row. The spill file is
deleted when the pane closes the file or the app exits (a crashed process's leftovers go at the next spill).
Checks, fixes and splits still read the source file through core; the spill only feeds the table, detail and search.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import tempfile
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from pathlib import Path

from gptbench.core.datasets.records import Record
from gptbench.core.errors import GptbenchError

from .rows import DETAIL_PARSE_LIMIT, PREVIEW_PARSE_LIMIT, _Rows

#: New rows reach the table at least this often while a file is read (seconds), and in batches at most this big.
FLUSH_SECONDS = 0.03
FLUSH_ROWS = 4096
#: The first batch is made visible as soon as it fills a tall screen, so the first rows do not wait for a flush.
FIRST_ROWS = 100

# One encoder for every record (json.dumps with options builds a new one per call). default=str: Parquet cells can
# be dates, decimals or bytes; the table shows their text either way.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_live: set[Path] = set()  # spill files of this process, removed at exit if the pane could not
_swept = False


class SpillError(GptbenchError):
    """The spill file could not be written (a full disk, a cache dir gone read-only)."""


def spill_dir() -> Path:
    from gptbench.core.config import cache_dir

    return cache_dir() / "dataset-spill"


def _sweep(folder: Path) -> None:
    """Remove spill files left by gptbench processes that no longer run (a crash, a kill -9)."""
    for path in folder.glob("*.jsonl"):
        pid = path.name.split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except OSError:  # alive, another user's: leave it
            pass


@atexit.register
def _remove_live() -> None:
    for path in list(_live):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    _live.clear()


def _encode(record: Record) -> tuple[bytes, int]:
    """A record's spill line (without "\\n") and its bad-row flag."""
    if record.error is None and record.data is not None:
        value: object = record.data
        bad = 0
    else:
        value = [record.error or "unreadable", record.raw, record.kind]
        bad = 1
    return _ENCODER.encode(value).encode("utf-8", "surrogatepass"), bad


class SpilledRows(_Rows):
    """A growing file's records in a spill file; row number = the record's source line/row."""

    def __init__(self, name: str = "rows") -> None:
        super().__init__()
        global _swept
        folder = spill_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not _swept:
            _swept = True
            _sweep(folder)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60]
        fd, path = tempfile.mkstemp(prefix=f"{os.getpid()}-", suffix=f"-{safe}.jsonl", dir=folder)
        self.spill_path = Path(path)
        _live.add(self.spill_path)
        self._writer = os.fdopen(fd, "wb")
        self._fd: int | None = os.open(path, os.O_RDONLY)
        # _bounds[i] is where spill line i starts, _bounds[i + 1] - 1 where it ends ("\n").
        self._bounds = array("q", [0])
        self._lines = array("q")
        self._bad = array("b")
        self._sorted = True

    # -- writing (one worker thread) ----------------------------------------------------------------------
    def fill(
        self,
        records: Iterable[Record],
        cancel: threading.Event,
        on_first_rows: Callable[[], object] | None = None,
    ) -> bool:
        """Spill `records`, making them visible in batches; False if `cancel` stopped it or the file was closed.

        `on_first_rows` is called (in this thread) once the first rows are visible, e.g. to draw them at once.
        """
        chunk: list[bytes] = []
        bounds, lines, bad = array("q"), array("q"), array("b")
        end = self._bounds[-1]
        last_line = self._lines[-1] if self._lines else 0
        flushed = time.monotonic()
        try:
            for record in records:
                if cancel.is_set() or self._fd is None:
                    return False
                if not bounds and not self._lines:  # the clock starts at the first record, not at the open
                    flushed = time.monotonic()
                data, flag = _encode(record)
                chunk.append(data)
                end += len(data) + 1
                bounds.append(end)
                lines.append(record.line)
                bad.append(flag)
                if record.line < last_line:
                    self._sorted = False
                last_line = record.line
                if (
                    len(chunk) >= FLUSH_ROWS
                    or time.monotonic() - flushed >= FLUSH_SECONDS
                    or (on_first_rows is not None and len(chunk) >= FIRST_ROWS)
                ):
                    self._publish(chunk, bounds, lines, bad)
                    if on_first_rows is not None:
                        on_first_rows()
                        on_first_rows = None
                    chunk, bounds, lines, bad = [], array("q"), array("q"), array("b")
                    flushed = time.monotonic()
            if cancel.is_set() or self._fd is None:
                return False
            self._publish(chunk, bounds, lines, bad)
            return True
        finally:
            self._writer.close()

    def _publish(self, chunk: list[bytes], bounds: array, lines: array, bad: array) -> None:
        """Write a batch to disk, then let readers see it (line numbers last: they make `len` grow)."""
        if not chunk:
            return
        try:
            self._writer.write(b"\n".join(chunk) + b"\n")
            self._writer.flush()
        except OSError as exc:
            folder = self.spill_path.parent
            raise SpillError(
                f"cannot write the scratch copy of its rows in {folder}: {exc.strerror or exc}"
            ) from None
        self._bounds.extend(bounds)
        self._bad.extend(bad)
        self._lines.extend(lines)

    # -- reading ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._lines)

    def row_number(self, position: int) -> int:
        return self._lines[position]

    def position_of(self, row: int) -> int | None:
        lines = self._lines
        position = bisect_left(lines, row) if self._sorted else -1
        if 0 <= position < len(lines) and lines[position] == row:
            return position
        if not self._sorted:  # a reader gave a row out of order (an oversized last CSV line): look it up
            with contextlib.suppress(ValueError):
                return lines.index(row)
        return None

    def is_bad(self, position: int) -> bool:
        return bool(self._bad[position])

    def raw_line(self, position: int, limit: int | None = None, *, fd: int | None = None) -> bytes:
        """The spill line of `position`, at most `limit` bytes of it (read through `fd` if given)."""
        start, end = self._bounds[position], self._bounds[position + 1] - 1
        if limit is not None:
            end = min(end, start + limit)
        fd = self._fd if fd is None else fd
        if fd is None:
            raise OSError("the spill file is closed")
        return os.pread(fd, end - start, start)

    def record(self, position: int, *, full: bool = False, fd: int | None = None) -> Record:
        """The record at `position`, parsed from its spill line (a worker passes its own `fd`)."""
        number = self._lines[position]
        length = self._bounds[position + 1] - 1 - self._bounds[position]
        try:
            if length > (DETAIL_PARSE_LIMIT if full else PREVIEW_PARSE_LIMIT):
                head = self.raw_line(position, 200, fd=fd).decode("utf-8", "replace")
                return Record(
                    number,
                    None,
                    head,
                    f"row {number} is {length / 2**20:.1f} MB: too long to show",
                    "too_long",
                )
            value = json.loads(self.raw_line(position, fd=fd).decode("utf-8", "surrogatepass"))
        except (OSError, ValueError) as exc:  # closed meanwhile, or a damaged spill file
            return Record(number, None, None, f"row {number}: cannot read it back ({exc})", None)
        if self._bad[position]:
            error, raw, kind = value
            return Record(number, None, raw, error, kind)
        return Record(number, value)

    # -- searching ----------------------------------------------------------------------------------------
    def search(self, needle: str, cancel: threading.Event | None = None) -> list[int]:
        """Positions whose record contains `needle` (case-insensitive): its JSON text, or a bad row's raw text."""
        from gptbench.core.datasets.line_index import LineIndex

        count = len(self)
        folded = needle.casefold()
        found: list[int] = []
        try:
            if needle.isascii():  # one regex scan of the spill file, in C
                with LineIndex(self.spill_path) as index:
                    index.build(cancel)
                    hits = index.find_lines(needle.encode("ascii"), cancel=cancel)
                found = [p for p in hits if p < count and not self._bad[p]]
            else:
                with self.spill_path.open("rb") as f:
                    for position, line in enumerate(f):
                        if position >= count or (cancel is not None and cancel.is_set()):
                            break
                        if not self._bad[position] and folded in line.decode("utf-8", "replace").casefold():
                            found.append(position)
            # Bad rows match on their raw text, as a user saw it, not on the JSON the spill holds.
            flags = self._bad[:count].tobytes()
            position = flags.find(1)
            bad_hits = []
            with self.spill_path.open("rb") as f:  # its own descriptor: the pane may close the rows meanwhile
                while position != -1:
                    if cancel is not None and cancel.is_set():
                        break
                    raw = self.record(position, fd=f.fileno()).raw or ""
                    if folded in raw.casefold():
                        bad_hits.append(position)
                    position = flags.find(1, position + 1)
        except (OSError, GptbenchError):
            return []  # the file was closed (another file opened) while searching
        return sorted(found + bad_hits) if bad_hits else found

    # -- closing ------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Forget the rows and delete the spill file (a writer still running stops at its next record)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self.spill_path.unlink(missing_ok=True)
        _live.discard(self.spill_path)
