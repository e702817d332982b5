"""BackendPool: one live backend per (kind, model, base_url), shared by every pane and session.

Loading a local model takes seconds and gigabytes, so sessions that use the same model share one instance; compare
mode asks for two. Tests inject a `factory` to use the tiny GPT-2 or a scripted backend.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from . import make_backend
from .base import Backend

Factory = Callable[[Settings, str | None, str | None, str | None], Backend]


class BackendPool:
    def __init__(self, settings: Settings, factory: Factory = make_backend) -> None:
        self.settings = settings
        self._factory = factory
        self._backends: dict[tuple[str, str, str | None], Backend] = {}

    def key(self, kind: str | None = None, model: str | None = None, base_url: str | None = None) -> tuple:
        kind = kind or self.settings.backend
        default = self.settings.model if kind == self.settings.backend else None
        fallback = "smollm2" if kind == "local" else "gpt-4o-mini"
        return (
            kind,
            model or default or fallback,
            base_url or (self.settings.openai.base_url if kind == "openai" else None),
        )

    def get(self, kind: str | None = None, model: str | None = None, base_url: str | None = None) -> Backend:
        """The shared backend for this kind and model, created (not loaded) on first use."""
        key = self.key(kind, model, base_url)
        if key not in self._backends:
            self._backends[key] = self._factory(self.settings, *key)
        return self._backends[key]

    def live(self) -> list[Backend]:
        return list(self._backends.values())

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
