"""`gptbench tokens`: counts, JSONL per line, cost, and one clear message for each kind of bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gptbench.core.tokens import count_chat_tokens, get_tokenizer
from gptbench.tui.cli import main

TEXT = "The quick brown fox jumps over the lazy dog.\nÜber 世界 😀\n"


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["tokens", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_counts_and_cost(tmp_path: Path, capsys) -> None:
    f = tmp_path / "a.txt"
    f.write_text(TEXT, encoding="utf-8")
    code, out, _ = run(capsys, str(f), "--model", "gpt-4o-mini", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["tokens"] == get_tokenizer("o200k_base").count(TEXT)
    assert (
        result["characters"] == len(TEXT) and result["bytes"] == len(TEXT.encode()) and result["lines"] == 2
    )
    assert result["cost_usd"] == pytest.approx(result["tokens"] * 0.15 / 1e6)
    assert result["price"]["as_of"] and result["context_window"] == 128_000
    code, out, _ = run(capsys, str(f), "--encoding", "r50k_base")
    assert code == 0
    assert f"  tokens{get_tokenizer('r50k_base').count(TEXT):>20,}" in out


def test_price_from_config_overrides_the_table(tmp_path: Path, capsys, isolated_dirs: Path) -> None:
    config = isolated_dirs / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[prices.gpt-4o]\ninput = 100.0\nas_of = "2030-01-01"\n', encoding="utf-8")
    f = tmp_path / "a.txt"
    f.write_text("hello world", encoding="utf-8")
    code, out, _ = run(capsys, str(f), "-m", "gpt-4o", "--json")
    result = json.loads(out)
    assert result["cost_usd"] == pytest.approx(2 * 100.0 / 1e6)
    assert result["price"] == {"input_per_1m": 100.0, "as_of": "2030-01-01", "source": "config"}


def test_big_text_streamed_in_chunks_counts_exactly(tmp_path: Path, capsys) -> None:
    from gptbench.core.tokens import files

    body = ("word " * 50 + "\n" + "x" * 40 + "\n\n  indented line\twith tab\n") * 20000  # ≈ 8 MB
    f = tmp_path / "big.txt"
    f.write_bytes(body.encode())
    code, out, _ = run(capsys, str(f), "-e", "cl100k_base", "--json")
    assert code == 0
    assert json.loads(out)["tokens"] == get_tokenizer("cl100k_base").count(body)
    assert len(body) // 4 > files.BLOCK  # really read in several blocks


def test_jsonl_per_line(tmp_path: Path, capsys) -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi", "name": "bo"},
        ]
    }
    pc = {"prompt": "Translate: cat ->", "completion": " chat"}
    f = tmp_path / "train.jsonl"
    f.write_text(json.dumps(chat) + "\n\n" + json.dumps(pc) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, str(f), "--model", "gpt-4o", "--json")
    assert code == 0
    result = json.loads(out)
    expected_chat = count_chat_tokens(chat["messages"], "gpt-4o")
    o200k = get_tokenizer("o200k_base")
    lines = {item["line"]: item for item in result["lines"]}
    assert lines[1]["tokens"] == expected_chat and lines[1]["kind"] == "chat"
    assert lines[2]["kind"] == "blank"
    assert lines[3]["fields"] == {
        "prompt": o200k.count(pc["prompt"]),
        "completion": o200k.count(pc["completion"]),
    }
    assert result["tokens"] == expected_chat + o200k.count(pc["prompt"]) + o200k.count(pc["completion"])
    assert result["records"] == 2
    code, out, _ = run(capsys, str(f), "--model", "gpt-4o")
    assert f"{'1':>8}  {expected_chat:>8}  chat" in out and "total" in out


def test_bad_jsonl_line_is_named(tmp_path: Path, capsys) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"prompt": "ok"}\n{"prompt": oops}\n', encoding="utf-8")
    code, _, err = run(capsys, str(f), "--json")
    assert code == 1 and f"{f}:2: invalid JSON" in err and "Traceback" not in err


def test_binary_file_is_refused(tmp_path: Path, capsys) -> None:
    f = tmp_path / "image.bin"
    f.write_bytes(b"GIF89a\x00\x01\x02")
    code, out, err = run(capsys, str(f))
    assert code == 1 and out == ""
    assert (
        err.strip()
        == f"gptbench: error: {f} looks binary (a NUL byte at offset 6); only text files are counted"
    )


def test_invalid_utf8_refused_or_replaced(tmp_path: Path, capsys) -> None:
    f = tmp_path / "latin1.txt"
    f.write_bytes("first line\ncafé au lait\n".encode("latin-1"))
    code, _, err = run(capsys, str(f))
    assert code == 1
    assert f"{f}:2: invalid UTF-8 at byte 14" in err and "--errors replace" in err
    code, out, err = run(capsys, str(f), "--errors", "replace", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["invalid_utf8"] == {"byte": 14, "line": 2}
    assert result["tokens"] == get_tokenizer("o200k_base").count("first line\ncaf\ufffd au lait\n")
    assert "counted as U+FFFD" in err


def test_unknown_model_and_missing_file(tmp_path: Path, capsys) -> None:
    f = tmp_path / "a.txt"
    f.write_text("hi", encoding="utf-8")
    code, _, err = run(capsys, str(f), "--model", "gpt-17-ultra")
    assert (
        code == 1 and err.startswith("gptbench: error: unknown model 'gpt-17-ultra'") and err.count("\n") == 1
    )
    code, _, err = run(capsys, str(tmp_path / "missing.txt"))
    assert code == 1 and "missing.txt: no such file" in err


def test_stdin_and_help_subprocess() -> None:
    exe = [sys.executable, "-m", "gptbench.tui.cli", "tokens"]
    done = subprocess.run(
        [*exe, "-", "-e", "cl100k_base", "--json"], input=b"hello world", capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tokens"] == 2
    shown = subprocess.run([*exe, "--help"], capture_output=True, text=True)
    assert "examples:" in shown.stdout and "gptbench tokens train.jsonl" in shown.stdout


class Generated(io.RawIOBase):
    """A read-only stream of `total` bytes repeating one line, produced as it is read (never held whole)."""

    def __init__(self, unit: bytes, total: int) -> None:
        self.unit, self.left, self.pos = unit, total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        if n <= 0:
            return 0
        reps = self.unit * (n // len(self.unit) + 2)
        buffer[:n] = reps[self.pos : self.pos + n]
        self.left -= n
        self.pos = (self.pos + n) % len(self.unit)
        return n


def test_a_big_stream_is_counted_in_bounded_memory() -> None:
    """The 1 GB case in small: 24 MB streamed with a traced peak under a third of that, counted exactly."""
    import tracemalloc

    from gptbench.core.tokens.files import count_stream

    unit = "The quick brown fox, café naïve, jumps over 12 lazy dogs.\n"
    tok = get_tokenizer("o200k_base")
    tok.count_batch(["warm up", "x" * 70_000])  # numpy's import is not the stream's memory
    reps = 24_000_000 // len(unit.encode())
    stream = io.BufferedReader(Generated(unit.encode(), reps * len(unit.encode())))
    tracemalloc.start()
    try:
        counts = count_stream(stream, "generated", tok)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counts.tokens == tok.count(unit) * reps
    assert counts.lines == reps and counts.characters == len(unit) * reps
    assert peak < 8_000_000, peak
