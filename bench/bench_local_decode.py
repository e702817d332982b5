"""Local decode speed: gptbench's LocalBackend against transformers.pipeline("text-generation").

Same model (the default SmolLM2-135M-Instruct, converted folder), same chat prompt, greedy, exactly 128 new
tokens on both sides (EOS ignored: `ignore_eos` here, `min_new_tokens` for the pipeline). The baseline is the
pipeline as a seed script would use it (default dtype); a second pipeline run in bfloat16 shows how much of the
gain is the dtype, and our own loop on transformers' model class (`engine="transformers"`) how much is the lean
decoder. Runs are interleaved so a change in machine load hits all alike.
Time to first token: from the call to the first generated token (the pipeline's via a streamer).

Two OpenMP wait policies are measured, each in its own process (libgomp reads it at torch import): libgomp's own
spin-then-sleep default, which gptbench and a plain pipeline script run with, and OMP_WAIT_POLICY=PASSIVE, which
the README recommends when two torch processes share the cores (e.g. a local fine-tune while chatting).

    .venv/bin/python bench/bench_local_decode.py [repetitions]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time

from gptbench.core.backends.base import collect
from gptbench.core.backends.local import LocalBackend
from gptbench.core.chat import Message
from gptbench.core.models import resolve_model
from gptbench.core.params import GenerationParams

NEW_TOKENS = 128
QUESTION = "Write a detailed story about a lighthouse keeper who finds a message in a bottle."


def pipeline_once(pipe) -> tuple[float, float, int]:
    """(time to first token, tokens/s after the first, tokens) for one pipeline call."""
    from transformers.generation.streamers import BaseStreamer

    class Clock(BaseStreamer):
        def __init__(self) -> None:
            self.puts = 0
            self.tokens = 0
            self.first: float | None = None

        def put(self, value) -> None:
            self.puts += 1
            if self.puts == 1:  # generate() hands the prompt over first
                return
            self.first = self.first or time.perf_counter()
            self.tokens += value.numel()

        def end(self) -> None:
            pass

    clock = Clock()
    start = time.perf_counter()
    pipe(
        [{"role": "user", "content": QUESTION}],
        max_new_tokens=NEW_TOKENS,
        min_new_tokens=NEW_TOKENS,
        do_sample=False,
        streamer=clock,
    )
    end = time.perf_counter()
    assert clock.first is not None
    return clock.first - start, (clock.tokens - 1) / (end - clock.first), clock.tokens


async def ours_once(backend: LocalBackend) -> tuple[float, float, int]:
    params = GenerationParams(do_sample=False, max_tokens=NEW_TOKENS)
    reply = await collect(backend.stream_chat([Message("user", QUESTION)], params))
    finish = reply.finish
    assert finish is not None
    return finish.time_to_first_token, finish.tokens_per_second, finish.usage.completion_tokens


async def main(reps: int) -> None:
    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    policy = os.environ.get("OMP_WAIT_POLICY", "default")
    print(f"load before: {os.getloadavg()}  torch threads: {torch.get_num_threads()}  OpenMP wait: {policy}")
    folder = resolve_model("smollm2", progress=print)
    backend = LocalBackend("smollm2", ignore_eos=True)
    await backend.load()
    via_transformers = LocalBackend("smollm2", engine="transformers", ignore_eos=True)
    await via_transformers.load()
    pipes = {
        "pipeline (default dtype)": pipeline("text-generation", model=str(folder)),
        "pipeline (bfloat16)": pipeline("text-generation", model=str(folder), dtype=torch.bfloat16),
    }
    print(
        f"gptbench: {backend.device} {backend.dtype} {backend.engine} engine; pipeline default dtype: {pipes['pipeline (default dtype)'].model.dtype}"
    )
    # Warm up every path once (first-call allocations, lazy imports).
    await ours_once(backend)
    await ours_once(via_transformers)
    for pipe in pipes.values():
        pipeline_once(pipe)

    ours_name, slow_name = "gptbench LocalBackend", "gptbench, transformers engine"
    results: dict[str, list[tuple[float, float, int]]] = {ours_name: [], slow_name: []}
    results.update({name: [] for name in pipes})
    for rep in range(reps):
        results[ours_name].append(await ours_once(backend))
        results[slow_name].append(await ours_once(via_transformers))
        for name, pipe in pipes.items():
            results[name].append(pipeline_once(pipe))
        print(f"  rep {rep + 1}/{reps} done, load {os.getloadavg()[0]:.2f}")

    print(f"\n{NEW_TOKENS} new tokens, greedy, {reps} repetitions (median):")
    medians = {}
    for name, runs in results.items():
        assert all(tokens == NEW_TOKENS for _, _, tokens in runs), (name, runs)
        ttft = statistics.median(r[0] for r in runs)
        tps = statistics.median(r[1] for r in runs)
        medians[name] = (ttft, tps)
        spread = ", ".join(f"{r[1]:.1f}" for r in runs)
        print(f"  {name:30s} {tps:6.1f} tokens/s  (runs: {spread})   first token {ttft * 1000:6.0f} ms")
    ours_ttft, ours_tps = medians[ours_name]
    for name in [*pipes, slow_name]:
        ttft, tps = medians[name]
        print(
            f"RATIO tokens/s gptbench / {name}: {ours_tps / tps:.2f}x   "
            f"first token: {ours_ttft * 1000:.0f} ms vs {ttft * 1000:.0f} ms ({ttft / ours_ttft:.2f}x sooner)"
        )
    print(
        "goal: >= 1.3x tokens/s and a first token no later than the pipeline's (default dtype, default policy)"
    )
    print(f"load after: {os.getloadavg()}")
    await backend.aclose()
    await via_transformers.aclose()


POLICIES = {
    "libgomp's default wait policy (as gptbench runs)": {},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
}

if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if os.environ.get("BENCH_CHILD"):
        asyncio.run(main(reps))
    else:
        clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        for name, extra in POLICIES.items():
            print(f"\n=== {name}", flush=True)
            env = {**clean, **extra, "BENCH_CHILD": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
            subprocess.run([sys.executable, __file__, str(reps)], env=env, check=True)
