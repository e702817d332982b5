"""Reference B (the cookbook's chat checks): error categories, missing roles, distributions, limits, epochs, cost."""

from __future__ import annotations

import json
from pathlib import Path

from gptbench.core.datasets import apply_fixes, check_file, preview_fix
from gptbench.core.datasets.stats import default_epochs
from gptbench.core.tokens import get_tokenizer
from helpers import FIXTURES, checks, read_jsonl, write_jsonl


def chat(user: str, answer: str, system: str | None = "Be brief.") -> dict:
    messages = [{"role": "system", "content": system}] if system else []
    return {
        "messages": messages + [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    }


def test_every_error_category_with_its_rows() -> None:
    report = check_file(FIXTURES / "chat_errors.jsonl")
    assert report.format == "chat" and report.blocking
    found = checks(report)
    expected = {
        "format:data_type": [1],
        "format:missing_messages_list": [2, 10],
        "format:message_missing_key": [3],
        "format:message_unrecognized_key": [4],
        "format:unrecognized_role": [5],
        "format:missing_content": [3, 6],
        "format:example_missing_assistant_message": [7],
        "format:invalid_json": [11],
        "mixed_formats": [10],
        "missing_system": [8],
        "missing_user": [9],
    }
    for check, rows in expected.items():
        assert found[check].rows == rows, check
    assert all(found[c].severity == "error" for c in expected if c.startswith("format:"))
    assert found["missing_system"].severity == "warning" and found["missing_user"].severity == "warning"
    assert report.stats.n_examples == 2
    assert report.fix("drop_invalid").necessary


def test_clean_chat_has_no_format_errors_and_exact_counts() -> None:
    report = check_file(FIXTURES / "chat_clean.jsonl")
    assert not [i for i in report.issues if i.check.startswith("format:")]
    enc = get_tokenizer("gpt-3.5-turbo")
    first = json.loads((FIXTURES / "chat_clean.jsonl").read_text().splitlines()[0])["messages"]
    expected = 3 + sum(3 + enc.count(m["role"]) + enc.count(m["content"]) for m in first)
    dist = report.stats.distributions
    assert dist["tokens_per_example"].values[0] == expected
    assert dist["messages_per_example"].min == dist["messages_per_example"].max == 3
    assert dist["assistant_tokens_per_example"].values[0] == enc.count("Paris.")


def test_five_examples_train_20_epochs_and_cost() -> None:
    report = check_file(FIXTURES / "chat_clean.jsonl")
    stats = report.stats
    assert stats.n_examples == 5 and stats.n_epochs == 20
    assert stats.billed_tokens == int(stats.distributions["tokens_per_example"].values.sum())
    assert stats.trained_tokens == 20 * stats.billed_tokens
    assert stats.estimated_cost == stats.trained_tokens * 8.00 / 1_000_000  # gpt-3.5-turbo training rate
    # the API needs 10 examples: 5 is an error that blocks fine-tuning
    assert checks(report)["count"].severity == "error" and report.blocking


def test_epoch_rule_branches() -> None:
    assert default_epochs(5) == 20
    assert default_epochs(3) == 25  # min(25, 100 // 3 = 33)
    assert default_epochs(100) == 3
    assert default_epochs(8_333) == 3  # 24,999 ≤ 25,000
    assert default_epochs(10_000) == 2  # 30,000 > 25,000 → 25,000 // 10,000
    assert default_epochs(30_000) == 1  # max(1, 0)


def test_distributions_are_exact_percentiles(tmp_path: Path) -> None:
    rows = [chat("q " * (i + 1), "a", system=None) for i in range(20)]
    report = check_file(write_jsonl(tmp_path / "d.jsonl", rows))
    d = report.stats.distributions["tokens_per_example"]
    import numpy as np

    values = np.asarray(d.values)
    assert (d.min, d.max) == (values.min(), values.max())
    assert d.median == float(np.median(values)) and d.p10 == float(np.quantile(values, 0.1))
    assert d.p90 == float(np.quantile(values, 0.9)) and sum(c for _, _, c in d.histogram(5)) == 20
    assert checks(report)["missing_system"].count == 20


def test_over_limit_counted_and_dropped(tmp_path: Path) -> None:
    rows = [chat(f"question {i}", f"answer {i}") for i in range(12)]
    rows[4] = chat("word " * 17_000, "too long")
    src = write_jsonl(tmp_path / "long.jsonl", rows)
    report = check_file(src)
    found = checks(report)
    assert found["over_limit"].rows == [5] and report.stats.n_over_limit == 1
    assert "16,385-token limit of gpt-3.5-turbo" in found["over_limit"].message
    assert report.stats.billed_tokens < int(report.stats.distributions["tokens_per_example"].values.sum())
    assert not report.blocking
    result = apply_fixes(src, report, {"drop_over_limit"}, out_dir=tmp_path / "out")
    assert len(read_jsonl(result.paths[0])) == 11
    mini = check_file(src, "gpt-4o-mini")
    assert mini.stats.token_limit == 65_536 and "over_limit" not in checks(mini)


def test_duplicates_and_drop_invalid_written(tmp_path: Path) -> None:
    rows = [chat(f"q{i}", f"a{i}") for i in range(11)]
    lines = [json.dumps(r) for r in rows] + [json.dumps(rows[0]), "{broken"]
    src = tmp_path / "dup.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = check_file(src)
    assert checks(report)["duplicates"].rows == [12]
    assert preview_fix(src, report, "drop_duplicates") == [(12, rows[0], {})]
    assert preview_fix(src, report, "drop_invalid")[0][0] == 13
    result = apply_fixes(src, report, {"drop_duplicates"}, out_dir=tmp_path / "out")
    assert read_jsonl(result.paths[0]) == rows
    assert result.paths[0].name == "dup_prepared.jsonl"


def test_parallel_scan_matches_the_serial_scan(tmp_path: Path) -> None:
    rows = [chat(f"question number {i} " * (1 + i % 7), f"answer {i} " * (1 + i % 5)) for i in range(6000)]
    rows[1234] = {"messages": [{"role": "user", "content": "no answer"}]}
    src = write_jsonl(tmp_path / "par.jsonl", rows + [rows[10]])
    serial = check_file(src, workers=1)
    parallel = check_file(src, workers=2)
    assert serial.to_dict() | {"seconds": 0} == parallel.to_dict() | {"seconds": 0}
    assert checks(parallel)["format:example_missing_assistant_message"].rows == [1235]
    assert checks(parallel)["duplicates"].rows == [6001]
    assert list(parallel.stats.distributions["tokens_per_example"].values) == list(
        serial.stats.distributions["tokens_per_example"].values
    )


def test_chat_in_parquet_and_json_array(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [chat(f"q{i}", f"a{i}") for i in range(10)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "c.parquet")
    (tmp_path / "c.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    for name in ("c.parquet", "c.json"):
        report = check_file(tmp_path / name)
        assert report.format == "chat" and report.stats.n_examples == 10 and not report.blocking, name


def test_progress_and_cancel(tmp_path: Path) -> None:
    import threading

    import pytest
    from gptbench.core.datasets import CheckCancelled, check_records, read_records

    src = write_jsonl(tmp_path / "p.jsonl", [chat(f"q{i}", f"a{i}") for i in range(50)])
    seen: list[tuple[int, int]] = []
    check_file(src, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (src.stat().st_size, src.stat().st_size)
    cancel = threading.Event()
    cancel.set()
    for workers in (1, 2):
        with pytest.raises(CheckCancelled):
            check_file(src, cancel=cancel, workers=workers)
    pc = write_jsonl(
        tmp_path / "pc.csv.jsonl", [{"prompt": f"p{i} ->", "completion": f" c{i}.\n"} for i in range(5)]
    )
    with pytest.raises(CheckCancelled):
        check_file(pc, cancel=cancel)
    same = check_records(read_records(src))
    assert same.to_dict()["stats"] == check_file(src).to_dict()["stats"]


def test_local_model_and_encoding_targets(tmp_path: Path, tiny_gpt2: Path) -> None:
    rows = [chat(f"question {i}", f"answer {i}") for i in range(12)]
    src = write_jsonl(tmp_path / "local.jsonl", rows)
    local = check_file(src, f"hf:{tiny_gpt2}")
    assert local.stats.token_limit == 256  # the model's n_positions
    assert local.stats.estimated_cost is None
    assert "no fine-tuning price known" in local.stats.cost_note
    assert local.stats.distributions["tokens_per_example"].min > 0
    by_encoding = check_file(src, "o200k_base")
    assert by_encoding.stats.token_limit == 16_385 and not by_encoding.blocking
