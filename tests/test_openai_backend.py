"""OpenAIBackend: parameter mapping (pure), and the official SDK driving a real `gptbench serve` over HTTP.

The served model is the tiny random GPT-2 run by the real LocalBackend (conftest `tiny_server`); a second
LocalBackend on the same folder answers the same requests directly, so "through HTTP" can be compared with
"in process". A small fake upstream (a Starlette app on loopback) plays an API that rate-limits, fails and
hangs, to show the SDK's retries and our error messages.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from gptbench.core.backends.base import Delta, Finish, collect
from gptbench.core.backends.local import LocalBackend
from gptbench.core.backends.openai import OpenAIBackend, is_official, map_params, redact
from gptbench.core.chat import Message
from gptbench.core.errors import (
    AuthError,
    BackendError,
    ContextTooLong,
    ModelNotFound,
    ParamError,
    RateLimited,
    Unreachable,
)
from gptbench.core.params import GenerationParams

HELLO = [Message("user", "Hello, who are you?")]
GREEDY = GenerationParams(max_tokens=8, do_sample=False)


# -- parameter mapping (no network) ---------------------------------------------------------------------------


def test_official_chat_mapping_uses_max_completion_tokens_and_top_logprobs() -> None:
    params = GenerationParams(
        max_tokens=5,
        temperature=0.3,
        top_p=0.9,
        frequency_penalty=0.1,
        presence_penalty=-0.2,
        stop=("\n", "END"),
        n=2,
        seed=7,
        logprobs=3,
    )
    assert map_params(params, chat=True, official=True) == {
        "max_completion_tokens": 5,
        "temperature": 0.3,
        "top_p": 0.9,
        "frequency_penalty": 0.1,
        "presence_penalty": -0.2,
        "seed": 7,
        "stop": ["\n", "END"],
        "n": 2,
        "logprobs": True,
        "top_logprobs": 3,
    }


def test_legacy_and_custom_servers_get_max_tokens_and_integer_logprobs() -> None:
    params = GenerationParams(max_tokens=1, logprobs=5, stop="\n")
    expected = {"max_tokens": 1, "stop": ["\n"], "logprobs": 5}
    assert map_params(params, chat=False, official=True) == expected
    assert map_params(params, chat=False, official=False) == expected
    assert map_params(GenerationParams(max_tokens=9), chat=True, official=False) == {"max_tokens": 9}


def test_custom_server_gets_top_k_and_repetition_penalty_in_the_body() -> None:
    params = GenerationParams(top_k=40, repetition_penalty=1.1, temperature=0.7)
    assert map_params(params, chat=True, official=False) == {
        "temperature": 0.7,
        "extra_body": {"top_k": 40, "repetition_penalty": 1.1},
    }


@pytest.mark.parametrize("knob", [{"top_k": 40}, {"repetition_penalty": 1.2}])
def test_official_api_refuses_knobs_it_cannot_honour(knob: dict) -> None:
    with pytest.raises(ParamError) as err:
        map_params(GenerationParams(**knob), chat=True, official=True)
    name = next(iter(knob))
    assert err.value.field == name
    assert str(err.value).startswith(f"{name}: the OpenAI API has no such knob")


def test_greedy_is_temperature_zero_and_max_length_is_refused() -> None:
    assert map_params(GenerationParams(do_sample=False, temperature=0.9), chat=True, official=True) == {
        "temperature": 0.0
    }
    assert map_params(GenerationParams(do_sample=True), chat=True, official=True) == {}
    with pytest.raises(ParamError, match="use max_tokens"):
        map_params(GenerationParams(max_length=100), chat=True, official=False)


def test_official_legacy_logprobs_stop_at_five() -> None:
    with pytest.raises(ParamError, match="at most 5"):
        map_params(GenerationParams(logprobs=6), chat=False, official=True)
    assert map_params(GenerationParams(logprobs=6), chat=False, official=False) == {"logprobs": 6}


def test_which_base_urls_are_the_official_api() -> None:
    assert is_official(None)
    assert is_official("https://api.openai.com/v1")
    assert not is_official("http://127.0.0.1:8000/v1")
    assert not is_official("https://openai.com.example.net/v1")


def test_redact_hides_the_key_and_key_shaped_text() -> None:
    text = "Incorrect API key provided: sk-proj-abc***xyz. tok tokens secret-tok"
    assert redact(text, "tok") == "Incorrect API key provided: sk-***. *** tokens secret-tok"
    assert "hunter2" not in redact("bad key hunter2!", "hunter2")


async def test_no_key_for_the_official_api_fails_before_any_request() -> None:
    backend = OpenAIBackend("gpt-4o-mini")
    with pytest.raises(AuthError) as err:
        await collect(backend.stream_chat(HELLO, GenerationParams()))
    message = str(err.value)
    assert message.startswith("no OpenAI API key: set OPENAI_API_KEY or [openai].api_key in ")
    assert message.endswith("config.toml")


async def test_count_tokens_offline_with_the_models_encoding() -> None:
    backend = OpenAIBackend("gpt-4o-mini", api_key="sk-unused")
    # OpenAI's rule: 3 per message + "user" (1) + "Hello" (1) + 3 priming the reply.
    assert await backend.count_tokens([Message("user", "Hello")]) == 8
    assert await backend.count_tokens("Hello world") == 2


# -- the SDK against `gptbench serve` on the tiny GPT-2 ------------------------------------------------------------


@pytest.fixture(scope="module")
def direct(tiny_gpt2) -> LocalBackend:
    """The same model in process, to compare with what comes back over HTTP."""
    return LocalBackend(str(tiny_gpt2), device="cpu")


def client(server: SimpleNamespace, **kw) -> OpenAIBackend:
    kw.setdefault("api_key", server.token)
    return OpenAIBackend(kw.pop("model", server.model), base_url=server.url, max_retries=0, **kw)


async def test_chat_over_http_equals_the_local_backend(tiny_server, direct) -> None:
    backend = client(tiny_server)
    try:
        served = await collect(backend.stream_chat(HELLO, GREEDY))
    finally:
        await backend.aclose()
    local = await collect(direct.stream_chat(HELLO, GREEDY))
    assert served.text == local.text and served.text
    f = served.finish
    assert f.finish_reasons == local.finish.finish_reasons
    assert (f.usage.prompt_tokens, f.usage.completion_tokens) == (
        local.finish.usage.prompt_tokens,
        local.finish.usage.completion_tokens,
    )
    assert f.usage.prompt_tokens > 0 and f.usage.completion_tokens > 0
    assert 0 < f.time_to_first_token <= f.elapsed
    assert f.model == tiny_server.model


async def test_stream_arrives_in_pieces_and_ends_with_one_finish(tiny_server) -> None:
    backend = client(tiny_server)
    events = [e async for e in backend.stream_chat(HELLO, GenerationParams(max_tokens=6, seed=1))]
    await backend.aclose()
    deltas = [e for e in events if isinstance(e, Delta)]
    assert len(deltas) >= 2
    assert isinstance(events[-1], Finish) and sum(isinstance(e, Finish) for e in events) == 1
    assert events[-1].usage.completion_tokens == 6


async def test_completion_with_logprobs_and_max_tokens_1(tiny_server, direct) -> None:
    params = GenerationParams(max_tokens=1, logprobs=5, do_sample=False)
    backend = client(tiny_server)
    reply = await collect(backend.stream_completion("Great movie! Sentiment:", params))
    await backend.aclose()
    local = await collect(direct.stream_completion("Great movie! Sentiment:", params))
    [token] = reply.logprobs[0]
    assert reply.text == token.token
    assert len(token.top) == 5
    assert [p for _, p in token.top] == sorted((p for _, p in token.top), reverse=True)
    assert token.top[0] == (token.token, pytest.approx(token.logprob))  # greedy took the most likely token
    [local_token] = local.logprobs[0]
    assert token.token == local_token.token
    assert token.logprob == pytest.approx(local_token.logprob, abs=1e-4)
    assert reply.finish.finish_reasons == ("length",)
    assert reply.finish.usage.completion_tokens == 1


async def test_stop_sequence_cuts_the_reply(tiny_server) -> None:
    backend = client(tiny_server)
    prompt = "The list goes on and on"
    sampled = GenerationParams(max_tokens=12, temperature=1.0, seed=11)
    full = await collect(backend.stream_completion(prompt, sampled.merged(logprobs=0)))
    # The stop sequence: a later token of the unstopped reply that does not occur before its own position.
    offset, stop = 0, None
    for i, token in enumerate(t.token for t in full.logprobs[0]):
        if i >= 2 and token.strip() and full.text.find(token) == offset:
            stop = token
            break
        offset += len(token)
    assert stop is not None, full.text
    stopped = await collect(backend.stream_completion(prompt, sampled.merged(stop=(stop,))))
    await backend.aclose()
    assert stopped.text == full.text[:offset]
    assert stopped.finish.finish_reasons == ("stop",)


async def test_n2_gives_two_choices(tiny_server) -> None:
    backend = client(tiny_server)
    reply = await collect(
        backend.stream_chat(HELLO, GenerationParams(n=2, max_tokens=5, seed=3, temperature=1.0))
    )
    await backend.aclose()
    assert len(reply.texts) == 2 and all(reply.texts)
    assert reply.finish.finish_reasons == ("length", "length")
    assert reply.finish.usage.completion_tokens == 10


async def test_top_k_reaches_the_server_as_an_extra_field(tiny_server) -> None:
    backend = client(tiny_server)
    greedy = await collect(
        backend.stream_completion("Once upon a time", GenerationParams(max_tokens=6, do_sample=False))
    )
    # Sampling from the single most likely token is greedy decoding: only true if top_k arrived.
    top1 = await collect(
        backend.stream_completion(
            "Once upon a time", GenerationParams(max_tokens=6, temperature=1.0, top_k=1, seed=5)
        )
    )
    await backend.aclose()
    assert top1.text == greedy.text


async def test_list_models_names_the_served_model(tiny_server) -> None:
    backend = client(tiny_server)
    models = await backend.list_models()
    await backend.aclose()
    assert [m.id for m in models] == [tiny_server.model]


async def test_wrong_token_is_a_401_auth_error_without_the_key(tiny_server) -> None:
    secret = "sk-wrong-secret-0123456789"
    backend = client(tiny_server, api_key=secret)
    with pytest.raises(AuthError) as err:
        await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()
    assert "(401)" in str(err.value) and "bearer token" in str(err.value)
    assert secret not in str(err.value) and "0123456789" not in str(err.value)


async def test_no_key_for_a_custom_server_sends_a_placeholder(tiny_server) -> None:
    backend = client(tiny_server, api_key=None)
    with pytest.raises(AuthError, match=r"\(401\)"):  # the request went out; this server wants its token
        await backend.list_models()
    await backend.aclose()


async def test_prompt_longer_than_the_context_is_context_too_long(tiny_server) -> None:
    backend = client(tiny_server)
    with pytest.raises(ContextTooLong) as err:
        await collect(backend.stream_completion(" hello" * 300, GREEDY))
    await backend.aclose()
    assert "300 tokens" in str(err.value) and "context window is 256" in str(err.value)


async def test_unknown_model_is_model_not_found(tiny_server) -> None:
    backend = client(tiny_server, model="no-such-model")
    with pytest.raises(ModelNotFound, match="unknown model 'no-such-model'"):
        await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()


async def test_unreachable_server_fails_fast_with_a_clear_message() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend("m", base_url=f"http://127.0.0.1:{port}/v1", timeout=2, max_retries=0)
    start = time.perf_counter()
    with pytest.raises(Unreachable) as err:
        await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()
    assert time.perf_counter() - start < 2
    assert str(err.value).startswith(f"cannot reach http://127.0.0.1:{port}/v1")


async def test_closing_the_stream_cancels_generation_on_the_server(tiny_server) -> None:
    headers = {"Authorization": f"Bearer {tiny_server.token}"}
    health_url = tiny_server.url.removesuffix("/v1") + "/health"
    async with httpx.AsyncClient(headers=headers) as http:
        before = (await http.get(health_url)).json()
        backend = client(tiny_server)
        stream = backend.stream_completion("Tell me a long story:", GenerationParams(max_tokens=240, seed=2))
        deltas = 0
        async for event in stream:
            deltas += isinstance(event, Delta)
            if deltas == 2:
                assert (await http.get(health_url)).json()["active"] == 1
                break
        await stream.aclose()
        await backend.aclose()
        for _ in range(200):
            health = (await http.get(health_url)).json()
            if health["active"] == 0:
                break
            await asyncio.sleep(0.01)
    assert health["active"] == 0
    assert health["cancelled"] == before["cancelled"] + 1


# -- a fake upstream that rate-limits, fails and hangs --------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[SimpleNamespace]:
    """A Starlette app standing in for other servers: /rate → 429, /boom → 500, /slow → no answer for 2 s,
    /plain → a stream without usage, /midstream → an error event after the first chunk."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    hits: dict[str, int] = {}

    def error(status: int, message: str, code: str) -> JSONResponse:
        body = {"error": {"message": message, "type": "error", "code": code, "param": None}}
        return JSONResponse(body, status_code=status, headers={"retry-after-ms": "1"})

    async def endpoint(request):
        kind = request.path_params["kind"]
        hits[kind] = hits.get(kind, 0) + 1
        if kind == "slow":
            await asyncio.sleep(2)
        if kind == "rate":
            return error(429, "Rate limit reached for key sk-test-SECRETKEY123", "rate_limit_exceeded")
        if kind in ("plain", "midstream"):  # a stream without usage; or one that fails after its first chunk
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "up-1",
                "choices": [],
            }
            pieces = [{**chunk, "choices": [{"index": 0, "delta": {"content": w}}]} for w in ("Hi", " there")]
            if kind == "midstream":
                failure = {"message": "maximum context length is 8 tokens", "code": "context_length_exceeded"}
                pieces[1] = {"error": failure}
            else:
                pieces.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            body = "".join(f"data: {json.dumps(p)}\n\n" for p in pieces) + "data: [DONE]\n\n"
            return Response(body, media_type="text/event-stream")
        return error(500, "The server had an error while processing your request.", "server_error")

    app = Starlette(routes=[Route("/{kind}/v1/chat/completions", endpoint, methods=["POST"])])
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=0.5)
    )
    thread = threading.Thread(target=asyncio.run, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield SimpleNamespace(url=f"http://127.0.0.1:{sock.getsockname()[1]}", hits=hits)
    server.should_exit = True
    thread.join(timeout=10)


async def test_rate_limit_is_retried_then_reported_without_the_key(upstream) -> None:
    key = "sk-test-SECRETKEY123"
    backend = OpenAIBackend("gpt-x", api_key=key, base_url=f"{upstream.url}/rate/v1", max_retries=2)
    with pytest.raises(RateLimited) as err:
        await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()
    assert upstream.hits["rate"] == 3  # the first try and two retries (the SDK's backoff)
    assert "rate limit" in str(err.value) and "after 2 retries" in str(err.value)
    assert "SECRETKEY" not in str(err.value)


async def test_server_error_is_retried_then_reported(upstream) -> None:
    backend = OpenAIBackend("gpt-x", base_url=f"{upstream.url}/boom/v1", max_retries=1)
    with pytest.raises(BackendError) as err:
        await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()
    assert type(err.value) is BackendError
    assert upstream.hits["boom"] == 2
    assert "server error 500 (after 1 retry): The server had an error" in str(err.value)


async def test_timeout_is_unreachable_after_the_configured_seconds(upstream) -> None:
    backend = OpenAIBackend("gpt-x", base_url=f"{upstream.url}/slow/v1", timeout=0.3, max_retries=0)
    start = time.perf_counter()
    with pytest.raises(Unreachable, match=r"did not answer within 0.3 s \(no retries\)"):
        await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()
    assert time.perf_counter() - start < 2


# -- the command line with --backend openai -------------------------------------------------------------------------


def test_cli_chat_through_serve(tiny_server, monkeypatch, capsys) -> None:
    from gptbench.tui.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", tiny_server.token)
    argv = ["chat", "--backend", "openai", "--base-url", tiny_server.url, "--model", tiny_server.model]
    assert main([*argv, "--max-tokens", "3", "--greedy", "--stats", "Hello"]) == 0
    out, err = capsys.readouterr()
    assert out.strip()
    assert f"[{tiny_server.model}] finish=length ↑" in err and "↓3 " in err


def test_cli_chat_to_a_dead_server_is_one_line(isolated_dirs, capsys) -> None:
    from gptbench.tui.cli import main

    (isolated_dirs / "config").mkdir()
    (isolated_dirs / "config" / "config.toml").write_text("[openai]\nmax_retries = 0\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    assert main(["chat", "--backend", "openai", "--base-url", url, "--model", "m", "Hello"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gptbench: error: cannot reach {url}") and len(err.splitlines()) == 1


async def test_a_stream_without_usage_counts_its_pieces(upstream) -> None:
    backend = OpenAIBackend("up-1", base_url=f"{upstream.url}/plain/v1", max_retries=0)
    reply = await collect(backend.stream_chat(HELLO, GREEDY))
    await backend.aclose()
    assert reply.text == "Hi there"
    assert reply.finish.usage.completion_tokens == 2 and reply.finish.finish_reasons == ("stop",)
    assert reply.finish.model == "up-1"


async def test_an_error_event_mid_stream_is_mapped_by_its_code(upstream) -> None:
    backend = OpenAIBackend("up-1", base_url=f"{upstream.url}/midstream/v1", max_retries=0)
    received = []
    with pytest.raises(ContextTooLong, match="maximum context length is 8 tokens"):
        async for event in backend.stream_chat(HELLO, GREEDY):
            received.append(event)
    await backend.aclose()
    assert [e.text for e in received] == ["Hi"]
