"""Output naming, the split rule, atomic never-overwriting writes, conversions, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gptbench.core.datasets import apply_fixes, check_file, convert
from gptbench.core.datasets.split import n_train_for, split_indexes, stratified_split_indexes
from gptbench.core.datasets.writer import output_names
from gptbench.core.datasets.writer import write_jsonl as atomic_write
from gptbench.tui.cli import main
from helpers import FIXTURES, digest, pc_rows, read_jsonl, write_jsonl


def test_split_numbers() -> None:
    assert (n_train_for(30), 30 - n_train_for(30)) == (24, 6)
    assert (n_train_for(44), 44 - n_train_for(44)) == (35, 9)
    assert n_train_for(10_000) == 9_000  # the validation set stops growing at 1,000
    train, valid = split_indexes(44)
    assert sorted(train + valid) == list(range(44)) and len(valid) == 9
    assert valid == sorted(valid) and split_indexes(44) == (train, valid)
    assert split_indexes(44, seed=1) != (train, valid)
    # seed 42 gives the legacy tool's rows: pandas' sample(n, random_state=42) = RandomState(42).permutation
    import numpy as np

    assert train == list(np.random.RandomState(42).permutation(44)[:35])


def test_stratified_split_keeps_class_proportions() -> None:
    labels = ["a"] * 20 + ["b"] * 10
    train, valid = stratified_split_indexes(labels)
    assert len(train) == 24 and len(valid) == 6
    assert sorted(labels[i] for i in valid) == ["a"] * 4 + ["b"] * 2


def test_output_names_take_the_next_free_index(tmp_path: Path) -> None:
    src = tmp_path / "data.csv"
    assert output_names(src, [""]) == [tmp_path / "data_prepared.jsonl"]
    (tmp_path / "data_prepared.jsonl").write_text("")
    assert output_names(src, [""]) == [tmp_path / "data_prepared (1).jsonl"]
    (tmp_path / "data_prepared_valid.jsonl").write_text("")
    assert output_names(src, ["_train", "_valid"]) == [
        tmp_path / "data_prepared_train (1).jsonl",
        tmp_path / "data_prepared_valid (1).jsonl",
    ]


def test_writes_are_atomic_and_never_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("keep me\n")
    written = atomic_write(target, [{"a": 1}])
    assert written == tmp_path / "out (1).jsonl" and target.read_text() == "keep me\n"
    assert read_jsonl(written) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out (1).jsonl", "out.jsonl"]  # no temp file left


def test_prepare_twice_names_1_and_2(tmp_path: Path) -> None:
    rows = pc_rows(44)
    for row in rows:
        row["completion"] = row["completion"].lstrip()
    src = write_jsonl(tmp_path / "gen.jsonl", rows)
    before = digest(src)
    report = check_file(src)
    names = [apply_fixes(src, report, {"add_leading_space"}, split=True).paths for _ in range(3)]
    assert [[p.name for p in pair] for pair in names] == [
        ["gen_prepared_train.jsonl", "gen_prepared_valid.jsonl"],
        ["gen_prepared_train (1).jsonl", "gen_prepared_valid (1).jsonl"],
        ["gen_prepared_train (2).jsonl", "gen_prepared_valid (2).jsonl"],
    ]
    assert len(read_jsonl(names[0][0])) == 35 and len(read_jsonl(names[0][1])) == 9
    assert read_jsonl(names[0][1])[0]["completion"].startswith(" ")
    assert digest(src) == before


def test_chat_split_and_next_steps(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
        for i in range(30)
    ]
    src = write_jsonl(tmp_path / "c.jsonl", rows)
    report = check_file(src)
    result = apply_fixes(src, report, set(), split=True)
    assert (result.n_train, result.n_valid) == (24, 6)
    assert sorted(map(json.dumps, read_jsonl(result.paths[0]) + read_jsonl(result.paths[1]))) == sorted(
        map(json.dumps, rows)
    )
    steps = result.next_steps
    assert "openai api fine_tuning.jobs.create -F <training-file-id> -m gpt-3.5-turbo" in steps
    assert "--validation-file <validation-file-id>" in steps and "legacy CLI" in steps
    assert "gptbench finetune` is coming" in steps
    # epochs and tokens are those of the training file written: 24 examples → 100 // 24 = 4 epochs
    assert result.n_epochs == 4 and report.stats.n_epochs == 3
    assert f"24 examples × 4 epochs (OpenAI's default) = {result.trained_tokens:,} trained tokens" in steps
    assert "Estimated cost" in steps


def test_convert_both_ways(tmp_path: Path) -> None:
    pc = write_jsonl(tmp_path / "pairs.jsonl", [{"prompt": "Hi ->", "completion": " Hello"}])
    chat = convert(pc, "chat")
    assert chat.name == "pairs_chat.jsonl"
    assert read_jsonl(chat) == [
        {"messages": [{"role": "user", "content": "Hi ->"}, {"role": "assistant", "content": " Hello"}]}
    ]
    back = convert(FIXTURES / "chat_clean.jsonl", "prompt_completion", tmp_path / "back.jsonl")
    assert read_jsonl(back)[0] == {
        "prompt": "system: You are terse.\nuser: Capital of France?",
        "completion": "Paris.",
    }
    assert read_jsonl(convert(chat, "prompt_completion"))[0] == {"prompt": "Hi ->", "completion": " Hello"}


def test_cli_check_exit_codes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(FIXTURES / "pc_clean.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "OK with 1 warning(s)" in out and "Statistics" in out and "tokens per example" in out
    assert main(["data", "check", str(FIXTURES / "chat_errors.jsonl"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {
        "path",
        "format",
        "task_type",
        "model",
        "n_records",
        "blocking",
        "issues",
        "fixes",
        "stats",
    }
    assert data["blocking"] is True and data["format"] == "chat"
    assert set(data["issues"][0]) == {"check", "severity", "message", "rows", "count", "fix_id"}
    assert set(data["stats"]["distributions"]["tokens_per_example"]) == {
        "count",
        "min",
        "max",
        "mean",
        "median",
        "p10",
        "p90",
    }
    assert main(["data", "check", "/nonexistent/file.jsonl"]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["data", "check", str(FIXTURES / "pc_clean.jsonl"), "--model", "no-such-model"]) == 1
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_cli_prepare_asks_and_q_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"prompt": f"q{i}", "completion": f"c{i}.\n"} for i in range(3)]
    src = write_jsonl(tmp_path / "ask.jsonl", rows)
    answers = iter(["n", "y", ""])  # separator: no; leading space: yes; proceed: yes (Enter)
    monkeypatch.setattr("builtins.input", lambda prompt: print(prompt) or next(answers))
    assert main(["data", "prepare", str(src)]) == 0
    out = capsys.readouterr().out
    assert "- [Recommended] Add the separator ` ->`" in out and "Wrote" in out
    assert read_jsonl(tmp_path / "ask_prepared.jsonl")[0] == {"prompt": "q0", "completion": " c0.\n"}
    assert main(["data", "prepare", str(src), "-q"]) == 0
    assert read_jsonl(tmp_path / "ask_prepared (1).jsonl")[0] == {"prompt": "q0 ->", "completion": " c0.\n"}
    assert (
        main(["data", "prepare", str(FIXTURES / "chat_errors.jsonl"), "-q"]) == 1
    )  # too few examples: stuck


def test_cli_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for sub in ("check", "prepare", "convert"):
        with pytest.raises(SystemExit):
            main(["data", sub, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_cli_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "completion": "b"}])
    assert main(["data", "convert", str(src), "--to", "chat"]) == 0
    assert "p_chat.jsonl" in capsys.readouterr().out
