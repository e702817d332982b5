"""Model backends: one async protocol (base.py), a local (transformers) and an OpenAI implementation.

`make_backend` picks one from the settings; the heavy modules are imported only here, on demand.
"""

from __future__ import annotations

from ..config import Settings
from .base import Backend


def make_backend(
    settings: Settings, kind: str | None = None, model: str | None = None, base_url: str | None = None
) -> Backend:
    """The backend the settings (or the overrides) name; nothing is loaded or connected yet."""
    kind = kind or settings.backend
    if kind == "local":
        from .local import LocalBackend

        return LocalBackend(
            model or (settings.model if settings.backend == "local" else None) or "smollm2",
            device=settings.local.device,
            dtype=settings.local.dtype,
            engine=settings.local.engine,
        )
    if kind == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend(
            model=model or (settings.model if settings.backend == "openai" else None) or "gpt-4o-mini",
            api_key=settings.openai.api_key,
            base_url=base_url or settings.openai.base_url,
            organization=settings.openai.organization,
            timeout=settings.openai.timeout,
            max_retries=settings.openai.max_retries,
        )
    from ..errors import ConfigError

    raise ConfigError(f"backend must be 'local' or 'openai', got {kind!r}")
