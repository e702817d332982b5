"""One exception family for everything the user can get wrong or the world can break.

Each carries a one-line message fit to show as is: it names the file, line, field or model concerned and never
contains a secret. The CLI prints it and exits non-zero; the TUI shows it; `serve` returns it as an error body.
"""

from __future__ import annotations


class GptbenchError(Exception):
    """Base class: `str(err)` is the one-line message for the user."""

    #: HTTP status `gptbench serve` answers with, and a short machine-readable code.
    status: int = 400
    code: str = "invalid_request_error"


class ParamError(GptbenchError, ValueError):
    """A generation parameter has an invalid value or a backend cannot honour it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ConfigError(GptbenchError):
    """The config file or a GPTBENCH_* variable is malformed."""


class BackendError(GptbenchError):
    """A model backend failed; subclasses say why."""

    status = 500
    code = "backend_error"


class AuthError(BackendError):
    status = 401
    code = "invalid_api_key"


class ModelNotFound(BackendError):
    status = 404
    code = "model_not_found"


class ContextTooLong(BackendError):
    status = 400
    code = "context_length_exceeded"


class RateLimited(BackendError):
    status = 429
    code = "rate_limit_exceeded"


class Unreachable(BackendError):
    status = 503
    code = "server_unreachable"


class InputError(GptbenchError):
    """Bad user input (empty prompt, unreadable file, ...)."""
