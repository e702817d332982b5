"""`gptbench serve` at the HTTP level: OpenAI's response shapes, SSE framing, error bodies, token, binding.

Requests go over real HTTP to the session's tiny-GPT-2 server (conftest `tiny_server`, the real LocalBackend).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from gptbench.core.errors import ConfigError
from gptbench.core.server import check_bind, is_loopback, params_from_request
from gptbench.tui.cli import main

CHAT = {"messages": [{"role": "user", "content": "Hello there"}]}


@pytest.fixture
def http(tiny_server) -> httpx.Client:
    with httpx.Client(
        base_url=tiny_server.url, headers={"Authorization": f"Bearer {tiny_server.token}"}, timeout=60
    ) as client:
        yield client


def sse_events(text: str) -> list[str]:
    """The data of each event; asserts OpenAI's framing: every event is exactly one `data: ` line."""
    assert text.endswith("\n\n")
    events = text[:-2].split("\n\n")
    for event in events:
        assert event.startswith("data: ") and "\n" not in event, event
    return [e[len("data: ") :] for e in events]


def assert_error(response: httpx.Response, status: int, code: str, param: str | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert (error["code"], error["param"]) == (code, param)
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    assert "Traceback" not in error["message"]
    return error["message"]


def test_models_lists_the_served_model(http, tiny_server) -> None:
    body = http.get("/models").json()
    assert body["object"] == "list"
    assert [(m["id"], m["object"]) for m in body["data"]] == [(tiny_server.model, "model")]


def test_models_retrieve_through_the_sdk(tiny_server) -> None:
    import openai

    client = openai.OpenAI(base_url=tiny_server.url, api_key=tiny_server.token, max_retries=0)
    model = client.models.retrieve(tiny_server.model)  # the id is a folder path: slashes in the URL
    assert (model.id, model.object, model.owned_by) == (tiny_server.model, "model", "gptbench")
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("gpt-4o")
    assert err.value.body["code"] == "model_not_found"
    assert "unknown model 'gpt-4o'" in err.value.body["message"]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dGlueS1zZXJ2ZS10b2tlbg=="])
def test_requests_without_the_token_are_401(tiny_server, header) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in [("GET", "/models"), ("POST", "/chat/completions"), ("POST", "/completions")]:
        response = httpx.request(method, tiny_server.url + path, headers=headers, json=CHAT)
        message = assert_error(response, 401, "invalid_api_key")
        assert message.startswith("invalid or missing bearer token")
        assert tiny_server.token not in message


def test_chat_completion_shape_with_logprobs(http, tiny_server) -> None:
    body = {
        **CHAT,
        "model": tiny_server.model,
        "max_tokens": 4,
        "logprobs": True,
        "top_logprobs": 2,
        "seed": 1,
    }
    data = http.post("/chat/completions", json=body).json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == tiny_server.model and isinstance(data["created"], int)
    [choice] = data["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "length"
    assert choice["message"]["role"] == "assistant"
    content = choice["logprobs"]["content"]
    assert "".join(c["token"] for c in content) == choice["message"]["content"]
    for c in content:
        assert c["logprob"] <= 0 and c["bytes"] == list(c["token"].encode())
        assert len(c["top_logprobs"]) == 2
        assert set(c["top_logprobs"][0]) == {"token", "logprob", "bytes"}
    usage = data["usage"]
    assert usage["completion_tokens"] == 4 == len(content)
    assert usage["total_tokens"] == usage["prompt_tokens"] + 4 and usage["prompt_tokens"] > 0


def test_chat_stream_is_openai_sse_and_matches_the_whole_reply(http, tiny_server) -> None:
    body = {**CHAT, "max_tokens": 5, "temperature": 0}
    whole = http.post("/chat/completions", json=body).json()
    response = http.post(
        "/chat/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[1:-2])
    assert text == whole["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]


def test_completion_shape_with_legacy_logprobs(http) -> None:
    prompt = "The weather today is"
    data = http.post(
        "/completions", json={"prompt": prompt, "max_tokens": 3, "logprobs": 3, "seed": 4}
    ).json()
    assert data["object"] == "text_completion" and data["id"].startswith("cmpl-")
    [choice] = data["choices"]
    lp = choice["logprobs"]
    assert set(lp) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == 3
    assert "".join(lp["tokens"]) == choice["text"]
    offsets = [len(prompt)]
    for token in lp["tokens"][:-1]:
        offsets.append(offsets[-1] + len(token))
    assert lp["text_offset"] == offsets
    assert all(1 <= len(top) <= 3 for top in lp["top_logprobs"])
    assert data["usage"]["completion_tokens"] == 3


def test_completion_stream_with_n2(http) -> None:
    body = {"prompt": "Once", "max_tokens": 3, "n": 2, "seed": 9, "stream": True}
    events = sse_events(http.post("/completions", json=body).text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"text_completion"}
    finishes = [c["choices"][0] for c in chunks if c["choices"][0]["finish_reason"]]
    assert [(f["index"], f["finish_reason"]) for f in finishes] == [(0, "length"), (1, "length")]
    texts = ["", ""]
    for c in chunks:
        texts[c["choices"][0]["index"]] += c["choices"][0]["text"]
    assert all(texts)
    assert "usage" not in chunks[-1]  # not asked for


def test_extra_fields_top_k_and_repetition_penalty_are_used(http) -> None:
    greedy = {"prompt": "The list goes on and on", "max_tokens": 6, "temperature": 0}
    top1 = {**greedy, "temperature": 1.0, "top_k": 1, "repetition_penalty": 1.0, "seed": 3}
    text = http.post("/completions", json=greedy).json()["choices"][0]["text"]
    assert http.post("/completions", json=top1).json()["choices"][0]["text"] == text
    penalised = {**greedy, "repetition_penalty": 5.0}
    assert http.post("/completions", json=penalised).json()["choices"][0]["text"] != text


def test_stop_sequence_ends_the_reply_before_it(http) -> None:
    body = {"prompt": "One two three", "max_tokens": 8, "seed": 21, "temperature": 1.0}
    full = http.post("/completions", json=body).json()["choices"][0]["text"]
    stop = full[len(full) // 2 :][:3]
    cut = http.post("/completions", json={**body, "stop": [stop]}).json()["choices"][0]
    assert cut["text"] == full[: full.find(stop)]
    assert cut["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", -1, "temperature: must be in [0, 2], got -1"),
        ("top_p", 2, "top_p: must be in (0, 1], got 2"),
        ("max_tokens", 0, "max_tokens: must be ≥ 1, got 0"),
        ("n", "two", "n: expected a whole number, got 'two'"),
        ("stop", 5, "stop: expected a string or a list of strings"),
        ("logprobs", "yes", "logprobs: expected true or false, got 'yes'"),
        ("tools", [{"type": "function"}], "tools: not supported by gptbench serve"),
        ("stream", "yes", "stream: expected true or false, got 'yes'"),
    ],
)
def test_invalid_parameters_are_400_naming_the_field(http, field, value, message) -> None:
    response = http.post("/chat/completions", json={**CHAT, field: value})
    assert assert_error(response, 400, "invalid_request_error", field) == message


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/completions", {"prompt": "   "}, "the prompt is empty"),
        ("/completions", {"prompt": ["a", "b"]}, "prompt: expected a string (one prompt per request)"),
        ("/chat/completions", {"messages": []}, "messages: expected a non-empty list of {role, content}"),
        (
            "/chat/completions",
            {"messages": [{"role": "user", "content": " "}]},
            "the prompt is empty: write a message first",
        ),
        (
            "/chat/completions",
            {"messages": [{"role": "robot", "content": "hi"}]},
            "messages[0].role: expected one of system, user, assistant, got 'robot'",
        ),
        ("/chat/completions", [1, 2], "the request body must be a JSON object"),
    ],
)
def test_bad_requests_are_400_with_a_message(http, path, body, message) -> None:
    assert assert_error(http.post(path, json=body), 400, "invalid_request_error") == message


def test_invalid_json_is_400(http) -> None:
    response = http.post("/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert assert_error(response, 400, "invalid_request_error") == "the request body is not valid JSON"


def test_newer_sdk_spellings_are_accepted(http) -> None:
    body = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        ],
        "max_completion_tokens": 2,
    }
    data = http.post("/chat/completions", json=body).json()
    assert data["usage"]["completion_tokens"] == 2


