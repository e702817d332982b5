"""`gptbench --version` wall time against `python -c pass`, both measured in this run (goal: ≤ +0.15 s).

Run: .venv/bin/python bench/bench_cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd: list[str], runs: int) -> float:
    """Median wall time of `runs` executions (after one warm-up)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    script = shutil.which("gptbench", path=str(Path(sys.executable).parent)) or "gptbench"
    load = os.getloadavg()
    baseline = wall([sys.executable, "-c", "pass"], args.runs)
    ours = wall([script, "--version"], args.runs)
    print(f"load average        : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"python -c pass      : {baseline * 1000:.1f} ms (median of {args.runs})")
    print(f"gptbench --version  : {ours * 1000:.1f} ms (median of {args.runs})")
    print(f"difference          : +{(ours - baseline) * 1000:.1f} ms (goal ≤ +150 ms)")
    print(f"ratio               : {ours / baseline:.2f}×")


if __name__ == "__main__":
    main()
