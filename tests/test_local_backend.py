"""The local backend on the tiny random GPT-2 built in the session (real model code, real tokenizer, fp32).

Where a knob has a Hugging Face equivalent the reply is checked against `model.generate` / a plain forward
pass on the same weights, so these tests prove the hand-written decode loop computes the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from gptbench.core.backends.base import Backend, Delta, Finish, collect
from gptbench.core.backends.local import (
    AHEAD,
    DEFAULT_MAX_TOKENS,
    LocalBackend,
    pick_device,
    pick_dtype,
    reply_budget,
    transcript,
)
from gptbench.core.backends.local_text import TextStream
from gptbench.core.chat import Message
from gptbench.core.errors import ConfigError, ContextTooLong, InputError, ModelNotFound, ParamError
from gptbench.core.hf_tokenizer import gpt2_tokenizer
from gptbench.core.params import GenerationParams as P

PROMPT = "The quick brown fox jumps over the lazy dog. Then"


@pytest.fixture(scope="module")
def backend(tiny_gpt2: Path) -> LocalBackend:
    """One backend per module; it loads on first use (any event loop: it keeps no loop state)."""
    return LocalBackend(str(tiny_gpt2), dtype="float32")


@pytest.fixture(scope="module")
def reference(tiny_gpt2: Path):
    """The same weights through plain transformers, to check our loop against."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_gpt2).eval(), AutoTokenizer.from_pretrained(tiny_gpt2)


def hf_greedy(reference, prompt: str, new: int, **kwargs) -> str:
    import torch

    model, tokenizer = reference
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = model.generate(
            ids, do_sample=False, max_new_tokens=new, min_new_tokens=new, pad_token_id=50256, **kwargs
        )
    return tokenizer.decode(out[0, ids.shape[1] :])


async def events(backend: LocalBackend, params: P, prompt: str = PROMPT) -> list[Delta | Finish]:
    return [e async for e in backend.stream_completion(prompt, params)]


def test_is_a_backend(backend: LocalBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.kind == "local"


async def test_greedy_stream_matches_transformers_generate(backend: LocalBackend, reference) -> None:
    evs = await events(backend, P(do_sample=False, max_tokens=24))
    deltas = [e for e in evs if isinstance(e, Delta)]
    finish = evs[-1]
    assert isinstance(finish, Finish) and all(isinstance(e, Delta) for e in evs[:-1])
    assert len(deltas) > 5  # really streamed, not one lump
    text = "".join(d.text for d in deltas)
    assert text == hf_greedy(reference, PROMPT, 24)
    assert finish.finish_reasons == ("length",)
    assert finish.usage.prompt_tokens == len(gpt2_tokenizer()(PROMPT)["input_ids"])
    assert finish.usage.completion_tokens == 24
    assert 0 < finish.time_to_first_token <= finish.elapsed
    assert finish.tokens_per_second > 0
    assert finish.model == str(backend.model)
    assert backend.loaded and backend.device == "cpu" and backend.dtype == "float32"
    assert backend.context_window == 256
    assert backend.tokenizer.encode("hello world") == [31373, 995]


async def test_greedy_is_deterministic(backend: LocalBackend) -> None:
    a = await collect(backend.stream_completion(PROMPT, P(temperature=0, max_tokens=16)))
    b = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=16)))
    assert a.text == b.text and a.text


async def test_repetition_penalty_matches_transformers(backend: LocalBackend, reference) -> None:
    reply = await collect(
        backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=20, repetition_penalty=1.3))
    )
    assert reply.text == hf_greedy(reference, PROMPT, 20, repetition_penalty=1.3)
    assert reply.text != hf_greedy(reference, PROMPT, 20)


async def test_stop_sequence_split_across_tokens_stops_and_is_excluded(backend: LocalBackend) -> None:
    evs = await events(backend, P(do_sample=False, max_tokens=30))
    pieces = [e.text for e in evs if isinstance(e, Delta)]
    full = "".join(pieces)
    # A stop made of the end of one token and the start of the next: it only appears once both are decoded.
    k = next(i for i in range(3, len(pieces) - 1) if len(pieces[i]) >= 2 and len(pieces[i + 1]) >= 2)
    stop = pieces[k][-2:] + pieces[k + 1][:2]
    reply = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=30, stop=[stop])))
    assert reply.text == full[: full.index(stop)]
    assert stop not in reply.text
    assert reply.finish.finish_reasons == ("stop",)


