"""lean_llama against transformers' own implementation of each architecture it claims, on tiny random models
built in the session (real model classes, safetensors files, fp32), and the local backend running on it.

The real default model is compared too (marked e2e): the same logits and the same greedy reply as
transformers' LlamaForCausalLM, in float32 and in the bfloat16 the backend picks on this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gptbench.core.backends.base import collect
from gptbench.core.backends.lean_llama import LeanLlama, unsupported
from gptbench.core.backends.local import LocalBackend, load_tokenizer
from gptbench.core.chat import Message
from gptbench.core.errors import ConfigError
from gptbench.core.models import resolve_model
from gptbench.core.params import GenerationParams as P

PROMPT = "The quick brown fox jumps over the lazy dog. Then"
COMMON = dict(
    vocab_size=50257,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    bos_token_id=50256,
    eos_token_id=50256,
)


def _build(folder: Path, kind: str, **overrides) -> Path:
    """A random-init tiny model of `kind` saved with the GPT-2 tokenizer (safetensors weights)."""
    import torch
    import transformers
    from gptbench.core.hf_tokenizer import gpt2_tokenizer

    config_cls, model_cls = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
    }[kind]
    torch.manual_seed(7)
    config = config_cls(**{**COMMON, **overrides})
    model = model_cls(config)
    with torch.no_grad():  # random biases are zero at init; make them count
        for name, param in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                param.normal_(0.0 if name.endswith("bias") else 1.0, 0.1)
    model.save_pretrained(folder)
    gpt2_tokenizer().save_pretrained(folder)
    return folder


VARIANTS = {
    "llama-tied": ("llama", {"tie_word_embeddings": True}),
    "llama-bias": ("llama", {"attention_bias": True, "tie_word_embeddings": False}),
    "llama3-rope": (
        "llama",
        {
            "rope_scaling": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 32,
            },
            "rope_theta": 500000.0,
        },
    ),
    "llama-linear-rope": ("llama", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    "qwen2": ("qwen2", {"tie_word_embeddings": False}),
    "mistral": ("mistral", {"sliding_window": None, "head_dim": 32}),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def tiny(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    kind, overrides = VARIANTS[request.param]
    return _build(tmp_path_factory.mktemp(request.param), kind, **overrides)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("tiny-llama"), "llama", tie_word_embeddings=True)


def _reference(folder: Path, dtype: str = "float32"):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).eval()
    return model, AutoTokenizer.from_pretrained(folder)


def _compare(folder: Path, ids: list[int], steps: int, dtype: str, atol: float) -> None:
    """Prefill + `steps` greedy steps: our logits within `atol` of transformers' and the same best token."""
    import torch

    reference, _ = _reference(folder, dtype)
    lean = LeanLlama.load(folder, getattr(torch, dtype), torch.device("cpu"))
    with torch.inference_mode():
        prompt = torch.tensor([ids])
        expected = reference.generate(
            prompt,
            do_sample=False,
            max_new_tokens=steps,
            min_new_tokens=steps,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=0,
        )
        cache = lean.new_cache(1, len(ids) + steps)
        logits = lean.forward(prompt, cache)
        for step in range(steps):
            want = expected.logits[step][0].float()
            assert torch.allclose(logits[0].float(), want, atol=atol), (step, (logits[0] - want).abs().max())
            assert int(logits[0].argmax()) == int(want.argmax()), step
            token = int(expected.sequences[0, len(ids) + step])  # (min_new_tokens may have masked the EOS)
            logits = lean.forward(torch.tensor([[token]]), cache)


def test_same_logits_and_greedy_tokens_as_transformers(tiny: Path) -> None:
    assert unsupported(tiny) is None
    _, tokenizer = _reference(tiny)
    _compare(tiny, tokenizer(PROMPT)["input_ids"], steps=12, dtype="float32", atol=1e-4)


def test_unsupported_folders_say_why(tmp_path: Path) -> None:
    def folder(name: str, config: dict, weights: bool = True) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "config.json").write_text(json.dumps(config))
        if weights:
            (path / "model.safetensors").write_bytes(b"")
        return path

    base = {"model_type": "llama", "hidden_act": "silu"}
    assert unsupported(folder("ok", base)) is None
    assert "gpt2" in unsupported(folder("gpt2", {"model_type": "gpt2"}))
    assert unsupported(folder("llama3", {**base, "rope_scaling": {"rope_type": "llama3"}})) is None
    assert "dynamic" in unsupported(folder("scaled", {**base, "rope_scaling": {"type": "dynamic"}}))
    assert "yarn" in unsupported(folder("yarn", {**base, "rope_parameters": {"rope_type": "yarn"}}))
    partial = {**base, "rope_parameters": {"partial_rotary_factor": 0.5}}
    assert "partial" in unsupported(folder("partial", partial))
    assert "sliding" in unsupported(
        folder("window", {**base, "model_type": "mistral", "sliding_window": 4096})
    )
    qwen = {**base, "model_type": "qwen2", "sliding_window": 32768, "use_sliding_window": False}
    assert unsupported(folder("qwen", qwen)) is None
    assert "gelu" in unsupported(folder("gelu", {**base, "hidden_act": "gelu"}))
    gptq = {**base, "quantization_config": {"quant_method": "gptq", "bits": 4}}
    assert "quantized" in unsupported(folder("gptq", gptq))
    assert "safetensors" in unsupported(folder("bin", base, weights=False))
    assert "config.json" in unsupported(tmp_path / "nowhere")


