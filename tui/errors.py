"""How a failure reads on screen: one line, never a traceback."""

from __future__ import annotations

from gptbench.core.errors import GptbenchError


def one_line(exc: BaseException) -> str:
    """Our errors are already one line naming what is wrong; others get their type name for context."""
    text = str(exc) if isinstance(exc, GptbenchError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__
