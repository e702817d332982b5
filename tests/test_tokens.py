"""Tokenizer registry: known vectors, round trips, agreement with tiktoken's own encodings, chat counting."""

from __future__ import annotations

import hashlib
import random

import pytest
from gptbench.core.chat import Message
from gptbench.core.errors import InputError
from gptbench.core.prices import cost, price_for
from gptbench.core.tokens import (
    ENCODINGS,
    base_model,
    context_window,
    count_chat_tokens,
    encoding_for_model,
    get_tokenizer,
    next_token_distribution,
    tokenizer_of_backend,
)
from gptbench.core.tokens.encodings import SHA256, tiktoken_file
from gptbench.core.tokens.segments import segments

HELLO = {
    "cl100k_base": [15339, 1917],
    "o200k_base": [24912, 2375],
    "r50k_base": [31373, 995],
    "gpt2": [31373, 995],
    "p50k_base": [31373, 995],
    "p50k_edit": [31373, 995],
}
MIXED = "Hello, world! Ünïcödé — 你好，世界。こんにちは 😀🎉👩‍👩‍👧 tabs\tand\r\nCRLF   spaces\n\n\nend"
URLS = {
    "r50k_base": "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
    "p50k_base": "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def corpus(seed: int = 7, n: int = 6000) -> str:
    """Varied text: words, numbers, code, whitespace runs, CJK, emoji, contractions, punctuation clusters."""
    rng = random.Random(seed)
    parts = [
        "hello", "World", " the", "don't", "I'LL", "we've", "123", "4567890", "3.14", "x=y+1;", "def f(a):",
        "    return a", "\t", "  ", "   ", "\n", "\n\n", "\r\n", " \n", "世界", "日本語", "😀", "🇫🇷", "Ünïcödé",
        "naïve", "ﬁ", "½", "²", "...", "?!", "—", "https://example.com/a/b?c=d", "<|endoftext|>", "CamelCaseWord",
        "snake_case", "ALLCAPS", "'s", "Ωμέγα", "עברית", "عربى", "🙂🙂🙂", "\u200b", "e\u0301",
    ]  # fmt: skip
    return "".join(rng.choice(parts) + rng.choice(["", " ", "", "\n", "  "]) for _ in range(n))


@pytest.mark.parametrize("name", list(HELLO))
def test_known_vectors(name: str) -> None:
    tok = get_tokenizer(name)
    assert tok.encode("hello world") == HELLO[name]
    assert tok.decode(HELLO[name]) == "hello world"
    assert tok.count("hello world") == 2


@pytest.mark.parametrize("name", ENCODINGS)
def test_round_trip_mixed_scripts(name: str) -> None:
    tok = get_tokenizer(name)
    ids = tok.encode(MIXED)
    assert tok.decode(ids) == MIXED
    assert b"".join(tok.token_bytes(i) for i in ids) == MIXED.encode()
    assert len(tok.pieces(ids)) == len(ids)


def test_p50k_is_r50k_plus_space_runs_with_the_expected_hash() -> None:
    data = tiktoken_file("p50k_base")
    assert hashlib.sha256(data).hexdigest() == SHA256["p50k_base"]
    p50k, r50k = get_tokenizer("p50k_base"), get_tokenizer("r50k_base")
    assert p50k.encode("a" + " " * 5 + "b") == [64, 50259, 275]  # 4 spaces → one token (rank 50255 + 4)
    assert r50k.encode("a" + " " * 5 + "b") == [64, 220, 220, 220, 220, 275]
    assert p50k.n_vocab == 50281


@pytest.fixture(scope="module")
def tiktoken_own(tmp_path_factory: pytest.TempPathFactory):
    """tiktoken's own registry (its openai_public constructors), fed our data through its download cache."""
    import os

    import tiktoken

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, url in URLS.items():
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(tiktoken_file(name))
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        yield {
            name: tiktoken.get_encoding(name)
            for name in ("r50k_base", "p50k_base", "p50k_edit", "cl100k_base", "o200k_base")
        }
    finally:
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


@pytest.mark.parametrize("name", ["r50k_base", "p50k_base", "p50k_edit", "cl100k_base", "o200k_base"])
def test_counts_equal_tiktokens_own_on_a_corpus(name: str, tiktoken_own) -> None:
    text = corpus()
    ours, theirs = get_tokenizer(name), tiktoken_own[name]
    assert ours.encode(text) == theirs.encode(text, disallowed_special=())
    lines = text.splitlines(keepends=True)
    assert ours.count_batch(lines) == [len(theirs.encode_ordinary(line)) for line in lines]
    assert ours.encoding.special_tokens_set == theirs.special_tokens_set
    assert ours.n_vocab == theirs.n_vocab


@pytest.mark.parametrize("name", ["r50k_base", "cl100k_base", "o200k_base"])
def test_segments_encode_to_the_same_tokens_as_the_whole(name: str) -> None:
    text = corpus(seed=11, n=20000)
    tok = get_tokenizer(name)
    for target in (16, 256, 2048):
        pieces = segments(text, target)
        assert "".join(pieces) == text
        assert sum(tok.count_batch(pieces)) == tok.count(text)


@pytest.mark.parametrize(
    ("model", "encoding", "window"),
    [
        ("gpt-4o", "o200k_base", 128_000),
        ("gpt-4o-mini-2024-07-18", "o200k_base", 128_000),
        ("gpt-4.1-nano", "o200k_base", 1_047_576),
        ("o1", "o200k_base", 200_000),
        ("o3-mini-2025-01-31", "o200k_base", 200_000),
        ("o4-mini", "o200k_base", 200_000),
        ("gpt-4", "cl100k_base", 8_192),
        ("gpt-4-32k-0613", "cl100k_base", 32_768),
        ("gpt-4-turbo-2024-04-09", "cl100k_base", 128_000),
        ("gpt-3.5-turbo-0301", "cl100k_base", 4_096),
        ("gpt-35-turbo-16k", "cl100k_base", 16_385),
        ("text-embedding-3-small", "cl100k_base", 8_191),
        ("davinci-002", "cl100k_base", 16_384),
        ("babbage-002", "cl100k_base", 16_384),
        ("text-davinci-003", "p50k_base", 4_097),
        ("text-davinci-edit-001", "p50k_edit", 3_000),
        ("davinci", "r50k_base", 2_049),
        ("ada", "r50k_base", 2_049),
        ("ft:gpt-4o-mini-2024-07-18:acme::9xYz", "o200k_base", 128_000),
        ("ft:gpt-3.5-turbo-0125:acme:tag:abc", "cl100k_base", 16_385),
        ("curie:ft-acme-2023-01-01-00-00-00", "r50k_base", 2_049),
    ],
)
def test_model_table(model: str, encoding: str, window: int) -> None:
    assert encoding_for_model(model) == encoding
    assert context_window(model) == window
    assert get_tokenizer(model).name == encoding


def test_unknown_model_is_one_clear_line() -> None:
    with pytest.raises(InputError) as err:
        get_tokenizer("llama-3-70b")
    message = str(err.value)
    assert "unknown model 'llama-3-70b'" in message and "gpt-4o" in message and "hf:" in message
    assert "\n" not in message
    assert context_window("llama-3-70b") is None
    with pytest.raises(InputError, match="no tokenizer found"):
        get_tokenizer("hf:/nonexistent/folder")


def n(tok_name: str, *texts: str) -> int:
    tok = get_tokenizer(tok_name)
    return sum(tok.count(t) for t in texts)


def test_chat_overhead_follows_the_documented_rule() -> None:
    one = [{"role": "user", "content": "Hello"}]
    # 3 per message + "user" + "Hello" + 3 reply priming
    assert count_chat_tokens(one, "gpt-4o") == 3 + n("o200k_base", "user", "Hello") + 3 == 8
    two = [
        Message("system", "You are a helpful assistant."),
        Message("user", "What is 2+2?", name="alice"),
    ]
    texts = ("system", "You are a helpful assistant.", "user", "What is 2+2?", "alice")
    assert count_chat_tokens(two, "gpt-4") == 2 * 3 + n("cl100k_base", *texts) + 1 + 3
    assert count_chat_tokens(two, "gpt-4o-mini") == 2 * 3 + n("o200k_base", *texts) + 1 + 3
    # gpt-3.5-turbo-0301: 4 per message, −1 per name
    assert count_chat_tokens(two, "gpt-3.5-turbo-0301") == 2 * 4 + n("cl100k_base", *texts) - 1 + 3
    # the OpenAI cookbook's worked example count for gpt-4 / gpt-3.5-turbo-0613 style models
    cookbook = [
        {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
        {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
        {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
        {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."},
    ]  # fmt: skip
    assert count_chat_tokens(cookbook, "gpt-4-0613") == 129  # the cookbook's printed API usage
    assert count_chat_tokens(cookbook, "gpt-3.5-turbo-0613") == 129
    assert count_chat_tokens(cookbook, "gpt-4o") == 124
    with pytest.raises(InputError, match="completion model"):
        count_chat_tokens(one, "davinci-002")


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


async def test_local_tokenizer_counts_the_ids_the_backend_sends(tiny_backend) -> None:
    tok = tokenizer_of_backend(tiny_backend)
    assert tok is not None and tok.kind == "hf"
    messages = [Message("system", "Be brief."), Message("user", "Name a prime number between 10 and 20.")]
    # GPT-2 has no chat template: the backend sends a "Role: text" transcript, and that is what is counted.
    transcript = "System: Be brief.\nUser: Name a prime number between 10 and 20.\nAssistant:"
    assert count_chat_tokens(messages, tok) == get_tokenizer("r50k_base").count(transcript)
    assert count_chat_tokens(messages, tok) == await tiny_backend.count_tokens(messages)
    # with a chat template: exactly the template's token ids
    tok.hf.chat_template = CHATML
    try:
        rendered = tok.hf.apply_chat_template(
            [m.to_dict() for m in messages], add_generation_prompt=True, tokenize=False
        )
        assert rendered.endswith("<|im_start|>assistant\n")
        expected = len(tok.hf(rendered, add_special_tokens=False)["input_ids"])
        assert count_chat_tokens(messages, tok) == expected == await tiny_backend.count_tokens(messages)
        assert count_chat_tokens([m.to_dict() for m in messages], tok) == expected
    finally:
        tok.hf.chat_template = None
    # by path: the folder's own tokenizer (GPT-2 BPE) agrees with r50k on text
    by_path = get_tokenizer(f"hf:{tiny_backend.model}")
    assert by_path.encode(MIXED) == get_tokenizer("r50k_base").encode(MIXED)


async def test_next_token_distribution_on_tiny_gpt2(tiny_backend) -> None:
    import torch

    text = "The quick brown fox"
    top = await next_token_distribution(tiny_backend, text, 8)
    assert len(top) == 8
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    # the same numbers as one forward pass of the model itself
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_backend.model, local_files_only=True).eval()
    ids = tiny_backend.tokenizer(text)["input_ids"]
    with torch.inference_mode():
        expected = torch.softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)
    best = torch.topk(expected, 8)
    assert [tiny_backend.tokenizer.decode([int(i)]) for i in best.indices] == [t for t, _ in top]
    assert probs == pytest.approx([float(p) for p in best.values], rel=1e-3)
    # empty text: predicted after the start token
    assert len(await next_token_distribution(tiny_backend, "", 3)) == 3


def test_prices_have_dates_and_config_overrides() -> None:
    price = price_for("gpt-4o-2024-08-06")
    assert price is not None and price.as_of[:2] == "20" and price.source == "built-in"
    assert cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.15 + 0.60)
    mine = {"gpt-4o-mini": {"input": 1.0, "output": 3.0, "as_of": "2026-01-01"}}
    assert cost("gpt-4o-mini-2024-07-18", 2_000_000, 0, mine) == pytest.approx(2.0)
    assert price_for("ft:gpt-4o-mini-2024-07-18:acme::x") is None
    assert price_for("no-such-model") is None
    assert base_model("gpt-4o-2024-05-13") == "gpt-4o"


def test_live_counter_stays_exact_through_random_edits() -> None:
    from gptbench.core.tokens.live import LiveCounter

    toks = [get_tokenizer(n) for n in ("o200k_base", "cl100k_base", "r50k_base")]
    counter = LiveCounter(toks)
    rng = random.Random(5)
    text = corpus(3, 8000)
    counter.count(text)
    inserts = ["a", " ", "\n", "\n\n", "世", "😀", "  x", ".\n", "\t", "'s", "hello world\n", "123"]
    for step in range(200):
        pos, op = rng.randrange(len(text) + 1), rng.random()
        if op < 0.6:
            text = text[:pos] + rng.choice(inserts) + text[pos:]
        elif op < 0.9:
            text = text[:pos] + text[pos + rng.randint(1, 5) :]
        else:
            text = text[:pos] + rng.choice(inserts) + text[pos + rng.randint(1, 50) :]
        snap = counter.count(text)
        assert snap.encoded < len(text) // 4  # only the edited stretch was encoded again
        if step % 20 == 0:
            assert snap.counts == {t.name: t.count(text) for t in toks}, step
            assert "".join(snap.pieces) == text
            assert [len(i) for i in snap.ids] == [toks[0].count(p) for p in snap.pieces]
    assert counter.count(text).counts == {t.name: t.count(text) for t in toks}


def test_chat_json_tokens_reads_message_lists_and_fine_tuning_lines() -> None:
    from gptbench.core.tokens import chat_json_tokens

    messages = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"}]
    expected = count_chat_tokens(messages, "gpt-4o")
    import json

    assert chat_json_tokens(json.dumps(messages), "gpt-4o") == (2, expected)
    assert chat_json_tokens(json.dumps({"messages": messages}), "gpt-4o") == (2, expected)
    assert chat_json_tokens("[1, 2]", "gpt-4o") is None
    assert chat_json_tokens("not json", "gpt-4o") is None
    assert chat_json_tokens(json.dumps(messages), "davinci-002") is None  # no chat format


async def test_next_token_distribution_through_openai_logprobs(tiny_server, tiny_backend) -> None:
    """The OpenAI route (legacy completions, logprobs=k) against `gptbench serve` on 127.0.0.1: same tokens."""
    from gptbench.core.backends.openai import OpenAIBackend

    remote = OpenAIBackend(
        tiny_server.model, api_key=tiny_server.token, base_url=tiny_server.url, max_retries=0
    )
    try:
        top = await next_token_distribution(remote, "The quick brown fox", 8)
    finally:
        await remote.aclose()
    assert len(top) == 5  # OpenAI's completions endpoint returns at most 5 alternatives
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    local = await next_token_distribution(tiny_backend, "The quick brown fox", 5)
    assert [t for t, _ in top] == [t for t, _ in local]
    # the server runs the model in its automatic dtype (bf16 where the CPU has it), the fixture in fp32
    assert probs == pytest.approx([p for _, p in local], rel=2e-2)
