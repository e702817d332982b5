"""Writing user files safely: atomically (temp file + os.replace) and never over an existing file by accident."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import InputError


def unique_path(path: Path) -> Path:
    """`path` if nothing is there, else the first free "name (1).ext", "name (2).ext", ... beside it."""
    if not path.exists():
        return path
    number = 1
    while True:
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
        if not candidate.exists():
            return candidate
        number += 1


def write_text_atomic(
    path: Path | str, text: str, *, overwrite: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write `text` so readers see the old file or the whole new one, never half; returns the path written.

    Without `overwrite`, an existing file is left alone and the text goes to a free "name (N).ext" instead
    (claimed with a hard link, which fails rather than replaces if another writer got there first).
    InputError naming the file if it cannot be written (no such folder possible, permissions, disk full).
    """
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{target}: cannot write here ({exc.strerror or exc})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, target)
            return target
        return _claim(tmp, target)
    except OSError as exc:
        raise InputError(f"{target}: cannot write the file ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _claim(tmp: Path, target: Path) -> Path:
    """Give the finished temp file a name nobody holds, without ever replacing a file."""
    while True:
        candidate = unique_path(target)
        try:
            os.link(tmp, candidate)
            return candidate
        except FileExistsError:
            continue  # somebody took that name in the meantime: try the next one
        except OSError:
            # Filesystems without hard links: the exists-check in unique_path is the best we can do.
            os.replace(tmp, candidate)
            return candidate