def test_unknown_model_is_404(http, tiny_server) -> None:
    message = assert_error(
        http.post("/chat/completions", json={**CHAT, "model": "gpt-9"}), 404, "model_not_found"
    )
    assert message == f"unknown model 'gpt-9': this server serves {tiny_server.model!r}"


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_longer_than_the_context_is_400_before_any_stream(http, stream) -> None:
    response = http.post("/completions", json={"prompt": " hello" * 300, "stream": stream})
    message = assert_error(response, 400, "context_length_exceeded")
    assert message == "prompt is 300 tokens; the model's context window is 256"


def test_unknown_route_and_method_are_json_errors(http) -> None:
    assert assert_error(http.get("/nowhere"), 404, "not_found") == "GET /v1/nowhere: Not Found"
    assert "Method Not Allowed" in assert_error(http.get("/completions"), 405, "invalid_request_error")


def test_a_client_leaving_a_non_streaming_request_cancels_it(http, tiny_server) -> None:
    health_url = tiny_server.url.removesuffix("/v1") + "/health"
    before = http.get(health_url).json()["cancelled"]
    with pytest.raises(httpx.ReadTimeout):
        http.post("/completions", json={"prompt": "Long story:", "max_tokens": 240}, timeout=0.3)
    for _ in range(200):
        health = http.get(health_url).json()
        if health["active"] == 0 and health["cancelled"] > before:
            break
        time.sleep(0.01)
    assert (health["active"], health["cancelled"]) == (0, before + 1)