async def test_two_choices_stream_with_their_index(backend: LocalBackend) -> None:
    evs = await events(backend, P(n=2, seed=7, temperature=1.0, max_tokens=12))
    indexes = {e.index for e in evs if isinstance(e, Delta)}
    reply = await collect(backend.stream_completion(PROMPT, P(n=2, seed=7, temperature=1.0, max_tokens=12)))
    assert indexes == {0, 1}
    assert len(reply.texts) == 2 and all(reply.texts) and reply.texts[0] != reply.texts[1]
    assert reply.finish.finish_reasons == ("length", "length")
    assert reply.finish.usage.completion_tokens == 24


async def test_seed_reproduces_and_another_seed_differs(backend: LocalBackend) -> None:
    params = P(seed=42, temperature=1.0, top_p=0.95, max_tokens=16)
    first = await collect(backend.stream_completion(PROMPT, params))
    again = await collect(backend.stream_completion(PROMPT, params))
    other = await collect(backend.stream_completion(PROMPT, params.merged(seed=43)))
    assert first.text == again.text
    assert other.text != first.text


async def test_top_k_1_and_tiny_top_p_sample_the_greedy_token(backend: LocalBackend) -> None:
    greedy = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=12)))
    top_k = await collect(
        backend.stream_completion(PROMPT, P(do_sample=True, top_k=1, seed=3, max_tokens=12))
    )
    top_p = await collect(
        backend.stream_completion(PROMPT, P(do_sample=True, top_p=1e-6, seed=3, max_tokens=12))
    )
    assert top_k.text == greedy.text == top_p.text


async def test_logprobs_match_a_plain_forward_pass(backend: LocalBackend, reference) -> None:
    import torch

    reply = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=6, logprobs=5)))
    lps = reply.logprobs[0]
    assert len(lps) == 6
    model, tokenizer = reference
    ids = tokenizer(PROMPT)["input_ids"] + tokenizer(reply.text)["input_ids"]
    with torch.inference_mode():
        expected = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), dim=-1)
    start = len(tokenizer(PROMPT)["input_ids"]) - 1
    for step, lp in enumerate(lps):
        values = [v for _, v in lp.top]
        assert len(lp.top) == 5
        assert values == sorted(values, reverse=True) and all(v <= 0 for v in values)
        assert lp.logprob <= 0 and lp.top[0] == (lp.token, lp.logprob)  # greedy picks the top one
        row = expected[start + step]
        assert lp.logprob == pytest.approx(row.max().item(), abs=1e-4)
        assert tokenizer.decode([int(row.argmax())]) == lp.token


async def test_max_tokens_1_classification_with_logprobs(backend: LocalBackend) -> None:
    reply = await collect(
        backend.stream_completion(
            "Review: great film!\nSentiment:", P(max_tokens=1, logprobs=3, do_sample=False)
        )
    )
    assert reply.finish.usage.completion_tokens == 1
    assert reply.finish.finish_reasons == ("length",)
    assert len(reply.logprobs[0]) == 1 and len(reply.logprobs[0][0].top) == 3


async def test_max_length_counts_the_prompt(backend: LocalBackend) -> None:
    prompt_tokens = len(gpt2_tokenizer()(PROMPT)["input_ids"])
    reply = await collect(backend.stream_completion(PROMPT, P(max_length=prompt_tokens + 5, do_sample=False)))
    assert reply.finish.usage.completion_tokens == 5
    both = await collect(backend.stream_completion(PROMPT, P(max_length=prompt_tokens + 5, max_tokens=3)))
    assert both.finish.usage.completion_tokens == 3


