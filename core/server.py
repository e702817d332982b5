"""`gptbench serve`: a Backend (the local model) behind an OpenAI-compatible HTTP API.

Starlette routes, sse-starlette for the event stream, uvicorn for HTTP: GET /v1/models[/{id}], POST /v1/chat/completions
and /v1/completions (streaming or not, n>1, stop, seed, logprobs; top_k and repetition_penalty as extra fields),
GET /health. Every failure is an OpenAI-style error body `{"error": {message, type, code, param}}` with the
GptbenchError's status; a client that disconnects cancels its generation. Loopback by default; any other address
needs a bearer token.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .backends.base import Backend, Finish, StreamEvent, collect
from .chat import Message, check_messages, messages_from_dicts
from .errors import AuthError, ConfigError, GptbenchError, InputError, ModelNotFound, ParamError
from .params import GenerationParams
from .server_shapes import ChatShaper, CompletionShaper, Shaper

log = logging.getLogger("gptbench.serve")
T = TypeVar("T")

#: Request field -> GenerationParams field (logprobs is handled per endpoint).
PARAM_FIELDS = {
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "repetition_penalty": "repetition_penalty",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "stop": "stop",
    "n": "n",
    "seed": "seed",
    "do_sample": "do_sample",
}
#: OpenAI fields that would change the answer's meaning and that the local model cannot honour, with the value
#: that is harmless to receive; anything else is refused rather than silently ignored.
REFUSED = {
    "tools": [],
    "functions": [],
    "tool_choice": "none",
    "response_format": {"type": "text"},
    "logit_bias": {},
    "echo": False,
    "suffix": "",
    "best_of": 1,
}


def error_body(exc: GptbenchError) -> dict[str, Any]:
    """OpenAI's error envelope for one of our errors."""
    return {
        "error": {
            "message": str(exc),
            "type": "server_error" if exc.status >= 500 else "invalid_request_error",
            "code": exc.code,
            "param": getattr(exc, "field", None),
        }
    }


def error_response(exc: GptbenchError) -> JSONResponse:
    """The error body with the error's own HTTP status."""
    return JSONResponse(error_body(exc), status_code=exc.status)


def params_from_request(body: dict[str, Any], *, chat: bool) -> GenerationParams:
    """GenerationParams from an OpenAI request body (validated; errors name the field)."""
    values = {ours: body[theirs] for theirs, ours in PARAM_FIELDS.items() if body.get(theirs) is not None}
    stop = values.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise ParamError("stop", "expected a string or a list of strings")
    logprobs = body.get("logprobs")
    if chat:
        if logprobs not in (None, True, False):
            raise ParamError("logprobs", f"expected true or false, got {logprobs!r}")
        if logprobs:
            values["logprobs"] = body.get("top_logprobs") or 0
    elif logprobs is not None:
        values["logprobs"] = logprobs
    for key, harmless in REFUSED.items():
        if body.get(key) not in (None, harmless):
            raise ParamError(key, "not supported by gptbench serve")
    return GenerationParams.from_dict(values)


def messages_from_request(body: dict[str, Any]) -> list[Message]:
    """Chat messages, accepting the SDK's newer spellings: role "developer", content as a list of text parts."""
    items = body.get("messages")
    if not isinstance(items, list) or not items:
        raise InputError("messages: expected a non-empty list of {role, content}")
    normalized = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            item = dict(item)
            if item.get("role") == "developer":
                item["role"] = "system"
            content = item.get("content")
            if isinstance(content, list):
                if not all(isinstance(p, dict) and p.get("type") == "text" for p in content):
                    raise InputError(f"messages[{i}].content: only text parts are supported")
                item["content"] = "".join(str(p.get("text", "")) for p in content)
        normalized.append(item)
    messages = messages_from_dicts(normalized)
    check_messages(messages)
    return messages