async def test_backend_runs_llama_folders_on_the_lean_engine(tiny_llama: Path) -> None:
    import torch

    reference, tokenizer = _reference(tiny_llama)
    backend = LocalBackend(str(tiny_llama), dtype="float32")
    reply = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=16)))
    assert backend.engine == "lean"
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = reference.generate(ids, do_sample=False, max_new_tokens=16, min_new_tokens=16, pad_token_id=0)
    assert reply.text == tokenizer.decode(out[0, ids.shape[1] :])
    assert reply.finish.usage.completion_tokens == 16
    await backend.aclose()


async def test_lean_and_transformers_engines_agree_on_every_knob(tiny_llama: Path) -> None:
    lean = LocalBackend(str(tiny_llama), dtype="float32")
    slow = LocalBackend(str(tiny_llama), dtype="float32", engine="transformers")
    requests = [
        P(do_sample=True, seed=11, n=2, max_tokens=12, temperature=0.9, top_k=50, top_p=0.9),
        P(
            do_sample=False,
            max_tokens=10,
            repetition_penalty=1.3,
            frequency_penalty=0.5,
            presence_penalty=0.4,
        ),
        P(do_sample=False, max_tokens=3, logprobs=5),
    ]
    for params in requests:
        a = await collect(lean.stream_completion(PROMPT, params))
        b = await collect(slow.stream_completion(PROMPT, params))
        assert len(a.texts) == params.n and a.texts == b.texts, params
        assert a.finish.usage == b.finish.usage
        assert [[t.token for t in row] for row in a.logprobs] == [
            [t.token for t in row] for row in b.logprobs
        ]
    assert len(a.logprobs[0]) == 3 and all(len(lp.top) == 5 for lp in a.logprobs[0])
    assert a.logprobs[0][0].logprob == pytest.approx(b.logprobs[0][0].logprob, abs=1e-4)
    assert (lean.engine, slow.engine) == ("lean", "transformers")
    await lean.aclose()
    await slow.aclose()


async def test_unsupported_llama_variant_falls_back_to_transformers(tmp_path: Path) -> None:
    folder = _build(tmp_path / "scaled", "llama", rope_scaling={"rope_type": "dynamic", "factor": 2.0})
    assert "dynamic" in unsupported(folder)
    backend = LocalBackend(str(folder), dtype="float32")
    reply = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=4)))
    assert backend.engine == "transformers"
    assert reply.finish.usage.completion_tokens == 4
    await backend.aclose()


def test_engine_setting_is_checked() -> None:
    with pytest.raises(ConfigError, match="local.engine must be auto or transformers; got 'fast'"):
        LocalBackend("smollm2", engine="fast")


def _same_tokenizer_as_autotokenizer(folder: Path) -> None:
    from transformers import AutoTokenizer

    ours, auto = load_tokenizer(folder), AutoTokenizer.from_pretrained(folder)
    assert type(ours) is type(auto)
    text = "Zoë said 日本語 and 🤖 — ok  123"
    assert ours(text)["input_ids"] == auto(text)["input_ids"]
    assert (ours.eos_token_id, ours.bos_token, ours.chat_template) == (
        auto.eos_token_id,
        auto.bos_token,
        auto.chat_template,
    )


def test_tokenizer_loads_by_its_named_class_like_autotokenizer(tiny_llama: Path) -> None:
    _same_tokenizer_as_autotokenizer(tiny_llama)


@pytest.mark.e2e
def test_default_model_tokenizer_loads_like_autotokenizer() -> None:
    _same_tokenizer_as_autotokenizer(resolve_model("smollm2"))


@pytest.mark.e2e
@pytest.mark.parametrize("dtype, atol", [("float32", 2e-3), ("bfloat16", None)])
def test_default_model_matches_transformers(dtype: str, atol: float | None) -> None:
    """SmolLM2: fp32 logits within 2e-3 over 24 greedy steps; in bf16 (rounding differs by fusion order) the same
    24 greedy tokens."""
    folder = resolve_model("smollm2")
    tokenizer = load_tokenizer(folder)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    _compare(folder, ids, steps=24, dtype=dtype, atol=atol if atol is not None else float("inf"))


@pytest.mark.e2e
async def test_default_model_loads_on_the_lean_engine() -> None:
    backend = LocalBackend("smollm2")
    reply = await collect(
        backend.stream_chat(
            [Message("user", "What is the capital of France?")], P(do_sample=False, max_tokens=20)
        )
    )
    assert backend.engine == "lean"
    assert "Paris" in reply.text
    await backend.aclose()
