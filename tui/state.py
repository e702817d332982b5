"""Small UI state remembered between runs (the chosen theme), kept in data_dir()/ui-state.json.

Never in the user's config.toml: gptbench does not rewrite a file the user edits. Written atomically; an
unreadable state file is ignored (it only holds preferences) and replaced on the next change.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gptbench.core.config import data_dir

FILENAME = "ui-state.json"


def state_path() -> Path:
    return data_dir() / FILENAME


def load_state() -> dict[str, Any]:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(**changes: Any) -> None:
    """Merge `changes` into the state file (temp file + os.replace)."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**load_state(), **changes}
    fd, tmp = tempfile.mkstemp(prefix=".ui-state-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
