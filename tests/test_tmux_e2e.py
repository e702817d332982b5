"""End to end in a real terminal: `gptbench` inside tmux at 100×30, driven with send-keys, read with capture-pane.

The real default model (SmolLM2-135M-Instruct) answers greedily; config, data and the model cache are the
test's own (the cache is the shared test cache, so the one-time model conversion is reused). One run: ask a
question, read the answer, quit with ctrl+q; start again, send a message and kill -9 the app while the reply
streams; restart and see the earlier messages. tmux is required: `make test` installs it; without it this test
fails, saying so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SHARED_CACHE

GPTBENCH = str(Path(sys.executable).with_name("gptbench"))
#: A finished reply's usage line: finish reason, then ↑prompt ↓completion tokens.
FINISHED = re.compile(r"(stop|length) · ↑\d+ ↓\d+")
#: A reply streaming right now: spinner, then ↑prompt ↓completion with at least one token.
STREAMING = re.compile(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] ↑[\d?]+ ↓[1-9]")
#: Loading (first run converts the model, ~40 s on 2 cores) plus a reply on a busy machine.
ANSWER_TIMEOUT = 300.0


class Tmux:
    """One private tmux server (its own -L socket) running gptbench in a 100×30 window."""

    def __init__(self, home: Path) -> None:
        self.socket = f"gptbench-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = {
            "GPTBENCH_CONFIG_DIR": str(home / "config"),
            "GPTBENCH_DATA_DIR": str(home / "data"),
            "GPTBENCH_CACHE_DIR": str(SHARED_CACHE),
            "HF_HUB_OFFLINE": "1",
        }

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def start(self) -> None:
        """Start gptbench as the window's only process (so its pid is the pane's)."""
        env_args = [arg for name, value in self.env.items() for arg in ("-e", f"{name}={value}")]
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", *env_args, f"exec {GPTBENCH}")
        self.wait_for(re.compile(r"Send"), 60, "the app's first frame")

    def screen(self) -> str:
        result = self.tmux("capture-pane", "-p", check=False)
        return result.stdout if result.returncode == 0 else ""

    def wait_for(self, pattern: re.Pattern[str], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if pattern.search(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what}; the screen was:\n{self.screen()}"
        )

    def type_line(self, text: str) -> None:
        """Type text and Enter in one send-keys: the app reads them in one burst, like type-ahead or a fast
        typist, and must still send the whole line (Enter must not overtake the characters)."""
        self.tmux("send-keys", text, "Enter")

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "#{pane_pid}").stdout.strip())

    def alive(self) -> bool:
        return self.tmux("has-session", check=False).returncode == 0

    def wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.alive():
            assert time.monotonic() < deadline, f"gptbench still running {timeout:.0f}s after quitting"
            time.sleep(0.2)

    def kill_server(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail(
            "tmux is not installed: this end-to-end test drives gptbench in tmux (`make test` installs it)"
        )
    config = tmp_path / "home" / "config"
    config.mkdir(parents=True)
    # Greedy and short, so the answer is known and a run takes seconds even on a busy machine.
    (config / "config.toml").write_text("[params]\nmax_tokens = 64\ndo_sample = false\n", encoding="utf-8")
    tmux = Tmux(tmp_path / "home")
    try:
        yield tmux
    finally:
        tmux.kill_server()


#: Scrollbar and border glyphs at the edges of the conversation column.
_EDGES = " ▁▂▃▄▅▆▇█▔▎▊▌▐▕▏│"


def conversation(screen: str) -> list[str]:
    """The conversation column's lines (right of the sessions sidebar), edges stripped, blanks dropped."""
    lines = [line.split("│", 1)[1] if "│" in line else line for line in screen.splitlines()]
    return [line.strip(_EDGES) for line in lines if line.strip(_EDGES)]


def said(lines: list[str], who: str, text: str) -> bool:
    """Whether `text` is shown as a message right under a `who` header ("You", "Assistant …")."""
    return any(a.startswith(who) and b == text for a, b in zip(lines, lines[1:], strict=False))


def test_ask_quit_then_kill_mid_reply_and_restart(terminal: Tmux) -> None:
    # 1. Ask, wait for the answer, read it off the terminal, quit with ctrl+q.
    terminal.start()
    terminal.type_line("What is the capital of France?")
    screen = terminal.wait_for(FINISHED, ANSWER_TIMEOUT, "the answer")
    lines = conversation(screen)
    assert said(lines, "You", "What is the capital of France?"), screen
    assert said(lines, "Assistant", "The capital of France is Paris."), screen
    terminal.tmux("send-keys", "C-q")
    terminal.wait_gone(60)

    # 2. Start again, send a message, kill -9 the app while the reply streams.
    terminal.start()
    terminal.type_line("Write a long poem about the sea.")
    terminal.wait_for(STREAMING, ANSWER_TIMEOUT, "the reply to start streaming")
    os.kill(terminal.pane_pid(), 9)
    terminal.wait_gone(10)

    # 3. Restart: the earlier messages are all there; the reply in flight is kept as saved, marked interrupted.
    terminal.start()
    screen = terminal.wait_for(re.compile(r"Write a long poem about the sea\."), 30, "the restored session")
    lines = conversation(screen)
    # The first question's "You" header may be scrolled off the top: its text is a line of its own.
    assert "What is the capital of France?" in lines, screen
    assert said(lines, "Assistant", "The capital of France is Paris."), screen
    assert said(lines, "You", "Write a long poem about the sea."), screen
    assert any(line.startswith("Assistant") and "stopped" in line for line in lines), screen
    terminal.tmux("send-keys", "C-q")
    terminal.wait_gone(60)  # quitting may wait for the model load the restart began
