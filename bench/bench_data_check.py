"""`gptbench data check` on a generated 1,000,000-row chat JSONL (≈300 MB) against a straightforward script.

The baseline, measured in the same run, is what one would write from the OpenAI cookbook: one process,
`json.loads` per line, `tiktoken` `encode` of every message value, the same checks (format-error categories,
missing system/user messages, exact duplicates, token distributions with numpy percentiles, over-limit count,
epochs and billed tokens). Both run as subprocesses; peak RSS is the sum over each process tree, sampled from
/proc every 50 ms, CPU time summed over each tree (the pool's workers included). Prints both times, the RATIO, peak RSS and
the machine's load.

    .venv/bin/python bench/bench_data_check.py [--rows 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

SYSTEM = [
    "You are a helpful assistant.",
    "You are a concise support agent for an online bookshop.",
    "You answer questions about cooking in plain language.",
    "You are a friendly tutor who explains maths step by step.",
    "You translate short English phrases into French.",
]
WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "you",
    "that",
    "he",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "hot",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "number",
    "sound",
    "no",
    "most",
    "people",
    "my",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "who",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
    "any",
    "new",
    "work",
    "part",
    "take",
    "get",
    "place",
    "made",
    "live",
    "where",
    "after",
    "back",
    "little",
    "only",
    "round",
    "man",
    "year",
    "came",
    "show",
    "every",
    "good",
    "me",
    "give",
    "our",
    "under",
    "name",
    "very",
    "through",
    "just",
    "form",
    "sentence",
    "great",
    "think",
    "say",
    "help",
    "low",
    "line",
    "differ",
    "turn",
    "cause",
    "much",
    "mean",
    "before",
    "move",
    "right",
    "boy",
    "old",
    "too",
    "same",
    "tell",
    "does",
    "set",
    "three",
    "want",
    "air",
    "well",
    "also",
    "play",
    "small",
    "end",
    "put",
    "home",
    "read",
    "hand",
    "port",
    "large",
    "spell",
    "add",
    "even",
    "land",
    "here",
    "must",
    "big",
    "high",
    "such",
    "follow",
    "act",
    "why",
    "ask",
    "men",
    "change",
    "went",
    "light",
    "kind",
    "off",
    "need",
    "house",
    "picture",
    "try",
    "us",
    "again",
    "animal",
    "point",
    "mother",
    "world",
    "near",
    "build",
    "self",
    "earth",
    "father",
    "head",
    "stand",
]


def sentences(rng: random.Random, n: int, lo: int, hi: int) -> list[str]:
    out = []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(lo, hi))
        out.append(" ".join(words).capitalize() + rng.choice([".", "?", "!"]))
    return out


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Fast: sentence pools built once, rows are f-strings of random picks (mostly distinct)."""
    rng = random.Random(seed)
    questions = sentences(rng, 20_000, 2, 6)
    answers = sentences(rng, 20_000, 5, 12)
    pick = rng.randrange
    with path.open("w", encoding="utf-8") as f:
        buf = []
        for i in range(rows):
            system = SYSTEM[i % len(SYSTEM)]
            user = questions[pick(20_000)] + " " + questions[pick(20_000)]  # 400M combinations: distinct
            answer = answers[pick(20_000)] + " " + answers[pick(20_000)]
            if i % 10_000 == 9_999:  # a few broken examples, so the checks have something to find
                buf.append(f'{{"messages": [{{"role": "user", "content": "{user}"}}]}}\n')
                continue
            buf.append(
                f'{{"messages": [{{"role": "system", "content": "{system}"}}, {{"role": "user", "content": '
                f'"{user}"}}, {{"role": "assistant", "content": "{answer}"}}]}}\n'
            )
            if len(buf) >= 10_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


