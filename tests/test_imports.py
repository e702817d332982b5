"""The engine stays importable without the TUI, and nothing heavy sits on the startup path."""

import subprocess
import sys

HEAVY = ("textual", "torch", "transformers", "openai", "tiktoken", "pyarrow", "openpyxl", "peft")


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {name.split(".")[0] for name in out.stdout.split()}


def test_core_imports_no_textual_and_nothing_heavy():
    loaded = modules_after(
        "import gptbench.core, gptbench.core.params, gptbench.core.chat, gptbench.core.config, "
        "gptbench.core.backends, gptbench.core.backends.base, gptbench.core.backends.pool"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_every_core_module_is_free_of_textual():
    """Import every module under gptbench.core (heavy libraries allowed there, Textual never)."""
    code = (
        "import pkgutil, importlib, gptbench.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'gptbench.core.'): importlib.import_module(m.name)"
    )
    assert "textual" not in modules_after(code)


def test_version_and_help_import_nothing_heavy():
    loaded = modules_after("from gptbench.tui import cli; cli.build_parser()")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
