"""What `gptbench serve` costs: the default model answered in process against the same model answered by a
`gptbench serve` process through HTTP (uvicorn + SSE) and the official SDK (our OpenAIBackend), both in this run.

Greedy chat replies of --tokens new tokens, alternating direct and served runs; median tokens/s and time to first
token, and the ratio served/direct (goal: ≥ 0.95× tokens/s — HTTP should cost next to nothing per token).

Run: .venv/bin/python bench/bench_serve.py [--runs 3] [--tokens 64] [--model smollm2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gptbench.core.backends.base import Backend, Finish, collect
from gptbench.core.backends.local import LocalBackend
from gptbench.core.backends.openai import OpenAIBackend
from gptbench.core.chat import Message
from gptbench.core.params import GenerationParams

PROMPT = [Message("user", "Tell me a long story about a dragon who learns to bake bread.")]


async def one(backend: Backend, params: GenerationParams) -> Finish:
    reply = await collect(backend.stream_chat(PROMPT, params))
    assert reply.finish is not None
    return reply.finish


async def measure(args: argparse.Namespace) -> None:
    params = GenerationParams(max_tokens=args.tokens, do_sample=False)
    direct = LocalBackend(args.model)
    command = [str(Path(sys.executable).with_name("gptbench")), "serve", "--model", args.model, "--port", "0"]
    server = subprocess.Popen([*command, "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    url = (
        server.stdout.readline().strip().removeprefix("OPENAI_BASE_URL=")
    )  # printed once the model is loaded
    client = OpenAIBackend(args.model, base_url=url, max_retries=0, timeout=600)
    await one(direct, params)  # load and warm up in process (the server warmed up on start)
    results: dict[str, list[Finish]] = {"direct": [], "served": []}
    for _ in range(args.runs):
        results["direct"].append(await one(direct, params))
        results["served"].append(await one(client, params))
    await client.aclose()
    server.terminate()
    server.wait(timeout=30)
    await direct.aclose()

    load = os.getloadavg()
    print(f"load average      : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"model             : {args.model}, greedy chat, {args.tokens} new tokens, {args.runs} runs each")
    speed, ttft = {}, {}
    for name, finishes in results.items():
        speed[name] = statistics.median(f.tokens_per_second for f in finishes)
        ttft[name] = statistics.median(f.time_to_first_token for f in finishes)
        tokens = {f.usage.completion_tokens for f in finishes}
        print(
            f"{name:<18}: {speed[name]:6.1f} tokens/s, first token {ttft[name] * 1000:6.0f} ms, tokens {tokens}"
        )
    print(f"ratio tokens/s    : {speed['served'] / speed['direct']:.3f}× served/direct (goal ≥ 0.95×)")
    print(f"first token extra : {(ttft['served'] - ttft['direct']) * 1000:+.0f} ms through HTTP")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--model", default="smollm2")
    args = parser.parse_args()
    start = time.perf_counter()
    asyncio.run(measure(args))
    print(f"bench wall time   : {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
