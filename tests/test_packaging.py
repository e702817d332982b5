"""pyproject's explicit package list covers every package folder (a plain `pip install .` needs them named)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED = {"core": "gptbench.core", "tui": "gptbench.tui", "themes": "gptbench.themes"}


def test_every_package_folder_is_listed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    found = set()
    for folder, name in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == listed


def test_console_script_points_at_cli_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["gptbench"] == "gptbench.tui.cli:main"


def test_the_wheel_holds_every_module_and_data_file(tmp_path):
    """`pip install .` (not editable) ships every module, the GPT-2 vocabulary and the stylesheet."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("gptbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, name in MAPPED.items():
        for source in (ROOT / folder).rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                packaged = "/".join([*name.split("."), *source.relative_to(ROOT / folder).parts])
                assert packaged in names, f"{packaged} missing from the wheel"
