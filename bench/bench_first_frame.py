"""First frame: time from process start to the app's on_ready, against a bare Textual app with one Static.

The app's first frame is the shell (status line, tabs, footer); the Chat pane is mounted right after it, and its
session is loaded from SQLite after that, so the time until the chat session is shown is printed too.
Both run in a real pseudo-terminal (100x30) as fresh processes, the same way, alternating, several times; each
writes time.time() at its first on_ready into a file and exits. Goal: gptbench / baseline <= 1.25.

    .venv/bin/python bench/bench_first_frame.py
"""

from __future__ import annotations

import fcntl
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

RUNS = 7
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

BASELINE = """
import os, sys, time
from pathlib import Path
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("hello")

    def on_ready(self):
        Path(os.environ["GPTBENCH_BENCH_READY"]).write_text(repr(time.time()))
        self.exit()

Minimal().run()
"""


def run_in_pty(argv: list[str], env: dict[str, str]) -> list[float]:
    """Start `argv` in a 100x30 pty; seconds from just before the spawn to each time it wrote (on_ready, ...)."""
    ready = Path(env["GPTBENCH_BENCH_READY"])
    ready.unlink(missing_ok=True)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    drain = threading.Thread(target=_drain, args=(master,), daemon=True)
    drain.start()
    start = time.time()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    proc.wait(timeout=60)
    drain.join(timeout=5)
    os.close(master)
    if not ready.exists():
        raise SystemExit(f"{argv[0]} exited ({proc.returncode}) without reaching on_ready")
    return [float(t) - start for t in ready.read_text().split()]


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "GPTBENCH_BENCH_READY": str(Path(tmp) / "ready"),
            "GPTBENCH_DATA_DIR": str(Path(tmp) / "data"),
            "GPTBENCH_CONFIG_DIR": str(Path(tmp) / "config"),
        }
        app_argv = [str(BIN / "gptbench")]
        base_argv = [sys.executable, "-c", BASELINE]
        # One warm-up each so both start from a warm page cache.
        run_in_pty(app_argv, env)
        run_in_pty(base_argv, env)
        apps, chats, bases = [], [], []
        for _ in range(RUNS):
            first, chat = run_in_pty(app_argv, env)
            apps.append(first)
            chats.append(chat)
            bases.append(run_in_pty(base_argv, env)[0])
    base = statistics.median(bases)
    for label, runs in (
        ("gptbench first frame (on_ready)", apps),
        ("gptbench chat session shown", chats),
        ("bare Textual app, one Static", bases),
    ):
        ms = ", ".join(f"{r * 1000:.0f}" for r in runs)
        print(f"{label:<34} median {statistics.median(runs) * 1000:5.0f} ms  (runs: {ms})")
    print(f"RATIO first frame / baseline = {statistics.median(apps) / base:.2f}  (goal <= 1.25)")
    print(
        f"RATIO chat shown / baseline  = {statistics.median(chats) / base:.2f}  (Chat pane mounted after the first frame)"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
