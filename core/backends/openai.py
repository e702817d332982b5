"""OpenAIBackend: the OpenAI API, or any OpenAI-compatible server (vLLM, llama.cpp, Ollama, `gptbench serve`).

Built on the official `openai.AsyncOpenAI` client, imported on first use only (it costs ~0.8 s). Retries are
the SDK's own: `max_retries` attempts with exponential backoff (0.5 s doubling up to 8 s, with jitter, and the
server's Retry-After honoured) on connection errors, 408, 409, 429 and 5xx. Every SDK failure leaves this module
as one `BackendError` subclass whose message names the server and the model and never contains the key.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..chat import Message
from ..errors import (
    AuthError,
    BackendError,
    ContextTooLong,
    ModelNotFound,
    ParamError,
    RateLimited,
    Unreachable,
)
from ..params import GenerationParams
from .base import Delta, Finish, ModelInfo, StreamEvent, TokenLogprob, Usage

OFFICIAL_BASE_URL = "https://api.openai.com/v1"
#: Sent to a custom base_url when no key is configured: local servers ignore it, the SDK insists on one.
PLACEHOLDER_KEY = "no-key"
#: The official legacy completions endpoint returns at most this many alternatives per token.
LEGACY_MAX_LOGPROBS = 5


def is_official(base_url: str | None) -> bool:
    """Whether requests go to OpenAI itself (strict parameters, a key required) rather than a compatible server."""
    host = urlsplit(base_url or OFFICIAL_BASE_URL).hostname or ""
    return host == "openai.com" or host.endswith(".openai.com")


def map_params(params: GenerationParams, *, chat: bool, official: bool) -> dict[str, Any]:
    """The `create()` keyword arguments that carry `params` (pure: no client, no network).

    - max_tokens: the official chat endpoint takes `max_completion_tokens` (reasoning models refuse the old
      `max_tokens`); compatible servers and the legacy endpoint all understand `max_tokens`, while older
      llama.cpp/Ollama builds ignore `max_completion_tokens`, so a custom base_url gets `max_tokens`.
    - do_sample=False means greedy: temperature 0.
    - top_k and repetition_penalty have no OpenAI equivalent: refused for the official API, passed in the
      request body (`extra_body`) to a custom base_url, where vLLM, llama.cpp and `gptbench serve` honour them.
    - max_length counts the prompt, which the API cannot express: refused, pointing at max_tokens.
    """
    if params.max_length is not None:
        raise ParamError(
            "max_length",
            "counts the prompt too, which OpenAI-style APIs cannot honour; use max_tokens instead",
        )
    extra = {
        name: value
        for name, value in (("top_k", params.top_k), ("repetition_penalty", params.repetition_penalty))
        if value is not None
    }
    if extra and official:
        raise ParamError(
            next(iter(extra)),
            "the OpenAI API has no such knob; unset it, or use a local model or a compatible server (base_url)",
        )
    args: dict[str, Any] = {}
    if params.max_tokens is not None:
        args["max_completion_tokens" if chat and official else "max_tokens"] = params.max_tokens
    temperature = 0.0 if params.do_sample is False else params.temperature
    if temperature is not None:
        args["temperature"] = temperature
    for name in ("top_p", "frequency_penalty", "presence_penalty", "seed"):
        value = getattr(params, name)
        if value is not None:
            args[name] = value
    if params.stop:
        args["stop"] = list(params.stop)
    if params.n != 1:
        args["n"] = params.n
    if params.logprobs is not None:
        if chat:
            args["logprobs"] = True
            args["top_logprobs"] = params.logprobs
        elif official and params.logprobs > LEGACY_MAX_LOGPROBS:
            raise ParamError("logprobs", f"the OpenAI completions API returns at most {LEGACY_MAX_LOGPROBS}")
        else:
            args["logprobs"] = params.logprobs
    if extra:
        args["extra_body"] = extra
    return args


_KEYLIKE = re.compile(r"\bsk-[\w*-]+")


def redact(text: str, secret: str | None) -> str:
    """`text` with the key, and anything shaped like an OpenAI key (servers echo masked keys), blanked out."""
    if secret:
        text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "***", text)
    return _KEYLIKE.sub("sk-***", text)


def _server_message(exc: Exception) -> tuple[str, str | None, str | None]:
    """(message, code, param) from an SDK error; the body's own message rather than the SDK's wrapper."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message, getattr(exc, "code", None), getattr(exc, "param", None)