def test_health_counts_only_abandoned_generations(http, tiny_server) -> None:
    health_url = tiny_server.url.removesuffix("/v1") + "/health"
    before = http.get(health_url).json()
    http.post("/completions", json={"prompt": "Hi", "max_tokens": 2, "stream": True}).raise_for_status()
    http.post("/completions", json={"prompt": "Hi", "max_tokens": 2}).raise_for_status()
    after = http.get(health_url).json()
    assert after == {**before, "active": 0}
    assert (after["status"], after["model"]) == ("ok", tiny_server.model)


def test_request_fields_map_onto_generation_params() -> None:
    params = params_from_request(
        {"max_completion_tokens": 7, "logprobs": True, "top_logprobs": 4, "stop": "\n", "top_k": 5}, chat=True
    )
    assert (params.max_tokens, params.logprobs, params.stop, params.top_k) == (7, 4, ("\n",), 5)
    assert params_from_request({"logprobs": 2, "echo": False}, chat=False).logprobs == 2
    assert params_from_request({"logprobs": False, "top_logprobs": 4}, chat=True).logprobs is None


def test_loopback_and_binding_rules() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com"))
    check_bind("0.0.0.0", "a-token")
    with pytest.raises(ConfigError, match="refusing to serve on 0.0.0.0 without a token"):
        check_bind("0.0.0.0", None)


def test_cli_refuses_a_public_address_without_a_token(capsys) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--model", "/nonexistent"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gptbench: error: refusing to serve on 0.0.0.0 without a token")
    assert "--token" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_cli_serve_loads_prints_the_base_url_and_stops_on_ctrl_c(tiny_gpt2: Path) -> None:
    gptbench = Path(sys.executable).with_name("gptbench")
    command = [str(gptbench), "serve", "--model", str(tiny_gpt2), "--port", "0", "--device", "cpu"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GPTBENCH_SERVE_TOKEN": ""},
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("OPENAI_BASE_URL=http://127.0.0.1:"), process.stderr.read()
        url = line.strip().split("=", 1)[1]
        assert httpx.get(f"{url}/models").json()["data"][0]["id"] == str(tiny_gpt2)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"gptbench: loading {tiny_gpt2} …" in err and f"gptbench: serving {tiny_gpt2} at {url}" in err
    assert err.rstrip().endswith("gptbench: stopped")


def test_cli_serve_with_a_missing_model_is_one_line(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-model-here"
    assert main(["serve", "--model", str(missing), "--port", "0"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"gptbench: loading {missing} …", f"gptbench: error: model folder not found: {missing}"]