async def test_frequency_and_presence_penalties_change_the_reply(backend: LocalBackend) -> None:
    base = P(do_sample=False, max_tokens=20, logprobs=0)
    plain = await collect(backend.stream_completion(PROMPT, base))
    presence = await collect(backend.stream_completion(PROMPT, base.merged(presence_penalty=2.0)))
    frequency = await collect(backend.stream_completion(PROMPT, base.merged(frequency_penalty=2.0)))
    tokens = [lp.token for lp in plain.logprobs[0]]
    assert len(set(tokens)) < len(tokens)  # the random model repeats itself greedily...
    for penalized in (presence, frequency):
        ptokens = [lp.token for lp in penalized.logprobs[0]]
        assert penalized.text != plain.text
        assert len(set(ptokens)) > len(set(tokens))  # ...and the penalties push it to new tokens


async def test_prompt_longer_than_the_window_is_refused(backend: LocalBackend) -> None:
    with pytest.raises(ContextTooLong, match=r"^prompt is 300 tokens; the model's context window is 256$"):
        await collect(backend.stream_completion(" hello" * 300, P(max_tokens=5)))


async def test_empty_prompts_are_input_errors(backend: LocalBackend) -> None:
    with pytest.raises(InputError):
        await collect(backend.stream_completion("", P()))
    with pytest.raises(InputError):
        await collect(backend.stream_chat([Message("user", "   ")], P()))


async def test_missing_folder_is_model_not_found() -> None:
    backend = LocalBackend("./no/such/model-folder")
    with pytest.raises(ModelNotFound) as info:
        await collect(backend.stream_completion("hi", P()))
    assert str(info.value) == "model folder not found: ./no/such/model-folder"


async def test_missing_gguf_file_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"^model file not found: .*nothing\.Q4_1\.gguf$"):
        await LocalBackend(str(tmp_path / "nothing.Q4_1.gguf")).load()


async def test_unknown_hub_id_fails_fast_without_network() -> None:
    start = time.perf_counter()
    with pytest.raises(ModelNotFound) as info:
        await LocalBackend("nobody-has/this-model-xyz").load()
    assert "'nobody-has/this-model-xyz' is not in the Hugging Face cache" in str(info.value)
    assert "\n" not in str(info.value)
    assert time.perf_counter() - start < 10


async def test_chat_without_template_uses_a_transcript(backend: LocalBackend) -> None:
    messages = [Message("system", "Be brief."), Message("user", "Hi there")]
    assert transcript(messages) == "System: Be brief.\nUser: Hi there\nAssistant:"
    assert await backend.render_chat(messages) == transcript(messages)
    assert await backend.count_tokens(messages) == len(gpt2_tokenizer()(transcript(messages))["input_ids"])
    reply = await collect(backend.stream_chat(messages, P(do_sample=False, max_tokens=8)))
    expected = await collect(
        backend.stream_completion(transcript(messages), P(do_sample=False, max_tokens=8))
    )
    assert reply.text == expected.text.split("\nUser:")[0]


async def test_count_tokens_of_text(backend: LocalBackend) -> None:
    assert await backend.count_tokens("hello world") == 2


async def test_closing_the_stream_stops_the_computation(backend: LocalBackend) -> None:
    await backend.load()
    before = backend.forward_calls
    stream = backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=200))
    first = await anext(stream)
    assert isinstance(first, Delta)
    await stream.aclose()
    stopped_at = backend.forward_calls
    await asyncio.sleep(0.3)
    assert backend.forward_calls == stopped_at  # nothing runs after aclose() returns
    # At most AHEAD undelivered tokens plus the one in flight, far from the 200 asked for.
    assert stopped_at - before <= AHEAD + 3 < 200


async def test_cancelling_the_consumer_stops_the_computation(backend: LocalBackend) -> None:
    await backend.load()
    started = asyncio.Event()
    before = backend.forward_calls

    async def consume() -> None:
        async for _ in backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=200)):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    stopped_at = backend.forward_calls
    await asyncio.sleep(0.3)
    assert backend.forward_calls == stopped_at
    assert stopped_at - before <= AHEAD + 3 < 200


async def test_closing_the_backend_finishes_running_streams_as_cancelled(tiny_gpt2: Path) -> None:
    backend = LocalBackend(str(tiny_gpt2), dtype="float32")
    stream = backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=200))
    got = [await anext(stream)]
    closing = asyncio.create_task(backend.aclose())
    got += [e async for e in stream]
    await closing
    assert isinstance(got[-1], Finish)
    assert got[-1].finish_reasons == ("cancelled",)
    assert got[-1].usage.completion_tokens < 200
    assert not backend.loaded