def prompt_from_request(body: dict[str, Any]) -> str:
    """The legacy endpoint's prompt: one non-blank string (a one-element list is accepted, as OpenAI does)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise InputError("prompt: expected a string (one prompt per request)")
    if not prompt.strip():
        raise InputError("the prompt is empty")
    return prompt


def stream_options(body: dict[str, Any]) -> tuple[bool, bool]:
    """(stream, include_usage) from the request."""
    stream = body.get("stream")
    if stream not in (None, True, False):
        raise ParamError("stream", f"expected true or false, got {stream!r}")
    options = body.get("stream_options")
    return bool(stream), isinstance(options, dict) and bool(options.get("include_usage"))


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise InputError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


async def _first(events: AsyncIterator[StreamEvent]) -> StreamEvent:
    """The first event, so errors raised before any text become an HTTP error instead of a broken stream."""
    try:
        return await anext(events)
    except BaseException:
        await events.aclose()
        raise


async def _disconnected(request: Request) -> None:
    """Return when the client goes away (the body has been read, so the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """Run `work`, cancelling it if the client disconnects first (None then)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (watcher, task):
            t.cancel()
        await asyncio.gather(watcher, task, return_exceptions=True)
    return None if task.cancelled() else task.result()


class Api:
    """The endpoints, bound to one backend."""

    def __init__(self, backend: Backend, token: str | None) -> None:
        self.backend = backend
        self.token = token
        #: Generations running now and generations stopped because the client left (GET /health).
        self.active = 0
        self.cancelled = 0

    def _authorize(self, request: Request) -> None:
        if self.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), self.token.encode()):
            raise AuthError("invalid or missing bearer token: send the server's token as the API key")

    def _model(self, body: dict[str, Any]) -> str:
        name = body.get("model")
        if name in (None, "", self.backend.model):
            return self.backend.model
        raise ModelNotFound(f"unknown model {name!r}: this server serves {self.backend.model!r}")

    async def _tracked(self, events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
        """`events`, counted in `active` while running and in `cancelled` when abandoned before the end."""
        self.active += 1
        finished = False
        try:
            async with aclosing(events):
                async for event in events:
                    finished = isinstance(event, Finish)
                    yield event
        except (GeneratorExit, asyncio.CancelledError):
            self.cancelled += not finished
            raise
        finally:
            self.active -= 1

    async def health(self, request: Request) -> Response:
        """GET /health: liveness plus generation counters (for monitoring and the disconnect tests)."""
        self._authorize(request)
        return JSONResponse(
            {"status": "ok", "model": self.backend.model, "active": self.active, "cancelled": self.cancelled}
        )

    async def models(self, request: Request) -> Response:
        """GET /v1/models: the one model this server runs."""
        self._authorize(request)
        return JSONResponse({"object": "list", "data": [self._model_object()]})

    async def model(self, request: Request) -> Response:
        """GET /v1/models/{id} (the SDK's `models.retrieve`): the served model, else 404 model_not_found."""
        self._authorize(request)
        self._model({"model": request.path_params["model"]})
        return JSONResponse(self._model_object())

    def _model_object(self) -> dict[str, Any]:
        return {"id": self.backend.model, "object": "model", "created": 0, "owned_by": "gptbench"}

    async def _read(self, request: Request) -> tuple[dict[str, Any], str]:
        """The authorized request's JSON body and the model it names."""
        self._authorize(request)
        body = await _json_body(request)
        return body, self._model(body)

    async def chat(self, request: Request) -> Response:
        """POST /v1/chat/completions."""
        body, model = await self._read(request)
        messages = messages_from_request(body)
        params = params_from_request(body, chat=True)
        shaper = ChatShaper(model, params.n, params.logprobs is not None)
        return await self._respond(request, body, shaper, lambda: self.backend.stream_chat(messages, params))

    async def completions(self, request: Request) -> Response:
        """POST /v1/completions (legacy text completion)."""
        body, model = await self._read(request)
        prompt = prompt_from_request(body)
        params = params_from_request(body, chat=False)
        shaper = CompletionShaper(model, params.n, params.logprobs is not None, prompt)
        return await self._respond(
            request, body, shaper, lambda: self.backend.stream_completion(prompt, params)
        )

    async def _respond(
        self,
        request: Request,
        body: dict[str, Any],
        shaper: Shaper,
        start: Callable[[], AsyncIterator[StreamEvent]],
    ) -> Response:
        """Run the generation `start` begins: one JSON response, or an event stream when asked."""
        stream, include_usage = stream_options(body)
        events = self._tracked(start())
        if not stream:
            reply = await _unless_disconnected(request, collect(events))
            return Response(status_code=499) if reply is None else JSONResponse(shaper.whole(reply))
        from sse_starlette import EventSourceResponse

        first = await _first(events)
        return EventSourceResponse(self._sse(events, first, shaper, include_usage), sep="\n")

    async def _sse(
        self, events: AsyncIterator[StreamEvent], event: StreamEvent, shaper: Shaper, include_usage: bool
    ) -> AsyncIterator[dict[str, str]]:
        """The event stream: `data: {chunk}` lines, the usage chunk if asked, then `data: [DONE]`.

        An error after the first token can only be reported in-stream, as OpenAI does: `data: {"error": …}`.
        A client disconnect cancels this generator (sse-starlette watches for it). That cancellation is anyio's,
        re-delivered until the task stops waiting, which would cut short a backend's own cleanup; so each next
        event is fetched by a task of its own behind asyncio.shield, which on a disconnect gets exactly one plain
        asyncio cancellation and is let finish its cleanup.
        """

        def data(chunk: dict[str, Any]) -> dict[str, str]:
            return {"data": json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))}

        step: asyncio.Future[StreamEvent] | None = None
        try:
            for chunk in shaper.opening():
                yield data(chunk)
            while not isinstance(event, Finish):
                yield data(shaper.delta(event))
                step = asyncio.ensure_future(anext(events))
                event = await asyncio.shield(step)
            for chunk in shaper.finish(event):
                yield data(chunk)
            if include_usage:
                yield data(shaper.usage(event))
            yield {"data": "[DONE]"}
        except GptbenchError as exc:
            yield data(error_body(exc))
        except Exception as exc:  # reported to the client as an error event, logged in full here
            log.exception("generation failed")
            yield data(error_body(GptbenchError(f"internal error: {type(exc).__name__}: {exc}")))
        finally:
            await _shielded(_settle(step, events))


