"""Output files: the legacy naming (`NAME_prepared.jsonl`, ` (1)` when taken) and atomic, never-overwriting writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path


def output_names(
    source: Path, suffixes: Sequence[str], out_dir: Path | None = None, tag: str = "_prepared"
) -> list[Path]:
    """The first free set of names: NAME_prepared{suffix}.jsonl, then NAME_prepared{suffix} (1).jsonl, ...

    One index for the whole set (train and valid stay paired), as the legacy tool does.
    """
    folder = out_dir or source.parent
    i = 0
    while True:
        index = f" ({i})" if i else ""
        names = [folder / f"{source.stem}{tag}{suffix}{index}.jsonl" for suffix in suffixes]
        if not any(n.exists() for n in names):
            return names
        i += 1


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    """Write rows to a new file atomically (temp file + link); never replaces an existing file.

    When `path` appeared meanwhile, the next free ` (n)` name is used; the path written is returned.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gptbench-", suffix=".jsonl.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False))
                f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        target = path
        n = 0
        while True:
            try:
                os.link(tmp, target)  # atomic, and fails instead of overwriting
                return target
            except FileExistsError:
                n += 1
                target = path.with_name(f"{path.stem} ({n}){path.suffix}")
            except OSError:  # a file system without hard links: check, then rename
                if target.exists():
                    n += 1
                    target = path.with_name(f"{path.stem} ({n}){path.suffix}")
                    continue
                os.replace(tmp, target)
                return target
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
