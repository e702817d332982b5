"""Warm model load: the default model from its converted safetensors cache, against loading the GGUF directly.

Each measurement is a fresh process (nothing cached in memory). "load" is `LocalBackend.load()` after torch and
transformers are imported (the goal: ≤ 2 s); the import time is printed beside it because a cold `gptbench chat`
pays both. Baselines measured in the same run: transformers reading the wheel's GGUF (what the cache avoids) and
the same cache loaded through transformers' AutoModelForCausalLM (`engine="transformers"`, what lean_llama avoids).

    .venv/bin/python bench/bench_model_load.py [repetitions]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from gptbench.core.models import DEFAULT_GGUF, default_gguf, resolve_model

WARM = """
import asyncio, json, sys, time
t0 = time.perf_counter()
import torch, transformers
from gptbench.core.backends.local import LocalBackend
t1 = time.perf_counter()
backend = LocalBackend("smollm2", engine=sys.argv[1])
asyncio.run(backend.load(progress=lambda m: None))
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "dtype": backend.dtype, "engine": backend.engine}))
"""

GGUF = """
import json, sys, time
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging
logging.disable_progress_bar()
t1 = time.perf_counter()
AutoTokenizer.from_pretrained(sys.argv[1], gguf_file=sys.argv[2])
AutoModelForCausalLM.from_pretrained(sys.argv[1], gguf_file=sys.argv[2])
print(json.dumps({"load": time.perf_counter() - t1}))
"""


def measure(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(reps: int) -> None:
    print(f"load before: {os.getloadavg()}")
    resolve_model("smollm2", progress=print)  # make sure the cache is there (converts on a first run)
    warm, via_transformers = [], []
    for _ in range(reps):  # interleaved, so a change in machine load hits both alike
        warm.append(measure(WARM, "auto"))
        via_transformers.append(measure(WARM, "transformers"))
    gguf_path = default_gguf()
    cold = measure(GGUF, str(gguf_path.parent), DEFAULT_GGUF)["load"]
    load = statistics.median(w["load"] for w in warm)
    slow = statistics.median(w["load"] for w in via_transformers)
    imports = statistics.median(w["import"] for w in warm)
    runs = ", ".join(f"{w['load']:.2f}" for w in warm)
    print(
        f"warm load (converted cache, {warm[0]['engine']} engine, {warm[0]['dtype']}): {load:.2f} s median of {reps}"
        f" ({runs});  goal <= 2 s"
    )
    print(
        f"  + `import torch, transformers` before it: {imports:.2f} s  (process start to model ready: {imports + load:.2f} s)"
    )
    print(f"same cache through AutoModelForCausalLM (engine=transformers): {slow:.2f} s")
    print(f"GGUF load (no cache): {cold:.2f} s")
    print(f"RATIO transformers engine load / warm load: {slow / load:.1f}x")
    print(f"RATIO GGUF load / warm load: {cold / load:.1f}x")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