async def _settle(step: asyncio.Future[Any] | None, events: AsyncIterator[StreamEvent]) -> None:
    """Cancel an interrupted step once and let it finish, then close the stream."""
    if step is not None and not step.done():
        step.cancel()
        await asyncio.wait([step])
    await events.aclose()


async def _shielded(work: Awaitable[None]) -> None:
    """Await cleanup even while the surrounding task is being cancelled (a disconnect cancels the response)."""
    import anyio

    with anyio.CancelScope(shield=True):
        await work


async def _on_gptbench_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GptbenchError)
    return error_response(exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    err = GptbenchError(f"{request.method} {request.url.path}: {exc.detail}")
    err.status, err.code = exc.status_code, "not_found" if exc.status_code == 404 else "invalid_request_error"
    return error_response(err)


async def _on_crash(request: Request, exc: Exception) -> Response:
    err = GptbenchError(f"internal error: {type(exc).__name__}: {exc}")
    err.status, err.code = 500, "server_error"
    return error_response(err)


def create_app(backend: Backend, token: str | None = None) -> Starlette:
    """The ASGI app serving `backend`; with a token, every request must send `Authorization: Bearer <token>`."""
    api = Api(backend, token)
    app = Starlette(
        routes=[
            Route("/health", api.health, methods=["GET"]),
            Route("/v1/models", api.models, methods=["GET"]),
            Route("/v1/models/{model:path}", api.model, methods=["GET"]),
            Route("/v1/chat/completions", api.chat, methods=["POST"]),
            Route("/v1/completions", api.completions, methods=["POST"]),
        ],
        exception_handlers={
            GptbenchError: _on_gptbench_error,
            HTTPException: _on_http_error,
            Exception: _on_crash,
        },
    )
    app.state.api = api
    return app


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (names other than localhost are not resolved: not loopback)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose the model beyond this machine without a token."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without a token: anyone who can reach it could use the model; "
            "pass --token (or set GPTBENCH_SERVE_TOKEN / [serve].token), or bind 127.0.0.1"
        )


@dataclass
class Listener:
    """A bound socket and the uvicorn server that will answer on it."""

    backend: Backend
    server: Any
    sock: socket.socket

    @property
    def url(self) -> str:
        """The base URL a client uses (OPENAI_BASE_URL)."""
        host, port = self.sock.getsockname()[:2]
        if ipaddress.ip_address(host).is_unspecified:
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/v1"

    async def run(self, ready: Callable[[str], None] | None = None) -> None:
        """Load the model (one warm-up token), announce the URL, serve until stopped, then close the backend."""
        try:
            await collect(self.backend.stream_completion("Hello", GenerationParams(max_tokens=1)))
            if ready is not None:
                ready(self.url)
            await self.server.serve(sockets=[self.sock])
        finally:
            self.sock.close()
            await self.backend.aclose()

    def stop(self) -> None:
        """Ask uvicorn to shut down (thread-safe: it polls the flag)."""
        self.server.should_exit = True


def listen(
    backend: Backend,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    log_level: str = "warning",
) -> Listener:
    """Bind host:port (port 0 picks a free one) for `backend`; refuses a non-loopback host without a token."""
    import uvicorn

    check_bind(host, token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    config = uvicorn.Config(
        create_app(backend, token), log_level=log_level, lifespan="off", timeout_graceful_shutdown=3
    )
    return Listener(backend, uvicorn.Server(config), sock)
