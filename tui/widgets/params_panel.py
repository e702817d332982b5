"""ParamsPanel: every GenerationParams knob in a narrow side panel, validated as you type.

Each field is checked on its own with `GenerationParams.from_dict`, so the error names the field and sits right
under it; the panel posts `ParamsPanel.Changed` only when every field is valid. Knobs the current backend kind
cannot honour are marked, not hidden: the value is kept for when the session goes back to a backend that can.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from ...core.errors import ParamError
from ...core.params import PRESETS, GenerationParams

#: (field, label) in panel order; labels are short so a row fits a ~36-column side panel.
KNOBS: tuple[tuple[str, str], ...] = (
    ("max_tokens", "max tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("top_k", "top_k"),
    ("repetition_penalty", "rep. penalty"),
    ("frequency_penalty", "freq. penalty"),
    ("presence_penalty", "pres. penalty"),
    ("stop", "stop"),
    ("n", "n"),
    ("seed", "seed"),
    ("logprobs", "logprobs"),
    ("max_length", "max length"),
)

#: A harmless value per knob, used to ask a backend's parameter mapping which knobs it refuses.
_PROBES: dict[str, Any] = {
    "max_tokens": 1,
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 1,
    "repetition_penalty": 1.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "stop": ("x",),
    "n": 2,
    "seed": 1,
    "logprobs": 1,
    "max_length": 1,
}

#: do_sample is three-state: unset lets temperature decide (0 = greedy), which a checkbox cannot show.
DO_SAMPLE_OPTIONS: tuple[tuple[str, bool | None], ...] = (
    ("auto (temperature)", None),
    ("sample", True),
    ("greedy", False),
)
_DO_SAMPLE_KEYS = {None: "auto", True: "sample", False: "greedy"}

_ESCAPES = {"n": "\n", "t": "\t", "s": " ", ",": ",", "\\": "\\"}


def parse_stop(text: str) -> tuple[str, ...]:
    """Split a stop field on unescaped commas; `\\n`, `\\t`, `\\s` (space), `\\,` and `\\\\` are escapes.

    Plain spaces around an item are trimmed (write `\\s` for a space that matters).
    """
    items: list[str] = []
    current: list[str] = []
    edge: list[bool] = []  # per char: True if it came from an escape (never trimmed)
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt is None or nxt not in _ESCAPES:
                shown = "\\" if nxt is None else "\\" + nxt
                raise ParamError("stop", f"unknown escape {shown!r} (use \\n, \\t, \\s, \\, or \\\\)")
            current.append(_ESCAPES[nxt])
            edge.append(True)
        elif ch == ",":
            items.append(_trim(current, edge))
            current, edge = [], []
        else:
            current.append(ch)
            edge.append(False)
    items.append(_trim(current, edge))
    if len(items) == 1 and not items[0]:
        return ()
    for i, item in enumerate(items, 1):
        if not item:
            raise ParamError("stop", f"stop sequence {i} is empty")
    return tuple(items)


def _trim(chars: list[str], escaped: list[bool]) -> str:
    start, end = 0, len(chars)
    while start < end and not escaped[start] and chars[start].isspace():
        start += 1
    while end > start and not escaped[end - 1] and chars[end - 1].isspace():
        end -= 1
    return "".join(chars[start:end])


def format_stop(stop: tuple[str, ...]) -> str:
    """The inverse of `parse_stop`: stop sequences as one editable line."""

    def one(s: str) -> str:
        body = s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace(",", "\\,")
        lead = len(body) - len(body.lstrip(" "))
        trail = len(body) - len(body.rstrip(" "))
        if lead == len(body):
            return "\\s" * len(body)
        return "\\s" * lead + body.strip(" ") + "\\s" * trail

    return ", ".join(one(s) for s in stop)


def unhonoured(kind: str, base_url: str | None = None) -> dict[str, str]:
    """Knob -> why the backend refuses it, asked of the backend's own mapping (OpenAI: top_k, repetition_penalty,
    max_length on the official API; a compatible server at base_url passes top_k/repetition_penalty through)."""
    if kind != "openai":
        return {}
    from ...core.backends.openai import is_official, map_params

    official = is_official(base_url)
    refused: dict[str, str] = {}
    for name, value in _PROBES.items():
        try:
            map_params(GenerationParams(**{name: value}), chat=True, official=official)
        except ParamError as err:
            refused[name] = str(err)
    return refused


def field_text(params: GenerationParams, name: str) -> str:
    """What the field for `name` shows for these params (empty = backend default)."""
    value = getattr(params, name)
    if name == "stop":
        return format_stop(value)
    if name == "n":
        return "" if value == 1 else str(value)
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def check_field(name: str, text: str) -> Any:
    """The typed value of one field, or ParamError naming it."""
    if name == "stop":
        return GenerationParams(stop=parse_stop(text)).stop
    text = text.strip()
    if not text:
        return None
    return getattr(GenerationParams.from_dict({name: text}), name)


class ParamsPanel(VerticalScroll):
    """Edit one GenerationParams: a preset picker, one row per knob, errors under the field they concern."""

    DEFAULT_CSS = """
    ParamsPanel { width: 36; height: 1fr; padding: 0 1 0 0; }
    ParamsPanel .knob { height: 1; }
    ParamsPanel .knob-label { width: 14; height: 1; }
    ParamsPanel .knob-label.-unhonoured { color: $text-muted; text-style: strike; }
    ParamsPanel .knob Input { width: 1fr; }
    ParamsPanel .knob Select { width: 1fr; }
    ParamsPanel .knob-error { color: $error; height: auto; display: none; }
    ParamsPanel .knob-error.-shown { display: block; }
    ParamsPanel #params-note { color: $text-muted; height: auto; margin-top: 1; }
    """

    class Changed(Message):
        """The panel holds a new valid set of parameters."""

        def __init__(self, panel: ParamsPanel, params: GenerationParams) -> None:
            super().__init__()
            self.panel = panel
            self.params = params

        @property
        def control(self) -> ParamsPanel:
            return self.panel

    def __init__(
        self,
        params: GenerationParams | None = None,
        backend_kind: str = "local",
        *,
        base_url: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._params = params or GenerationParams()
        self._backend_kind = backend_kind
        self._base_url = base_url
        self._errors: dict[str, str] = {}

    @property
    def params(self) -> GenerationParams:
        """The last valid parameters (what the session should use)."""
        return self._params

    @property
    def errors(self) -> dict[str, str]:
        """Field -> message for every field that is currently invalid."""
        return dict(self._errors)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="knob", id="params-preset"):
            yield Label("preset", classes="knob-label")
            yield Select(
                [(name, name) for name in PRESETS],
                prompt="choose…",
                id="param-preset",
                compact=True,
            )
        with Horizontal(classes="knob"):
            yield Label("do_sample", classes="knob-label", id="label-do_sample")
            yield Select(
                [(label, _DO_SAMPLE_KEYS[value]) for label, value in DO_SAMPLE_OPTIONS],
                value=_DO_SAMPLE_KEYS[self._params.do_sample],
                allow_blank=False,
                id="param-do_sample",
                compact=True,
            )
        for name, label in KNOBS:
            with Horizontal(classes="knob"):
                yield Label(label, classes="knob-label", id=f"label-{name}")
                yield Input(
                    field_text(self._params, name),
                    placeholder="default",
                    id=f"param-{name}",
                    compact=True,
                    select_on_focus=False,
                )
            yield Static("", classes="knob-error", id=f"error-{name}", markup=False)
        yield Static("", id="params-note", markup=False)

    def on_mount(self) -> None:
        self._mark_unhonoured()

    def set_params(self, params: GenerationParams) -> None:
        """Show another set of parameters (e.g. on session switch) without posting Changed."""
        self._params = params
        self._fill(params)

    def set_backend_kind(self, kind: str, base_url: str | None = None) -> None:
        """Re-mark the knobs the new backend (kind, and base_url for OpenAI-compatible servers) cannot honour."""
        self._backend_kind = kind
        self._base_url = base_url
        self._mark_unhonoured()

    def _fill(self, params: GenerationParams) -> None:
        for name, _ in KNOBS:
            self.query_one(f"#param-{name}", Input).value = field_text(params, name)
        self.query_one("#param-do_sample", Select).value = _DO_SAMPLE_KEYS[params.do_sample]

    def _mark_unhonoured(self) -> None:
        ignored = unhonoured(self._backend_kind, self._base_url)
        for name, label in (*KNOBS, ("do_sample", "do_sample")):
            widget = self.query_one(f"#label-{name}", Label)
            widget.set_class(name in ignored, "-unhonoured")
            widget.update(f"{label}*" if name in ignored else label)
            widget.tooltip = ignored.get(name)
        note = self.query_one("#params-note", Static)
        note.update(
            f"* not supported by the {self._backend_kind} backend: {', '.join(ignored)}" if ignored else ""
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "param-preset":
            if event.value in PRESETS:
                preset = PRESETS[event.value]
                self._params = preset
                self._fill(preset)
                self._clear_errors()
                self.post_message(self.Changed(self, preset))
            return
        self._revalidate()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._revalidate()

    def _clear_errors(self) -> None:
        for name in list(self._errors):
            self._show_error(name, "")
        self._errors.clear()

    def _revalidate(self) -> None:
        values: dict[str, Any] = {}
        for name, _ in KNOBS:
            try:
                value = check_field(name, self.query_one(f"#param-{name}", Input).value)
            except ParamError as err:
                self._errors[name] = str(err)
                self._show_error(name, str(err))
                continue
            self._errors.pop(name, None)
            self._show_error(name, "")
            if value is not None:
                values[name] = value
        choice = self.query_one("#param-do_sample", Select).value
        sample = {key: value for value, key in _DO_SAMPLE_KEYS.items()}.get(choice)
        if sample is not None:
            values["do_sample"] = sample
        if self._errors:
            return
        params = GenerationParams(**values)
        if params != self._params:
            self._params = params
            preset = self.query_one("#param-preset", Select)
            if preset.value in PRESETS and PRESETS[preset.value] != params:
                preset.clear()  # edited away from the preset: stop claiming it
            self.post_message(self.Changed(self, params))

    def _show_error(self, name: str, message: str) -> None:
        error = self.query_one(f"#error-{name}", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")
        self.query_one(f"#param-{name}", Input).set_class(bool(message), "-invalid")
