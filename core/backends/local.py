"""The local backend: a Hugging Face causal LM run in-process with transformers + torch.

Llama-family folders (the default SmolLM2 included) run on lean_llama's decoder, everything else on the model's
transformers class (`engine = "transformers"` forces that for all).

Loading and generation run in worker threads; the async side only moves events. Each stream has a cancel flag
the decode loop checks between tokens, so cancelling the consuming task (or closing the stream, or the backend)
stops the computation within one token. A bounded hand-off keeps the worker at most `AHEAD` tokens ahead of its
consumer. One generation at a time uses a model (the others wait): two at once would only share the same cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chat import Message, check_messages
from ..errors import (
    BackendError,
    ConfigError,
    ContextTooLong,
    GptbenchError,
    InputError,
    ModelNotFound,
    ParamError,
)
from ..models import DEFAULT_MODEL_NAME, canonical_name, context_window, local_models, resolve_model
from ..params import GenerationParams
from . import local_decode
from .base import Delta, Finish, ModelInfo, StreamEvent, Usage

#: Reply length when a request sets neither max_tokens nor max_length.
DEFAULT_MAX_TOKENS = 512
#: How many undelivered events the worker may queue before it waits for the consumer.
AHEAD = 32
#: Extra stop sequences for models without a chat template (they would go on to write the user's next turn).
TRANSCRIPT_STOPS = ("\nUser:",)
_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}
_DONE = object()
ENGINES = ("auto", "transformers")

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class _Loaded:
    name: str
    folder: Path
    runner: local_decode.ModelRunner
    context_window: int
    dtype: str


class LocalBackend:
    """Backend protocol over a local model; see the module docstring for threading and cancellation."""

    kind = "local"

    def __init__(
        self,
        model: str = "smollm2",
        device: str = "auto",
        dtype: str = "auto",
        engine: str = "auto",
        ignore_eos: bool = False,
    ) -> None:
        """`engine`: "auto" (lean_llama for Llama-family models, else transformers) or "transformers" (always).
        `ignore_eos` makes every reply run to its token budget (benchmarks compare equal lengths with it)."""
        if dtype.lower() not in _DTYPES and dtype.lower() != "auto":
            raise ConfigError(
                f"local.dtype must be auto, {', '.join(sorted(set(_DTYPES.values())))}; got {dtype!r}"
            )
        if engine not in ENGINES:
            raise ConfigError(f"local.engine must be {' or '.join(ENGINES)}; got {engine!r}")
        self._engine_request = engine
        self.model = model
        self._device_request = device
        self._dtype_request = dtype.lower()
        self._ignore_eos = ignore_eos
        self._models: dict[str, _Loaded] = {}
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        #: Cancel flag → worker thread of every generation in progress.
        self._running: dict[threading.Event, threading.Thread] = {}

    # -- what the status line and the tokens pane read ------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return canonical_name(self.model) in self._models

    @property
    def device(self) -> str:
        """The device the model runs on ("cpu", "cuda:0", "mps"), or the request until loaded."""
        main = self._models.get(canonical_name(self.model))
        return str(main.runner.device) if main else self._device_request

    @property
    def dtype(self) -> str:
        main = self._models.get(canonical_name(self.model))
        return main.dtype if main else self._dtype_request

    @property
    def engine(self) -> str:
        """What runs the model: "lean" or "transformers" once loaded, the request ("auto", …) until then."""
        main = self._models.get(canonical_name(self.model))
        return main.runner.engine if main else self._engine_request

    @property
    def context_window(self) -> int:
        """Max prompt + reply tokens (0 until loaded)."""
        main = self._models.get(canonical_name(self.model))
        return main.context_window if main else 0

    @property
    def tokenizer(self) -> Any:
        """The model's Hugging Face tokenizer (None until loaded)."""
        main = self._models.get(canonical_name(self.model))
        return main.runner.tokenizer if main else None

    @property
    def forward_calls(self) -> int:
        """Forward passes run so far by every loaded model."""
        return sum(m.runner.forward_calls for m in self._models.values())

    # -- loading ----------------------------------------------------------------------------------------------
    async def load(self, progress: Progress | None = None) -> None:
        """Load the default model (converting it once if needed); later calls return at once.

        `progress` receives one-line notices (the first-time conversion); without it they go to stderr. Every
        stream loads on first use too, so calling this is only needed to load ahead of time or show progress.
        """
        await self._get(self.model, progress)

    async def _get(self, model: str | None, progress: Progress | None = None) -> _Loaded:
        name = canonical_name(model or self.model)
        loaded = self._models.get(name)
        if loaded is None:
            loaded = await asyncio.to_thread(self._load_sync, name, progress or _stderr)
        return loaded

    def _load_sync(self, name: str, progress: Progress) -> _Loaded:
        with self._load_lock:
            if name in self._models:
                return self._models[name]
            folder = resolve_model(name, progress)
            loaded = _load_folder(
                name, folder, self._device_request, self._dtype_request, self._engine_request
            )
            if self._ignore_eos:
                loaded.runner.eos_ids = frozenset()
            self._models[name] = loaded
            return loaded

    # -- the protocol -------------------------------------------------------------------------------------------
    async def stream_chat(
        self, messages: Sequence[Message], params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream an assistant reply; the prompt is the tokenizer's chat template (or a plain transcript)."""
        check_messages(messages)

        def prepare(loaded: _Loaded) -> tuple[list[int], tuple[str, ...]]:
            ids, templated = chat_ids(loaded.runner.tokenizer, messages)
            return ids, params.stop if templated else params.stop + TRANSCRIPT_STOPS

        async with contextlib.aclosing(self._stream(model, prepare, params)) as stream:
            async for event in stream:
                yield event

    async def stream_completion(
        self, prompt: str, params: GenerationParams, model: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream a raw continuation of `prompt` (no template)."""
        if not prompt:
            raise InputError("the prompt is empty")

        def prepare(loaded: _Loaded) -> tuple[list[int], tuple[str, ...]]:
            return list(loaded.runner.tokenizer(prompt)["input_ids"]), params.stop

        async with contextlib.aclosing(self._stream(model, prepare, params)) as stream:
            async for event in stream:
                yield event

    async def list_models(self) -> list[ModelInfo]:
        """The default model (and its alias `smollm2`), converted models and Hugging Face cached models."""
        found = await asyncio.to_thread(local_models)
        infos = []
        for name, folder in found:
            window = context_window(folder) if folder else None
            if name == DEFAULT_MODEL_NAME:
                infos.append(ModelInfo("smollm2", "local (default)", window))
            infos.append(ModelInfo(name, "local", window))
        return infos

    async def count_tokens(self, messages: Sequence[Message] | str, model: str | None = None) -> int:
        """Tokens as the model sees them: chat-template ids for messages, plain encoding for text."""
        tokenizer = (await self._get(model)).runner.tokenizer
        if isinstance(messages, str):
            return len(tokenizer(messages, add_special_tokens=False)["input_ids"])
        return len(chat_ids(tokenizer, messages)[0])

    async def render_chat(self, messages: Sequence[Message], model: str | None = None) -> str:
        """The exact prompt text the model is given for `messages` (for "show prompt" views)."""
        tokenizer = (await self._get(model)).runner.tokenizer
        return tokenizer.decode(chat_ids(tokenizer, messages)[0])

    async def aclose(self) -> None:
        """Cancel running generations (their streams end with finish reason "cancelled") and free the models."""
        running = list(self._running.items())
        for cancel, _ in running:
            cancel.set()
        while any(worker.is_alive() for _, worker in running):  # each stops within one token
            await asyncio.sleep(0.005)
        self._models.clear()

    # -- streaming ------------------------------------------------------------------------------------------------
    async def _stream(
        self,
        model: str | None,
        prepare: Callable[[_Loaded], tuple[list[int], tuple[str, ...]]],
        params: GenerationParams,
    ) -> AsyncIterator[StreamEvent]:
        start = time.perf_counter()
        loaded = await self._get(model)
        ids, stops = prepare(loaded)
        max_new = reply_budget(len(ids), params, loaded.context_window)
        cancel = threading.Event()
        bridge = _Bridge(asyncio.get_running_loop(), cancel)
        worker = threading.Thread(
            target=self._work,
            args=(loaded, ids, params, max_new, stops, cancel, bridge, start),
            name="gptbench-decode",
            daemon=True,
        )
        self._running[cancel] = worker
        worker.start()
        try:
            while True:
                item = await bridge.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()
            try:  # anyio callers (Starlette) may cancel this wait again: the bookkeeping must still happen
                while worker.is_alive():  # stops within one token (a prefill cannot be interrupted)
                    await asyncio.sleep(0.005)
            finally:
                self._running.pop(cancel, None)

    def _work(
        self,
        loaded: _Loaded,
        ids: list[int],
        params: GenerationParams,
        max_new: int,
        stops: tuple[str, ...],
        cancel: threading.Event,
        bridge: _Bridge,
        start: float,
    ) -> None:
        """Worker thread: wait for the model, decode, hand events over; errors become one-line messages."""
        acquired = False
        try:
            while not (acquired := self._generate_lock.acquire(timeout=0.05)):
                if cancel.is_set():
                    return

            def emit(steps: list[local_decode.Step]) -> None:
                for s in steps:
                    bridge.put(Delta(s.text, s.index, s.logprobs))

            outcome = local_decode.run(
                loaded.runner, ids, params, max_new, stops, cancel, emit, time.perf_counter
            )
            now = time.perf_counter()
            first = outcome.first_token_at or now
            bridge.put(
                Finish(
                    tuple(outcome.finish_reasons),
                    Usage(len(ids), outcome.completion_tokens),
                    time_to_first_token=first - start,
                    elapsed=now - start,
                    model=loaded.name,
                )
            )
        except GptbenchError as exc:
            bridge.put(exc)
        except Exception as exc:  # torch/transformers failures: one line, no traceback
            bridge.put(BackendError(f"{loaded.name}: generation failed: {type(exc).__name__}: {exc}"))
        finally:
            if acquired:
                self._generate_lock.release()
            bridge.done()


class _Bridge:
    """Thread → event loop hand-off with back-pressure (the worker waits when AHEAD events are undelivered)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cancel: threading.Event) -> None:
        self._loop = loop
        self._cancel = cancel
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._room = threading.Semaphore(AHEAD)

    def put(self, item: Any) -> None:
        while not self._room.acquire(timeout=0.05):
            if self._cancel.is_set():
                return  # the consumer is gone or going; drop
        self._send(item)

    def done(self) -> None:
        self._room.release()  # balances the release in get()
        self._send(_DONE)

    def _send(self, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody is listening
            self._cancel.set()

    async def get(self) -> Any:
        item = await self._queue.get()
        self._room.release()
        return item


def chat_ids(tokenizer: Any, messages: Sequence[Message]) -> tuple[list[int], bool]:
    """Prompt ids for a conversation and whether the chat template made them (else a plain transcript)."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            add_generation_prompt=True,
            tokenize=False,
        )
        return list(tokenizer(text, add_special_tokens=False)["input_ids"]), True
    return list(tokenizer(transcript(messages))["input_ids"]), False


def transcript(messages: Sequence[Message]) -> str:
    """The role-prefixed prompt for models without a chat template (GPT-2 and other base models)."""
    lines = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def reply_budget(prompt_tokens: int, params: GenerationParams, window: int) -> int:
    """How many tokens the reply may have: max_tokens, or HF's max_length minus the prompt, within the window."""
    if prompt_tokens >= window:
        raise ContextTooLong(f"prompt is {prompt_tokens} tokens; the model's context window is {window}")
    budget = params.max_tokens or DEFAULT_MAX_TOKENS
    if params.max_length is not None:
        room = params.max_length - prompt_tokens
        if room < 1:
            raise ParamError(
                "max_length", f"{params.max_length} leaves no room after the {prompt_tokens}-token prompt"
            )
        budget = min(params.max_tokens, room) if params.max_tokens else room
    return min(budget, window - prompt_tokens)


def pick_device(request: str) -> str:
    """ "auto" → cuda, then mps, then cpu; an explicit device must exist on this machine."""
    import torch

    request = request.lower()
    if request == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"local.device {request!r}: no CUDA GPU is available here (try cpu or auto)")
    if request == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("local.device 'mps': Apple MPS is not available here (try cpu or auto)")
    if request != "cpu" and not request.startswith(("cuda", "mps")):
        raise ConfigError(f"local.device must be auto, cpu, cuda, cuda:N or mps; got {request!r}")
    return request


def pick_dtype(request: str, device: str) -> str:
    """ "auto" → bf16 on CUDA (fp16 without bf16 support) and on CPUs with native bf16, fp16 on MPS, else fp32.

    On CPU, decode is memory-bound: bf16 halves the weight traffic (measured here: ~23 vs ~14 tokens/s for
    SmolLM2-135M) while greedy answers stay the same; CPUs without native bf16 would emulate it slowly.
    """
    import torch

    if request != "auto":
        return _DTYPES[request]
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "bfloat16" if torch.backends.mkldnn.is_available() and _cpu_has_bf16() else "float32"


def _cpu_has_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _load_folder(name: str, folder: Path, device_request: str, dtype_request: str, engine: str) -> _Loaded:
    """Load tokenizer and weights from a local folder (never the network).

    Llama-family models run on lean_llama (faster decode, and a load that skips transformers' model machinery)
    unless `engine` is "transformers" or the folder needs something lean_llama does not do.
    """
    import torch
    from transformers.utils import logging as hf_logging

    from . import lean_llama

    hf_logging.disable_progress_bar()
    device = pick_device(device_request)
    dtype = pick_dtype(dtype_request, device)
    lean = engine == "auto" and lean_llama.unsupported(folder) is None
    try:
        tokenizer = load_tokenizer(folder)
        if lean:
            model = lean_llama.LeanLlama.load(folder, getattr(torch, dtype), torch.device(device))
            eos_config = _eos_token_id(folder)
        else:
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(
                folder, dtype=getattr(torch, dtype), local_files_only=True
            )
            model.to(device).eval()
            eos_config = model.generation_config.eos_token_id
    except (OSError, ValueError, KeyError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFound(f"cannot load model {name!r} from {folder}: {message}") from None
    common = {
        "tokenizer": tokenizer,
        "device": torch.device(device),
        "eos_ids": frozenset({tokenizer.eos_token_id, *_as_list(eos_config)} - {None}),
    }
    if lean:
        runner: local_decode.ModelRunner = local_decode.LeanRunner(model=model, **common)
    else:
        parameters = inspect.signature(model.forward).parameters
        runner = local_decode.TransformersRunner(
            model=model,
            cache_kw="cache" if "cache" in parameters else "past_key_values",
            keeps_logits="logits_to_keep" in parameters,
            **common,
        )
    window = context_window(folder) or getattr(tokenizer, "model_max_length", 0) or 2048
    return _Loaded(name, folder, runner, window, dtype)


def load_tokenizer(folder: Path) -> Any:
    """The folder's tokenizer, by the class its tokenizer_config.json names when transformers exports it.

    AutoTokenizer reads the model's config through AutoConfig first, which imports transformers' model-loading
    machinery (torch.distributed, sympy: ≈ 0.7 s here) only to learn the class the tokenizer config already names.
    """
    import transformers

    try:
        named = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8")).get(
            "tokenizer_class"
        )
    except (OSError, ValueError):
        named = None
    # Like AutoTokenizer's use_fast=True: the "…Fast" class where one exists (transformers 4; 5 aliases them).
    names = [f"{named.removesuffix('Fast')}Fast", named] if isinstance(named, str) else []
    cls = next(
        (
            getattr(transformers, n)
            for n in names
            if hasattr(getattr(transformers, n, None), "from_pretrained")
        ),
        None,
    )
    return (cls or transformers.AutoTokenizer).from_pretrained(folder, local_files_only=True)


def _eos_token_id(folder: Path) -> Any:
    """The end-of-sequence id(s) as transformers would take them: generation_config.json, else config.json."""
    for file in ("generation_config.json", "config.json"):
        try:
            value = json.loads((folder / file).read_text(encoding="utf-8")).get("eos_token_id")
        except (OSError, ValueError):
            continue
        if value is not None:
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