def test_text_stream_holds_back_split_multibyte_characters() -> None:
    tokenizer = gpt2_tokenizer()
    text = "Zoë said 日本語 and 🤖 — ok"
    ids = tokenizer(text)["input_ids"]
    stream = TextStream(tokenizer)
    pieces = [stream.push(i) for i in ids]
    pieces.append(stream.flush())
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
    assert pieces.count("") > 0  # some tokens were partial characters and waited for the rest


def test_text_stream_stop_across_pieces_is_held_then_dropped() -> None:
    tokenizer = gpt2_tokenizer()
    ids = tokenizer("alpha beta\n\nUser: gamma")["input_ids"]
    stream = TextStream(tokenizer, stops=("\n\nUser:",))
    out = ""
    for i in ids:
        out += stream.push(i)
        if stream.stopped:
            break
    assert stream.stopped and out == "alpha beta"
    held = TextStream(tokenizer, stops=("xyz",))
    shown = "".join(held.push(i) for i in tokenizer.encode(" abc x"))
    assert shown == " abc "  # "x" might start "xyz": held back...
    assert held.flush() == "x"  # ...and released at the end


# -- parameter mapping (local side) ------------------------------------------------------------------------
def test_reply_budget_maps_max_tokens_and_max_length() -> None:
    assert reply_budget(10, P(), 1000) == DEFAULT_MAX_TOKENS
    assert reply_budget(10, P(max_tokens=7), 1000) == 7
    assert reply_budget(10, P(max_length=15), 1000) == 5
    assert reply_budget(10, P(max_length=15, max_tokens=3), 1000) == 3
    assert reply_budget(10, P(max_tokens=500), 100) == 90  # never past the context window
    with pytest.raises(ParamError, match="max_length"):
        reply_budget(10, P(max_length=10), 1000)
    with pytest.raises(ContextTooLong, match="prompt is 100 tokens; the model's context window is 100"):
        reply_budget(100, P(), 100)


def test_device_and_dtype_choice() -> None:
    assert pick_device("cpu") == "cpu"
    assert pick_dtype("fp32", "cpu") == "float32"
    assert pick_dtype("bf16", "cpu") == "bfloat16"
    assert pick_dtype("auto", "mps") == "float16"
    assert pick_dtype("auto", "cpu") in ("bfloat16", "float32")
    with pytest.raises(ConfigError, match="local.device"):
        pick_device("tpu")
    with pytest.raises(ConfigError, match="local.dtype"):
        LocalBackend("smollm2", dtype="int3")


async def test_auto_dtype_on_cpu_still_answers(tiny_gpt2: Path) -> None:
    backend = LocalBackend(str(tiny_gpt2))
    reply = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=4)))
    assert backend.device == "cpu" and backend.dtype == pick_dtype("auto", "cpu")
    assert reply.finish.usage.completion_tokens == 4 and reply.text
    await backend.aclose()


async def test_list_models_names_the_default_and_its_alias(backend: LocalBackend) -> None:
    ids = [m.id for m in await backend.list_models()]
    assert ids[:2] == ["smollm2", "SmolLM2-135M-Instruct"]


def _hf_cache_entry(cache: Path, repo_id: str, files: Path) -> None:
    """Lay `files` out the way huggingface_hub caches a downloaded repo (blobs, snapshot symlinks, refs/main)."""
    import hashlib
    import shutil

    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for f in files.iterdir():
        blob = repo / "blobs" / hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copyfile(f, blob)
        (snapshot / f.name).symlink_to(blob)


async def test_a_hub_id_loads_from_the_hugging_face_cache(
    tiny_gpt2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    _hf_cache_entry(cache, "someone/tiny-gpt2", tiny_gpt2)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    backend = LocalBackend("someone/tiny-gpt2", dtype="float32")
    reply = await collect(backend.stream_completion(PROMPT, P(do_sample=False, max_tokens=5)))
    assert reply.finish.usage.completion_tokens == 5
    assert backend.context_window == 256
    listed = {m.id: m for m in await backend.list_models()}
    assert listed["someone/tiny-gpt2"].context_window == 256
    await backend.aclose()
