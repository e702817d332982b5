"""Shared fixtures: every test runs with its own config/data/cache dirs, never the user's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

#: The real converted default model is expensive to make (≈40 s); tests share one cache across the run.
SHARED_CACHE = Path(
    os.environ.get("GPTBENCH_TEST_CACHE", Path(__file__).resolve().parent.parent / ".venv" / "test-cache")
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config and data at a fresh folder; keep the model cache shared across tests."""
    monkeypatch.setenv("GPTBENCH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GPTBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GPTBENCH_CACHE_DIR", str(SHARED_CACHE))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GPTBENCH_BACKEND",
        "GPTBENCH_MODEL",
        "GPTBENCH_CONFIG",
        "GPTBENCH_DEVICE",
        "GPTBENCH_DTYPE",
        "GPTBENCH_ENGINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init 2-layer GPT-2 (real 50,257-token BPE, 256 positions) saved as an HF folder; built once."""
    import torch
    from gptbench.core.hf_tokenizer import gpt2_tokenizer
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    torch.manual_seed(1234)
    config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=50257, n_positions=256)
    GPT2LMHeadModel(config).save_pretrained(folder)
    with pytest.MonkeyPatch.context() as env:  # the BPE ranks cache goes to the test cache, not the user's
        env.setenv("GPTBENCH_CACHE_DIR", str(SHARED_CACHE))
        gpt2_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_server(tiny_gpt2: Path) -> Iterator[SimpleNamespace]:
    """`gptbench serve` on the tiny GPT-2: a real uvicorn on a free loopback port, in a thread, with a bearer
    token. Yields url, token, model and the listener; one per session (tests/test_serve.py, test_openai_backend.py)."""
    import asyncio
    import threading
    import time

    from gptbench.core.backends.local import LocalBackend
    from gptbench.core.server import listen

    model, token = str(tiny_gpt2), "tiny-serve-token"
    listener = listen(LocalBackend(model, device="cpu"), port=0, token=token)
    thread = threading.Thread(target=asyncio.run, args=(listener.run(),), name="tiny-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not listener.server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "gptbench serve did not start"
        time.sleep(0.02)
    yield SimpleNamespace(url=listener.url, token=token, model=model, listener=listener)
    listener.stop()
    thread.join(timeout=30)


@pytest.fixture(scope="session")
async def tiny_backend(tiny_gpt2: Path):
    """A loaded LocalBackend on the tiny GPT-2 (fp32, CPU), shared by the session (tokens tests)."""
    from gptbench.core.backends.local import LocalBackend

    backend = LocalBackend(str(tiny_gpt2), device="cpu", dtype="float32")
    await backend.load()
    yield backend
    await backend.aclose()
