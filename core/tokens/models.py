"""OpenAI model names → their encoding, context window and chat-format family.

Dated snapshots (`gpt-4o-2024-08-06`, `gpt-4-0613`), fine-tuned names (`ft:gpt-4o-mini-2024-07-18:org::id`,
legacy `davinci:ft-org-2023-01-01`) and Azure spellings (`gpt-35-turbo`) resolve to their base model. Context
windows are the total (prompt + completion) limits OpenAI documents for each model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True, slots=True)
class ModelSpec:
    encoding: str
    context_window: int | None
    #: "chat" (3 tokens per message, +1 per name, 3 for the reply), "chat-0301" (4 / −1 / 3),
    #: "completion" (no chat format: a prompt string), "embedding".
    family: str = "chat"


def _spec(encoding: str, window: int | None, family: str = "chat") -> ModelSpec:
    return ModelSpec(encoding, window, family)


#: Base model name → spec. Longest matching base wins for snapshot names (see `resolve_model`).
MODELS: dict[str, ModelSpec] = {
    # o200k_base: GPT-5, GPT-4.1, GPT-4o, the o-series reasoning models
    "gpt-5": _spec("o200k_base", 400_000),
    "gpt-5-mini": _spec("o200k_base", 400_000),
    "gpt-5-nano": _spec("o200k_base", 400_000),
    "gpt-5-chat-latest": _spec("o200k_base", 128_000),
    "gpt-4.5-preview": _spec("o200k_base", 128_000),
    "gpt-4.1": _spec("o200k_base", 1_047_576),
    "gpt-4.1-mini": _spec("o200k_base", 1_047_576),
    "gpt-4.1-nano": _spec("o200k_base", 1_047_576),
    "gpt-4o": _spec("o200k_base", 128_000),
    "gpt-4o-mini": _spec("o200k_base", 128_000),
    "chatgpt-4o-latest": _spec("o200k_base", 128_000),
    "gpt-4o-audio-preview": _spec("o200k_base", 128_000),
    "gpt-4o-realtime-preview": _spec("o200k_base", 128_000),
    "gpt-4o-search-preview": _spec("o200k_base", 128_000),
    "gpt-4o-mini-search-preview": _spec("o200k_base", 128_000),
    "o1": _spec("o200k_base", 200_000),
    "o1-pro": _spec("o200k_base", 200_000),
    "o1-preview": _spec("o200k_base", 128_000),
    "o1-mini": _spec("o200k_base", 128_000),
    "o3": _spec("o200k_base", 200_000),
    "o3-pro": _spec("o200k_base", 200_000),
    "o3-mini": _spec("o200k_base", 200_000),
    "o4-mini": _spec("o200k_base", 200_000),
    # cl100k_base: GPT-4, GPT-3.5 Turbo, the second-generation base models, embeddings
    "gpt-4": _spec("cl100k_base", 8_192),
    "gpt-4-32k": _spec("cl100k_base", 32_768),
    "gpt-4-turbo": _spec("cl100k_base", 128_000),
    "gpt-4-turbo-preview": _spec("cl100k_base", 128_000),
    "gpt-4-1106-preview": _spec("cl100k_base", 128_000),
    "gpt-4-0125-preview": _spec("cl100k_base", 128_000),
    "gpt-4-vision-preview": _spec("cl100k_base", 128_000),
    "gpt-3.5-turbo": _spec("cl100k_base", 16_385),
    "gpt-3.5-turbo-16k": _spec("cl100k_base", 16_385),
    "gpt-3.5-turbo-0613": _spec("cl100k_base", 4_096),
    "gpt-3.5-turbo-0301": _spec("cl100k_base", 4_096, "chat-0301"),
    "gpt-3.5-turbo-instruct": _spec("cl100k_base", 4_096, "completion"),
    "davinci-002": _spec("cl100k_base", 16_384, "completion"),
    "babbage-002": _spec("cl100k_base", 16_384, "completion"),
    "text-embedding-3-small": _spec("cl100k_base", 8_191, "embedding"),
    "text-embedding-3-large": _spec("cl100k_base", 8_191, "embedding"),
    "text-embedding-ada-002": _spec("cl100k_base", 8_191, "embedding"),
    # p50k: Codex and the InstructGPT-3.5 completion models
    "text-davinci-003": _spec("p50k_base", 4_097, "completion"),
    "text-davinci-002": _spec("p50k_base", 4_097, "completion"),
    "code-davinci-002": _spec("p50k_base", 8_001, "completion"),
    "code-davinci-001": _spec("p50k_base", 8_001, "completion"),
    "code-cushman-002": _spec("p50k_base", 2_048, "completion"),
    "code-cushman-001": _spec("p50k_base", 2_048, "completion"),
    "davinci-codex": _spec("p50k_base", 4_096, "completion"),
    "cushman-codex": _spec("p50k_base", 2_048, "completion"),
    "text-davinci-edit-001": _spec("p50k_edit", 3_000, "completion"),
    "code-davinci-edit-001": _spec("p50k_edit", 3_000, "completion"),
    # r50k (GPT-2 BPE): GPT-3 base models and their first instruct and embedding variants
    "davinci": _spec("r50k_base", 2_049, "completion"),
    "curie": _spec("r50k_base", 2_049, "completion"),
    "babbage": _spec("r50k_base", 2_049, "completion"),
    "ada": _spec("r50k_base", 2_049, "completion"),
    "text-davinci-001": _spec("r50k_base", 2_049, "completion"),
    "text-curie-001": _spec("r50k_base", 2_049, "completion"),
    "text-babbage-001": _spec("r50k_base", 2_049, "completion"),
    "text-ada-001": _spec("r50k_base", 2_049, "completion"),
    "text-similarity-davinci-001": _spec("r50k_base", 2_046, "embedding"),
    "text-similarity-curie-001": _spec("r50k_base", 2_046, "embedding"),
    "text-similarity-babbage-001": _spec("r50k_base", 2_046, "embedding"),
    "text-similarity-ada-001": _spec("r50k_base", 2_046, "embedding"),
    "text-search-davinci-doc-001": _spec("r50k_base", 2_046, "embedding"),
    "text-search-curie-doc-001": _spec("r50k_base", 2_046, "embedding"),
    "text-search-babbage-doc-001": _spec("r50k_base", 2_046, "embedding"),
    "text-search-ada-doc-001": _spec("r50k_base", 2_046, "embedding"),
    "code-search-babbage-code-001": _spec("r50k_base", 2_046, "embedding"),
    "code-search-ada-code-001": _spec("r50k_base", 2_046, "embedding"),
    "gpt2": _spec("gpt2", 1_024, "completion"),
    "gpt-2": _spec("gpt2", 1_024, "completion"),
}

#: A snapshot suffix: -2024-08-06, -0613, -preview-2024-09-12 is covered by longest-prefix matching.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
#: Azure deployment spelling (a prefix) and a common shorthand (exact).
_AZURE, _SHORT = ("gpt-35-turbo", "gpt-3.5-turbo"), ("gpt-3.5", "gpt-3.5-turbo")


def base_model(model: str) -> str:
    """The base model a snapshot, fine-tune or Azure name stands for (the name itself when already a base)."""
    name = model.strip()
    if name.startswith("ft:"):  # ft:gpt-4o-mini-2024-07-18:org:suffix:id
        name = name[3:].split(":", 1)[0]
    elif ":ft-" in name:  # legacy fine-tune: davinci:ft-org-2023-01-01-00-00-00
        name = name.split(":", 1)[0]
    if name.startswith(_AZURE[0]):
        name = _AZURE[1] + name[len(_AZURE[0]) :]
    if name == _SHORT[0]:
        name = _SHORT[1]
    if name in MODELS:
        return name
    stripped = _SNAPSHOT.sub("", name)
    if stripped in MODELS:
        return stripped
    # gpt-4o-2024-05-13-preview style and unknown suffixes: the longest known base followed by "-".
    prefixes = [base for base in MODELS if name.startswith(base + "-")]
    if prefixes:
        return max(prefixes, key=len)
    raise InputError(unknown_model_message(model))


def unknown_model_message(model: str) -> str:
    families = (
        "gpt-5*, gpt-4.1*, gpt-4o*, o1/o3/o4-mini*, gpt-4*, gpt-3.5-turbo*, text-embedding-*, davinci-002"
    )
    return (
        f"unknown model {model!r}: known are {families}, babbage-002, the legacy "
        "davinci/curie/babbage/ada and text-/code-davinci-00x, ft:<base>:... fine-tunes, an encoding "
        "(o200k_base, cl100k_base, p50k_base, p50k_edit, r50k_base) or hf:<folder-or-id>"
    )


def model_spec(model: str) -> ModelSpec:
    return MODELS[base_model(model)]


def encoding_for_model(model: str) -> str:
    """The tiktoken encoding name an OpenAI model uses; InputError listing what is known otherwise."""
    return model_spec(model).encoding


def context_window(model: str) -> int | None:
    """Total tokens (prompt + completion) the model accepts, or None when unknown (e.g. an hf: tokenizer)."""
    if model.startswith("hf:"):
        return None
    try:
        return model_spec(model).context_window
    except InputError:
        return None
