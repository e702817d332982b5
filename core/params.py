"""GenerationParams: one object for every sampling knob, validated once, mapped by each backend.

`None` means "the backend's default". Hugging Face and OpenAI spell some knobs differently; `from_dict`
accepts both spellings (max_new_tokens / max_length / max_tokens, num_return_sequences / n, stop_sequences /
stop, top_logprobs) so a seed's settings paste in as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import ParamError

#: Other spellings accepted on input, mapped to our field names.
ALIASES: dict[str, str] = {
    "max_new_tokens": "max_tokens",
    "num_return_sequences": "n",
    "stop_sequences": "stop",
    "stop_strings": "stop",
    "top_logprobs": "logprobs",
}


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    do_sample: bool | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    n: int = 1
    seed: int | None = None
    #: How many top alternatives to report per generated token (0 = the chosen token's logprob only).
    logprobs: int | None = None
    #: Hugging Face's max_length counts the prompt too; kept so a backend can turn it into max_tokens.
    max_length: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        _check_int("max_tokens", self.max_tokens, low=1)
        _check_int("max_length", self.max_length, low=1)
        _check_float("temperature", self.temperature, 0.0, 2.0)
        _check_float("top_p", self.top_p, 0.0, 1.0, low_open=True)
        _check_int("top_k", self.top_k, low=0)
        _check_float("repetition_penalty", self.repetition_penalty, 0.0, 10.0, low_open=True)
        _check_float("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        _check_float("presence_penalty", self.presence_penalty, -2.0, 2.0)
        _check_int("n", self.n, low=1, high=128)
        _check_int("seed", self.seed, low=0)
        _check_int("logprobs", self.logprobs, low=0, high=20)
        if self.do_sample is not None and not isinstance(self.do_sample, bool):
            raise ParamError("do_sample", f"expected true or false, got {self.do_sample!r}")
        if len(self.stop) > 4:
            raise ParamError("stop", "at most 4 stop sequences")
        for s in self.stop:
            if not isinstance(s, str) or not s:
                raise ParamError("stop", f"each stop sequence must be a non-empty string, got {s!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationParams:
        """Build from a dict in either spelling; unknown keys are an error naming the key."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = ALIASES.get(key, key)
            if name not in known:
                raise ParamError(key, f"unknown generation parameter (known: {', '.join(sorted(known))})")
            if value is None:
                continue
            values[name] = _coerce(name, value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The knobs that are set, JSON-ready (for the store, exports and the config file)."""
        out = {
            k: v for k, v in asdict(self).items() if v is not None and v != () and not (k == "n" and v == 1)
        }
        if "stop" in out:
            out["stop"] = list(out["stop"])
        return out

    def merged(self, **changes: Any) -> GenerationParams:
        """A copy with some knobs changed (validated again)."""
        return replace(self, **changes)

    @property
    def sampling(self) -> bool:
        """Whether tokens are sampled (else greedy): do_sample wins, then temperature 0 means greedy."""
        if self.do_sample is not None:
            return self.do_sample
        return self.temperature is None or self.temperature > 0


def _coerce(name: str, value: Any) -> Any:
    """Turn text from a form field, CLI flag or env var into the field's type, naming the field on failure."""
    if name == "stop":
        return (value,) if isinstance(value, str) else tuple(value)
    if name == "do_sample":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "yes", "1", "on"):
                return True
            if low in ("false", "no", "0", "off"):
                return False
            raise ParamError(name, f"expected true or false, got {value!r}")
        return value
    int_fields = {"max_tokens", "max_length", "top_k", "n", "seed", "logprobs"}
    try:
        if name in int_fields:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        kind = "a whole number" if name in int_fields else "a number"
        raise ParamError(name, f"expected {kind}, got {value!r}") from None


def _check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(name, f"expected a whole number, got {value!r}")
    if low is not None and value < low:
        raise ParamError(name, f"must be ≥ {low}, got {value}")
    if high is not None and value > high:
        raise ParamError(name, f"must be ≤ {high}, got {value}")


def _check_float(name: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ParamError(name, f"expected a number, got {value!r}")
    if (value <= low if low_open else value < low) or value > high:
        bracket = "(" if low_open else "["
        raise ParamError(name, f"must be in {bracket}{low:g}, {high:g}], got {value:g}")


#: Named presets offered by the parameters panel and the CLI (`--preset`).
PRESETS: dict[str, GenerationParams] = {
    "balanced": GenerationParams(temperature=0.8, top_p=0.9, repetition_penalty=1.1, do_sample=True),
    "precise": GenerationParams(temperature=0.0, do_sample=False),
    "creative": GenerationParams(temperature=1.1, top_p=0.95, repetition_penalty=1.05, do_sample=True),
    "classify": GenerationParams(temperature=0.0, max_tokens=1, logprobs=5, do_sample=False),
}


def session_defaults(backend_kind: str, configured: GenerationParams) -> GenerationParams:
    """The parameters a new session starts with: the configured ones, or, when none are configured and the
    model is local, the "balanced" preset (small local models loop when greedy and ramble at temperature 1;
    OpenAI's own defaults are already sensible, and it refuses repetition_penalty)."""
    if configured == GenerationParams() and backend_kind == "local":
        return PRESETS["balanced"]
    return configured
