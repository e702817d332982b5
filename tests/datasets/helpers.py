"""Small helpers for the dataset tests: write fixture files, read JSONL output, hash a file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checks(report) -> dict[str, object]:  # noqa: ANN001 - a Report
    """check name -> the Issue (last one wins; checks are unique per report except where noted)."""
    return {i.check: i for i in report.issues}


def fix_ids(report) -> list[str]:  # noqa: ANN001 - a Report
    return [f.id for f in report.fixes]


def pc_rows(n: int, **overrides: object) -> list[dict]:
    """n distinct, clean conditional-generation rows ("Item i ->" / " answer i\\n")."""
    rows = [{"prompt": f"Item {i} ->", "completion": f" answer number {i}.\n"} for i in range(n)]
    for row in rows:
        row.update(overrides)
    return rows