BASELINE = r"""
import json, sys
import numpy as np
from gptbench.core.tokens import get_encoding

enc = get_encoding("cl100k_base")
LIMIT = 16385
errors = {}
n_missing_system = n_missing_user = 0
n_messages, totals, assistants = [], [], []
seen = set()
dups = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        ex = json.loads(line)
        if not isinstance(ex, dict):
            errors["data_type"] = errors.get("data_type", 0) + 1
            continue
        messages = ex.get("messages")
        if not messages:
            errors["missing_messages_list"] = errors.get("missing_messages_list", 0) + 1
            continue
        bad = False
        for m in messages:
            if "role" not in m or "content" not in m:
                errors["message_missing_key"] = errors.get("message_missing_key", 0) + 1; bad = True
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in m):
                errors["message_unrecognized_key"] = errors.get("message_unrecognized_key", 0) + 1; bad = True
            if m.get("role") not in ("system", "user", "assistant", "function"):
                errors["unrecognized_role"] = errors.get("unrecognized_role", 0) + 1; bad = True
            content = m.get("content")
            if (not content and not m.get("function_call")) or not isinstance(content, str):
                errors["missing_content"] = errors.get("missing_content", 0) + 1; bad = True
        if not any(m.get("role") == "assistant" for m in messages):
            errors["example_missing_assistant_message"] = errors.get("example_missing_assistant_message", 0) + 1
            bad = True
        if bad:
            continue
        if not any(m["role"] == "system" for m in messages):
            n_missing_system += 1
        if not any(m["role"] == "user" for m in messages):
            n_missing_user += 1
        key = hash(line.strip())
        dups += key in seen
        seen.add(key)
        total = 3
        assistant = 0
        for m in messages:
            total += 3
            for k, v in m.items():
                total += len(enc.encode(v))
                if k == "name":
                    total += 1
            if m["role"] == "assistant":
                assistant += len(enc.encode(m["content"]))
        n_messages.append(len(messages)); totals.append(total); assistants.append(assistant)
for name, values in (("messages", n_messages), ("tokens", totals), ("assistant", assistants)):
    a = np.asarray(values)
    print(name, a.min(), a.max(), a.mean(), np.median(a), np.quantile(a, 0.1), np.quantile(a, 0.9))
t = np.asarray(totals)
n = len(t)
epochs = 3
if n * 3 < 100: epochs = min(25, 100 // n)
elif n * 3 > 25000: epochs = max(1, 25000 // n)
billed = int(np.minimum(t, LIMIT).sum())
print("errors", errors, "missing system", n_missing_system, "missing user", n_missing_user, "dups", dups)
print("over limit", int((t > LIMIT).sum()), "epochs", epochs, "billed", billed, "trained", epochs * billed)
"""


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_sample(root: int, cpu: dict[int, float]) -> int:
    """Sum of VmRSS (KB) over `root` and its descendants, from /proc; records each one's CPU seconds in `cpu`.

    Pool workers are children of the forkserver, not of the command, so wait4 alone would miss their CPU time.
    """
    parents: dict[int, list[int]] = {}
    stats: dict[int, list[bytes]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        stats[int(entry)] = fields
        parents.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += parents.get(pid, [])
        if pid in stats:
            cpu[pid] = (int(stats[pid][11]) + int(stats[pid][12])) / CLOCK_TICKS
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def run(cmd: list[str]) -> tuple[float, float, int, int, str]:
    """(wall seconds, CPU seconds of the whole process tree, peak tree RSS in KB, largest process RSS in KB,
    stdout)."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, text=True)
        peak = 0
        cpu: dict[int, float] = {}
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_sample(proc.pid, cpu))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
        out.seek(0)
        cpu[proc.pid] = usage.ru_utime + usage.ru_stime  # exact for the command itself (and what it reaped)
        return seconds, sum(cpu.values()), peak, usage.ru_maxrss, out.read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated file (bench/out/)")
    args = ap.parse_args()
    folder = ROOT / "bench" / "out" if args.keep else Path(tempfile.mkdtemp(prefix="bench-data-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"chat_{args.rows}.jsonl"
    t0 = time.perf_counter()
    if not path.exists():
        generate(path, args.rows)
    gen_s = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path} — {args.rows:,} rows, {size_mb:,.0f} MB (generated in {gen_s:.1f} s)")
    load_before = os.getloadavg()

    ours_s, ours_cpu, ours_kb, ours_max, ours_out = run(
        [str(BIN / "gptbench"), "data", "check", str(path), "--json"]
    )
    base_s, base_cpu, base_kb, base_max, base_out = run([sys.executable, "-c", BASELINE, str(path)])

    import json

    report = json.loads(ours_out)
    tokens = report["stats"]["distributions"]["tokens_per_example"]
    print(
        f"gptbench data check: {ours_s:6.2f} s wall, {ours_cpu:6.2f} s CPU; peak RSS {ours_kb / 1024:,.0f} MB "
        f"(process tree), largest process {ours_max / 1024:,.0f} MB"
    )
    print(
        f"baseline script:     {base_s:6.2f} s wall, {base_cpu:6.2f} s CPU; peak RSS {base_kb / 1024:,.0f} MB"
    )
    print(f"RATIO (baseline / gptbench, wall): {base_s / ours_s:.2f}x   (goal ≥ 3x; peak RSS goal ≤ 1024 MB)")
    print(f"CPU ratio (work per row, independent of load): {base_cpu / ours_cpu:.2f}x")
    print(
        f"gptbench: {report['n_records']:,} records, tokens/example min {tokens['min']} median {tokens['median']} "
        f"p90 {tokens['p90']} max {tokens['max']}; billed {report['stats']['billed_tokens']:,}; "
        f"{len(report['issues'])} issue groups"
    )
    print("baseline: " + " | ".join(base_out.strip().splitlines()[1:2] + base_out.strip().splitlines()[-1:]))
    print(
        f"machine: {os.cpu_count()} cores, load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    if not args.keep:
        path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
