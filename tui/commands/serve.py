"""`gptbench serve`: share the local model with any OpenAI client over HTTP."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  gptbench serve                                 the default model on http://127.0.0.1:8000/v1
  gptbench serve --model gpt2 --port 8080
  gptbench serve --host 0.0.0.0 --token s3cret   reachable from other machines (a token is required)

then, from any OpenAI client:
  OPENAI_BASE_URL=http://127.0.0.1:8000/v1 gptbench chat --backend openai --model smollm2 "Hello"
  curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
       -d '{"model": "smollm2", "messages": [{"role": "user", "content": "Hello"}]}'
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the local model over an OpenAI-compatible HTTP API",
        description="Load a local model and answer OpenAI API requests (/v1/models, /v1/chat/completions, "
        "/v1/completions; streaming, logprobs) so any OpenAI client or SDK can use it. Binds 127.0.0.1 "
        "unless told otherwise; any other address needs a bearer token.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", help="address to bind (default: [serve].host or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [serve].port or 8000; 0 picks a free one)")
    p.add_argument("--model", help="'smollm2' (default), a Hugging Face model id or a local folder")
    p.add_argument(
        "--token", help="require this bearer token (default: GPTBENCH_SERVE_TOKEN or [serve].token)"
    )
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", help="auto (default), float32, bfloat16, float16")
    p.add_argument("--engine", help="auto (default: lean decoder for Llama-family models) or transformers")
    p.add_argument(
        "--log-level", default="info", help="uvicorn log level (default: info, one line per request)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from gptbench.core.backends import make_backend
    from gptbench.core.config import load_settings
    from gptbench.core.server import listen

    settings = load_settings()
    settings.local.device = args.device or settings.local.device
    settings.local.dtype = args.dtype or settings.local.dtype
    settings.local.engine = args.engine or settings.local.engine
    host = args.host or settings.serve.host
    port = settings.serve.port if args.port is None else args.port
    backend = make_backend(settings, "local", args.model)
    listener = listen(backend, host, port, args.token or settings.serve.token, log_level=args.log_level)
    print(f"gptbench: loading {backend.model} …", file=sys.stderr, flush=True)

    def ready(url: str) -> None:
        print(f"gptbench: serving {backend.model} at {url}", file=sys.stderr)
        print(f"OPENAI_BASE_URL={url}", flush=True)

    try:
        asyncio.run(listener.run(ready))
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: not an error
        print("gptbench: stopped", file=sys.stderr)
    return 0