_CONTEXT = re.compile(r"context (length|window)|maximum context|too many tokens|prompt is too long", re.I)
_NO_MODEL = re.compile(r"model.*(does not exist|not found|unknown)|(unknown|no such) model", re.I)


class OpenAIBackend:
    """The Backend protocol over the OpenAI API or an OpenAI-compatible server."""

    kind = "openai"

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        self.model = model
        self.base_url = (base_url or OFFICIAL_BASE_URL).rstrip("/")
        self.official = is_official(self.base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = api_key
        self._organization = organization
        self._sdk: Any = None

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    def _client(self) -> Any:
        """The AsyncOpenAI client, made on first use; a missing key for the official API is an AuthError."""
        if self._sdk is None:
            if not self._api_key and self.official:
                from ..config import config_path

                raise AuthError(
                    f"no OpenAI API key: set OPENAI_API_KEY or [openai].api_key in {config_path()}"
                )
            import openai

            self._sdk = openai.AsyncOpenAI(
                api_key=self._api_key or PLACEHOLDER_KEY,
                base_url=self.base_url,
                organization=self._organization,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._sdk

    def error(self, exc: Exception, model: str) -> BackendError:
        """One clear, key-free BackendError for any SDK failure (status, code and message decide which)."""
        import openai

        message, code, param = _server_message(exc)
        where = urlsplit(self.base_url).netloc or self.base_url
        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.APITimeoutError):
            err: BackendError = Unreachable(
                f"{where} did not answer within {self.timeout:g} s ({self._retried()})"
            )
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f" ({cause})" if cause and str(cause) else ""
            err = Unreachable(
                f"cannot reach {self.base_url}{detail}; is the server running and the base_url right?"
            )
        elif status in (401, 403) or code == "invalid_api_key":
            err = AuthError(f"{where} refused the API key ({status}): {message}")
        elif code == "context_length_exceeded" or (status == 400 and _CONTEXT.search(message)):
            err = ContextTooLong(f"{model} at {where}: {message}")
        elif code == "model_not_found" or (status in (400, 404) and _NO_MODEL.search(message)):
            err = ModelNotFound(f"{where}: {message} (`gptbench models` lists the models there)")
        elif status == 404:
            err = BackendError(f"{self.base_url} has no such endpoint (404): is the base_url right (…/v1)?")
        elif status == 429:
            err = RateLimited(f"{where} rate limit or quota reached ({self._retried()}): {message}")
        elif status is not None and status >= 500:
            err = BackendError(f"{where} server error {status} ({self._retried()}): {message}")
        elif status is not None:
            field = f" [{param}]" if param else ""
            err = BackendError(f"{where} refused the request ({status}){field}: {message}")
            err.status = status
        else:
            err = BackendError(f"{where}: {message}")
        err.args = (redact(str(err), self._api_key),)
        return err

    def _retried(self) -> str:
        n = self.max_retries
        return "no retries" if n == 0 else f"after {n} retr{'y' if n == 1 else 'ies'}"

    async def _stream(
        self, chat: bool, params: GenerationParams, request: dict[str, Any]
    ) -> AsyncIterator[StreamEvent]:
        """Run one streaming request, turning chunks into Deltas and a final Finish; closes the HTTP stream
        when the consumer stops early or is cancelled. Like every backend, it fails (bad parameter, no key) at
        the first iteration, not when called."""
        import openai

        kwargs = {**map_params(params, chat=chat, official=self.official), **request}
        client = self._client()
        create = client.chat.completions.create if chat else client.completions.create
        model = kwargs["model"]
        n = params.n
        start = time.perf_counter()
        first: float | None = None
        reasons: dict[int, str] = {}
        usage: Usage | None = None
        chunks = 0
        try:
            stream = await create(**kwargs, stream=True, stream_options={"include_usage": True})
        except openai.OpenAIError as exc:
            raise self.error(exc, model) from None
        try:
            async for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                for choice in chunk.choices:
                    if choice.finish_reason:
                        reasons[choice.index] = choice.finish_reason
                    text, logprobs = _chat_piece(choice) if chat else _legacy_piece(choice)
                    if text or logprobs:
                        if first is None:
                            first = time.perf_counter() - start
                        chunks += 1
                        yield Delta(text, choice.index, logprobs)
        except openai.OpenAIError as exc:
            raise self.error(exc, model) from None
        finally:
            await stream.close()
        elapsed = time.perf_counter() - start
        yield Finish(
            finish_reasons=tuple(reasons.get(i, "stop") for i in range(n)),
            # A server that ignores include_usage: count streamed pieces (one token each on every known server).
            usage=usage or Usage(0, chunks),
            time_to_first_token=elapsed if first is None else first,
            elapsed=elapsed,
            model=model,
        )

    def stream_chat(
        self, messages: Sequence[Message], params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream a chat completion (`/chat/completions`)."""
        request = {"model": model or self.model, "messages": [m.to_dict() for m in messages]}
        return self._stream(True, params, request)

    def stream_completion(
        self, prompt: str, params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream a legacy text completion (`/completions`): base and legacy fine-tuned models."""
        return self._stream(False, params, {"model": model or self.model, "prompt": prompt})

    async def list_models(self) -> list[ModelInfo]:
        """The models the server offers (`/models`), with the context window where the model is a known one."""
        import openai

        from ..tokens import context_window

        try:
            return [
                ModelInfo(m.id, m.owned_by or "", context_window(m.id))
                async for m in self._client().models.list()
            ]
        except openai.OpenAIError as exc:
            raise self.error(exc, self.model) from None

    async def count_tokens(self, messages: Sequence[Message] | str, model: str | None = None) -> int:
        """Prompt tokens counted offline with the model's tiktoken encoding (OpenAI's chat rule for a message
        list); a model gptbench does not know (e.g. one on a custom server) is an InputError naming it."""
        from ..tokens import count_chat_tokens, get_tokenizer

        name = model or self.model
        if isinstance(messages, str):
            return get_tokenizer(name).count(messages)
        return count_chat_tokens(messages, name)

    async def aclose(self) -> None:
        """Close the HTTP client (its connection pool); a later call opens a new one."""
        if self._sdk is not None:
            await self._sdk.close()
            self._sdk = None


def _chat_piece(choice: Any) -> tuple[str, tuple[TokenLogprob, ...]]:
    """Text and logprobs of one chat chunk choice (`delta.content`, `logprobs.content[]`)."""
    text = (choice.delta.content if choice.delta else None) or ""
    content = choice.logprobs.content if choice.logprobs else None
    logprobs = tuple(
        TokenLogprob(c.token, c.logprob, tuple((t.token, t.logprob) for t in c.top_logprobs or ()))
        for c in content or ()
    )
    return text, logprobs


def _legacy_piece(choice: Any) -> tuple[str, tuple[TokenLogprob, ...]]:
    """Text and logprobs of one legacy completion chunk choice (`text`, parallel `logprobs` lists)."""
    lp = choice.logprobs
    if lp is None or not lp.tokens:
        return choice.text or "", ()
    tops = lp.top_logprobs or [None] * len(lp.tokens)
    logprobs = tuple(
        TokenLogprob(token, logprob, tuple(sorted((top or {}).items(), key=lambda kv: -kv[1])))
        for token, logprob, top in zip(lp.tokens, lp.token_logprobs or (), tops, strict=False)
        if logprob is not None
    )
    return choice.text or "", logprobs
