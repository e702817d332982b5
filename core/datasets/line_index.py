"""Random access to line N of a big text file without reading it all first.

The file is memory-mapped and the byte offset of every line start is recorded in steps (`step`), so a viewer
can show the first screen after indexing a few kilobytes while the rest is indexed in a worker thread (`build`).
A million-line, 300 MB file costs one 8-byte offset per line (8 MB) and about a quarter of a second of scanning.
Lines are numbered from 0 here; the trailing "\\n" (and a "\\r" before it) is not part of a line.
"""

from __future__ import annotations

import mmap
import os
import re
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError

#: Bytes scanned per step of `build`: big enough to amortise Python overhead, small enough to cancel quickly.
CHUNK = 4 << 20


class LineIndex:
    """Line-start offsets of a file, grown by `step`/`build`; safe to read from one thread while another builds."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as handle:
                self.size = os.fstat(handle.fileno()).st_size
                self._mm = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if self.size else None
        except IsADirectoryError:
            raise InputError(f"{self.path}: is a folder, not a file") from None
        except OSError as exc:
            raise InputError(f"{self.path}: {exc.strerror or exc}") from None
        # Start offset of every line found so far; the last one may still lack its end while indexing.
        self._starts = array("q", [0] if self.size else [])
        self._scanned = 0
        self._lock = threading.Lock()

    # -- building ------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once every byte has been scanned."""
        return self._scanned >= self.size

    @property
    def progress(self) -> float:
        """Fraction of the file scanned, 0.0–1.0 (1.0 for an empty file)."""
        return self._scanned / self.size if self.size else 1.0

    @property
    def scanned_bytes(self) -> int:
        return self._scanned

    def step(self, max_bytes: int = CHUNK) -> bool:
        """Scan up to `max_bytes` more bytes for line starts; return True when the whole file is indexed."""
        with self._lock:
            if self._mm is None:  # empty or closed: nothing (more) to scan
                self._scanned = self.size
            if self.done:
                return True
            start, end = self._scanned, min(self.size, self._scanned + max_bytes)
            found = array("q")
            find, append, last = self._mm.find, found.append, self.size
            pos = find(b"\n", start, end)
            while pos != -1:
                if pos + 1 < last:  # a newline at the very end does not start another line
                    append(pos + 1)
                pos = find(b"\n", pos + 1, end)
            self._starts.extend(found)  # one C-level copy: readers never see a half-built chunk
            self._scanned = end
            return self.done

    def build(
        self,
        cancel: threading.Event | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> bool:
        """Index the rest of the file (call from a worker thread); return False if `cancel` stopped it."""
        while not self.done:
            if cancel is not None and cancel.is_set():
                return False
            self.step()
            if progress is not None and not self.done:
                progress(self.progress)
        if progress is not None:
            progress(1.0)
        return True

    # -- reading -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Lines whose end is known: all of them once `done`, else all but the one being scanned."""
        count = len(self._starts)
        return count if self.done else max(0, count - 1)

    def span(self, number: int) -> tuple[int, int]:
        """Byte range [start, end) of line `number` (0-based), without its line ending."""
        if not 0 <= number < len(self):
            raise IndexError(f"line {number} is not indexed ({len(self)} lines so far)")
        assert self._mm is not None
        start = self._starts[number]
        if number + 1 < len(self._starts):
            end = self._starts[number + 1] - 1  # the "\n"
        else:
            end = self.size - 1 if self._mm[self.size - 1] == 0x0A else self.size
        if end > start and self._mm[end - 1] == 0x0D:
            end -= 1
        return start, end

    def line(self, number: int, limit: int | None = None) -> bytes:
        """The bytes of line `number` (0-based), at most `limit` of them when given."""
        start, end = self.span(number)
        assert self._mm is not None
        if limit is not None:
            end = min(end, start + limit)
        return self._mm[start:end]

    def line_length(self, number: int) -> int:
        """Length in bytes of line `number`, without its line ending."""
        start, end = self.span(number)
        return end - start

    def line_at(self, offset: int) -> int:
        """The 0-based number of the line holding byte `offset` (which must be in the indexed part)."""
        return bisect_right(self._starts, offset) - 1

    def find_lines(
        self, needle: bytes, *, ignore_case: bool = True, cancel: threading.Event | None = None
    ) -> list[int]:
        """Numbers of the indexed lines containing `needle`, found by one regex scan of the mapping (fast in C)."""
        if self._mm is None or not needle:
            return []
        pattern = re.compile(re.escape(needle), re.IGNORECASE if ignore_case else 0)
        found: list[int] = []
        count, pos = len(self), 0
        limit = self._starts[count] if count < len(self._starts) else self.size
        while (match := pattern.search(self._mm, pos, limit)) is not None:
            if cancel is not None and cancel.is_set():
                break
            number = self.line_at(match.start())
            found.append(number)
            if number + 1 >= count:
                break
            pos = self._starts[number + 1]  # one hit per line is enough
        return found

    def close(self) -> None:
        """Release the mapping; `line` must not be called afterwards."""
        with self._lock:
            if self._mm is not None:
                self._mm.close()
                self._mm = None

    def __enter__(self) -> LineIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
