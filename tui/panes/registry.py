"""The panes of the app, in tab order: adding a pane is one `PaneSpec` line.

Factories import their pane's module only when the pane is first shown, so nothing a pane needs (tokenizers,
dataset readers) is imported on the path to the first frame.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from textual.widget import Widget

from .placeholder import ComingSoon


@dataclass(frozen=True)
class PaneSpec:
    id: str
    title: str
    #: Keys that show the pane (a Binding key string, so "f1,ctrl+1" offers both).
    keys: str
    factory: Callable[[], Widget]

    @property
    def binding_id(self) -> str:
        return f"app.pane.{self.id}"


def _pane_or_coming(module: str, name: str, title: str, plan: str) -> Callable[[], Widget]:
    """The pane class from `module` when that module exists, else the coming note."""

    def make() -> Widget:
        try:
            cls = getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise  # the pane exists but one of its own imports is missing: a real error
            return ComingSoon(title, plan)
        return cls()

    return make


def _chat() -> Widget:
    from .chat import ChatPane

    return ChatPane()


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("chat", "Chat", "f1,ctrl+1", _chat),
    PaneSpec(
        "templates",
        "Templates",
        "f2,ctrl+2",
        lambda: ComingSoon(
            "Templates",
            "- prompt templates with `{variables}`, few-shot example blocks and chain-of-thought scaffolds\n"
            "- a live preview of the rendered prompt and its token count\n"
            "- expansion over lists of values into a batch of prompts, sent to the chat backend\n"
            "- templates saved in the same SQLite store as the chat sessions",
        ),
    ),
    PaneSpec(
        "tokens",
        "Tokens",
        "f3,ctrl+3",
        _pane_or_coming(
            "gptbench.tui.panes.tokens",
            "TokensPane",
            "Tokens",
            "- count tokens of any text with tiktoken encodings and Hugging Face tokenizers\n"
            "- see each token, its id, and the chat-format overhead of a message list\n"
            "- estimate the cost of a prompt or a dataset with the price table",
        ),
    ),
    PaneSpec(
        "dataset",
        "Dataset",
        "f4,ctrl+4",
        _pane_or_coming(
            "gptbench.tui.panes.dataset",
            "DatasetPane",
            "Dataset",
            "- open JSONL / JSON / CSV / TSV / XLSX / TXT / Parquet fine-tuning data\n"
            "- validate every record against the chat fine-tuning format, with row numbers\n"
            "- fix, split and convert, always into a new file",
        ),
    ),
    PaneSpec(
        "finetune",
        "Fine-tune",
        "f5,ctrl+5",
        lambda: ComingSoon(
            "Fine-tune",
            "- start fine-tuning jobs on the OpenAI API or locally (LoRA or full) on a dataset file\n"
            "- follow the job's events and a live loss chart; local jobs keep running when the app closes\n"
            "- chat with the fine-tuned model from the Chat pane",
        ),
    ),
)
