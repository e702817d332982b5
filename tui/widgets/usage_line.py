"""The line under a conversation: live generation figures while a reply streams, the final ones after."""

from __future__ import annotations

import time

from textual.widgets import Static

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class UsageLine(Static):
    """Spinner, ↑prompt ↓completion tokens, tokens/s and elapsed while streaming; finish reason and TTFT after."""

    DEFAULT_CSS = """
    UsageLine { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._started = 0.0
        self._first = 0.0
        self._prompt: int | None = None
        self._completion = 0
        self._frame = 0
        self._timer = None

    def start(self) -> None:
        """A generation began: reset the counters and animate."""
        self._started = time.perf_counter()
        self._first = 0.0
        self._prompt = None
        self._completion = 0
        if self._timer is None:
            self._timer = self.set_interval(0.1, self._tick)
        self._tick()

    def set_prompt_tokens(self, count: int | None) -> None:
        self._prompt = count

    def add_tokens(self, count: int = 1) -> None:
        """Count streamed tokens (one Delta is one token for both backends)."""
        if not self._first:
            self._first = time.perf_counter()
        self._completion += count

    @property
    def live_text(self) -> str:
        now = time.perf_counter()
        elapsed = now - self._started
        decode = now - self._first if self._first else 0.0
        rate = (self._completion - 1) / decode if self._completion > 1 and decode > 0 else 0.0
        prompt = "?" if self._prompt is None else str(self._prompt)
        spin = SPINNER[self._frame % len(SPINNER)]
        return f"{spin} ↑{prompt} ↓{self._completion}  {rate:.1f} tok/s  {elapsed:.1f}s"

    def _tick(self) -> None:
        self._frame += 1
        self.update(self.live_text)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def finish(self, summary: str) -> None:
        """The generation ended: show the final figures (see `summarize`)."""
        self._stop_timer()
        self.update(summary)

    def clear(self) -> None:
        self._stop_timer()
        self.update("")


def summarize(
    status: str,
    prompt_tokens: int | None,
    completion_tokens: int,
    tokens_per_second: float,
    ttft: float | None,
    elapsed: float,
    model: str = "",
) -> str:
    """The after-the-fact usage line: finish reason, tokens, speed, time to first token, total time."""
    prompt = "?" if prompt_tokens is None else str(prompt_tokens)
    parts = [status, f"↑{prompt} ↓{completion_tokens}", f"{tokens_per_second:.1f} tok/s"]
    if ttft is not None:
        parts.append(f"ttft {ttft:.2f}s")
    parts.append(f"{elapsed:.1f}s")
    if model:
        parts.append(model)
    return " · ".join(parts)
