"""Reference A (the legacy prepare_data tool): each check triggered and not triggered, its verdict, fix and output."""

from __future__ import annotations

from pathlib import Path

import pytest
from gptbench.core.datasets import apply_fixes, check_file, preview_fix
from gptbench.core.datasets.checks_legacy import choose_ending, choose_separator
from helpers import FIXTURES, checks, digest, fix_ids, pc_rows, read_jsonl, write_jsonl


def prepare(path: Path, accept: set[str] | None = None, **kw: object):  # noqa: ANN201
    report = check_file(path)
    accepted = {f.id for f in report.fixes} if accept is None else accept
    return report, apply_fixes(path, report, accepted, **kw)


def test_clean_file_needs_nothing_and_writes_nothing(tmp_path: Path) -> None:
    src = FIXTURES / "pc_clean.jsonl"
    report = check_file(src)
    assert report.format == "prompt_completion" and report.task_type == "conditional generation"
    assert not report.blocking and report.fixes == []
    assert {i.check for i in report.issues} == {"count", "prompt_suffix", "completion_suffix"}
    assert report.stop_sequence == ".\n"
    result = apply_fixes(src, report, set(), out_dir=tmp_path)
    assert result.paths == [src] and list(tmp_path.iterdir()) == []
    assert "as it is" in result.next_steps and 'stop=[".\\n"]' in result.next_steps


def test_count_under_and_over_100(tmp_path: Path) -> None:
    few = check_file(write_jsonl(tmp_path / "few.jsonl", pc_rows(99)))
    assert checks(few)["count"].severity == "warning" and "a few hundred" in checks(few)["count"].message
    many = check_file(write_jsonl(tmp_path / "many.jsonl", pc_rows(100)))
    assert checks(many)["count"].severity == "info"


def test_column_case_and_extra_columns_are_necessary_fixes(tmp_path: Path) -> None:
    src = tmp_path / "cols.csv"
    src.write_text("Prompt,completion,id\nA ->, x1.,1\nB ->, x2.,2\nC ->, x3.,3\n", encoding="utf-8")
    report, result = prepare(src, accept=set())
    assert {"lowercase_columns", "drop_extra_columns"} <= {f.id for f in report.fixes if f.necessary}
    assert "extra ones are: id" in checks(report)["extra_columns"].message
    assert preview_fix(src, report, "drop_extra_columns", limit=1) == [
        (2, {"Prompt": "A ->", "completion": " x1.", "id": "1"}, {"prompt": "A ->", "completion": " x1."})
    ]
    assert preview_fix(src, report, "lowercase_columns", limit=1)[0][2] == {
        "prompt": "A ->",
        "completion": " x1.",
        "id": "1",
    }
    assert read_jsonl(result.paths[0]) == [
        {"prompt": "A ->", "completion": " x1."},
        {"prompt": "B ->", "completion": " x2."},
        {"prompt": "C ->", "completion": " x3."},
    ]
    clean = check_file(write_jsonl(tmp_path / "ok.jsonl", pc_rows(3)))
    assert "columns" not in checks(clean) and "extra_columns" not in checks(clean)


def test_missing_column_is_a_blocking_error(tmp_path: Path) -> None:
    src = tmp_path / "qa.csv"
    src.write_text("question,answer\nq1,a1\nq2,a2\n", encoding="utf-8")
    report = check_file(src)
    assert report.blocking
    messages = [i.message for i in report.issues if i.check == "columns"]
    assert any("`prompt` column/key is missing" in m for m in messages)
    with pytest.raises(Exception, match="missing"):
        apply_fixes(src, report, set())


def test_empty_completions_are_removed(tmp_path: Path) -> None:
    rows = pc_rows(4)
    rows[1]["completion"] = ""
    rows[3]["completion"] = None
    report, result = prepare(write_jsonl(tmp_path / "e.jsonl", rows), accept=set())
    assert checks(report)["empty_completions"].rows == [2, 4]
    assert report.fix("drop_empty_completions").necessary
    assert [r["prompt"] for r in read_jsonl(result.paths[0])] == ["Item 0 ->", "Item 2 ->"]
    assert "empty_completions" not in checks(check_file(write_jsonl(tmp_path / "ok.jsonl", pc_rows(3))))


def test_classification_advice_class_counts_single_tokens_and_split(tmp_path: Path) -> None:
    rows = [
        {
            "prompt": f"Review {i}: it was {'great' if i % 3 else 'awful'} ->",
            "completion": " positive" if i % 3 else " negative",
        }
        for i in range(30)
    ]
    rows[5]["completion"] = " very negative"
    src = write_jsonl(tmp_path / "cls.jsonl", rows)
    report = check_file(src)
    assert report.task_type == "classification"
    found = checks(report)
    assert (
        "small, fast model" in found["classification"].message
        and "held-out" in found["classification"].message
    )
    assert report.stats.class_counts == {" positive": 19, " negative": 10, " very negative": 1}
    assert "fewer than 100 examples" in found["class_counts"].message
    assert "' very negative' (2 tokens)" in found["class_tokens"].message
    assert "completion_suffix" not in found  # skipped for classification
    assert report.stop_sequence is None  # no "tive"-style stop from a shared word ending
    result = apply_fixes(src, report, set(), split=True, out_dir=tmp_path)
    assert [p.name for p in result.paths] == ["cls_prepared_train.jsonl", "cls_prepared_valid.jsonl"]
    assert (result.n_train, result.n_valid) == (24, 6)
    assert "--classification_n_classes 3" in result.next_steps and "max_tokens=1" in result.next_steps
    train, valid = read_jsonl(result.paths[0]), read_jsonl(result.paths[1])
    assert sorted(r["prompt"] for r in train + valid) == sorted(r["prompt"] for r in rows)
    assert "classification" not in checks(check_file(write_jsonl(tmp_path / "gen.jsonl", pc_rows(30))))


def test_duplicates_listed_and_removed(tmp_path: Path) -> None:
    rows = pc_rows(4)
    rows.insert(2, dict(rows[0]))
    report, result = prepare(write_jsonl(tmp_path / "d.jsonl", rows), accept={"drop_duplicates"})
    assert checks(report)["duplicates"].rows == [3]
    assert report.fix("drop_duplicates").recommended and not report.fix("drop_duplicates").necessary
    assert len(read_jsonl(result.paths[0])) == 4
    assert "duplicates" not in checks(check_file(write_jsonl(tmp_path / "ok.jsonl", pc_rows(4))))


def test_long_examples_in_tokens_and_the_character_rule(tmp_path: Path) -> None:
    rows = pc_rows(4)
    rows[1]["prompt"] = "word " * 2100 + "->"  # 2,100+ tokens of curie (and 10,502 characters)
    rows[2]["prompt"] = "hello " * 1700 + "->"  # 10,202 characters but only ~1,700 tokens
    src = write_jsonl(tmp_path / "long.jsonl", rows)
    curie = check_file(src, "curie")
    assert curie.stats.token_limit == 2049
    assert checks(curie)["long_examples"].rows == [2]
    assert "2,049-token limit of curie" in checks(curie)["long_examples"].message
    assert checks(curie)["long_examples_chars"].rows == [2, 3]
    report = check_file(src)  # davinci-002: 16,384 tokens — nothing is over the limit
    assert "long_examples" not in checks(report) and checks(report)["long_examples_chars"].severity == "info"
    result = apply_fixes(src, curie, {"drop_long"}, out_dir=tmp_path)
    assert [r["prompt"][:4] for r in read_jsonl(result.paths[0])] == ["Item", "hell", "Item"]


def test_upper_case_prompts_lowered(tmp_path: Path) -> None:
    rows = [{"prompt": f"WHAT IS ITEM {i} ->", "completion": f" answer {i}.\n"} for i in range(3)]
    report, result = prepare(write_jsonl(tmp_path / "u.jsonl", rows), accept={"lowercase_prompts"})
    assert "more than a third of the `prompt` letters" in checks(report)["uppercase"].message
    assert "lowercase_completions" not in fix_ids(report)
    assert read_jsonl(result.paths[0])[0]["prompt"] == "what is item 0 ->"


def test_separator_candidates_and_fix(tmp_path: Path) -> None:
    assert choose_separator(["a", "b"]) == " ->"
    assert choose_separator(["a\nb", "c"]) == "\n\n###\n\n"
    assert choose_separator(["x ->", "y"]) == "\n\n###\n\n"
    every = ["\n\n###\n\n", "\n\n===\n\n", "\n\n---\n\n", "\n\n===>\n\n", "\n\n--->\n\n"]
    assert choose_separator([f"p{s}q" for s in every]) == "\n\n### =>\n\n"
    rows = [
        {"prompt": p, "completion": f" c{i}.\n"}
        for i, p in enumerate(["Tell me a joke", "Name a color", "Say hi"])
    ]
    report, result = prepare(write_jsonl(tmp_path / "s.jsonl", rows), accept={"add_separator"})
    assert report.fix("add_separator").params["separator"] == " ->"
    assert [r["prompt"] for r in read_jsonl(result.paths[0])] == [
        "Tell me a joke ->",
        "Name a color ->",
        "Say hi ->",
    ]
    assert "end every prompt with the separator ` ->`" in result.next_steps


def test_common_suffix_warnings_and_identical_prompts(tmp_path: Path) -> None:
    rows = [{"prompt": f"a -> b{i} ->", "completion": f" c{i}.\n"} for i in range(3)]
    found = checks(check_file(write_jsonl(tmp_path / "twice.jsonl", rows)))
    assert found["prompt_suffix"].severity == "warning" and "more than once" in found["prompt_suffix"].message
    long = [{"prompt": f"q{i} please answer ->", "completion": f" c{i}.\n"} for i in range(3)]
    found = checks(check_file(write_jsonl(tmp_path / "long.jsonl", long)))
    assert found["prompt_suffix"].severity == "info"  # the legacy tool's advice, not its WARNING
    assert "a shorter one such as `\\n\\n###\\n\\n` would do" in found["prompt_suffix"].message
    same = [{"prompt": "same ->", "completion": f" c{i}.\n"} for i in range(3)]
    report = check_file(write_jsonl(tmp_path / "same.jsonl", same))
    assert report.blocking and "all prompts are identical" in checks(report)["identical_prompts"].message


def test_prompt_prefix_removed_only_when_longer_than_12(tmp_path: Path) -> None:
    rows = [{"prompt": f"Classify the sentiment: text {i} ->", "completion": f" c{i}.\n"} for i in range(3)]
    report, result = prepare(write_jsonl(tmp_path / "p.jsonl", rows), accept={"remove_prompt_prefix"})
    assert report.fix("remove_prompt_prefix").params["prefix"] == "Classify the sentiment: text "
    assert read_jsonl(result.paths[0])[0]["prompt"] == "0 ->"
    short = [{"prompt": f"Q: thing {i} ->", "completion": f" c{i}.\n"} for i in range(3)]
    report = check_file(write_jsonl(tmp_path / "short.jsonl", short))
    assert checks(report)["prompt_prefix"].severity == "info" and "remove_prompt_prefix" not in fix_ids(
        report
    )


def test_completion_prefix_removed_keeping_the_space(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i} ->", "completion": f" Answer: value {i}.\n"} for i in range(3)]
    report, result = prepare(write_jsonl(tmp_path / "cp.jsonl", rows), accept={"remove_completion_prefix"})
    assert report.fix("remove_completion_prefix").params["prefix"] == " Answer: value "
    assert read_jsonl(result.paths[0])[0]["completion"] == " 0.\n"
    assert "remove_completion_prefix" not in fix_ids(check_file(FIXTURES / "pc_clean.jsonl"))


def test_completion_ending_candidates_fix_and_identical_completions(tmp_path: Path) -> None:
    assert choose_ending(["a", "b"]) == "\n"
    assert choose_ending(["a\nb", "c"]) == "."
    assert choose_ending(["a\n. END***+++&&&$$$@@@%%%"]) == " [END]"
    rows = [{"prompt": f"q{i} ->", "completion": f" line {i}\nmore {i}"} for i in range(3)]
    report, result = prepare(write_jsonl(tmp_path / "end.jsonl", rows), accept={"add_ending"})
    assert report.fix("add_ending").params["ending"] == "."
    assert read_jsonl(result.paths[0])[0]["completion"] == " line 0\nmore 0."
    assert result.stop_sequence == "." and 'stop=["."]' in result.next_steps
    same = [{"prompt": f"q{i} ->", "completion": " same"} for i in range(2)]
    report = check_file(write_jsonl(tmp_path / "same.jsonl", same))
    assert (
        report.blocking and "all completions are identical" in checks(report)["identical_completions"].message
    )


def test_leading_space_added(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i} ->", "completion": f"c{i}.\n"} for i in range(3)]
    report, result = prepare(write_jsonl(tmp_path / "ls.jsonl", rows), accept={"add_leading_space"})
    assert checks(report)["leading_space"].fix_id == "add_leading_space"
    assert [r["completion"] for r in read_jsonl(result.paths[0])] == [" c0.\n", " c1.\n", " c2.\n"]
    assert "leading_space" not in checks(check_file(FIXTURES / "pc_clean.jsonl"))


def test_open_ended_txt_skips_suffix_checks(tmp_path: Path) -> None:
    src = tmp_path / "poems.txt"
    src.write_text("Roses are red\nViolets are blue\nSugar is sweet\n", encoding="utf-8")
    report = check_file(src)
    assert report.task_type == "open-ended generation"
    assert "prompt_suffix" not in checks(report) and "completion_suffix" not in checks(report)
    assert report.n_records == 3


def test_checks_run_in_the_reference_order(tmp_path: Path) -> None:
    rows = [{"Prompt": f"PLEASE DO THING NUMBER {i}", "completion": f"c{i}", "id": i} for i in range(6)]
    rows.append(dict(rows[0]))
    order = [i.check for i in check_file(write_jsonl(tmp_path / "all.jsonl", rows)).issues]
    expected = [
        "count",
        "columns",
        "extra_columns",
        "duplicates",
        "uppercase",
        "prompt_suffix",
        "prompt_prefix",
    ]
    assert [c for c in order if c in expected] == expected
    assert order.index("prompt_prefix") < order.index("completion_suffix") < order.index("leading_space")


def test_preview_and_source_untouched(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i}", "completion": f"c{i}.\n"} for i in range(3)]
    src = write_jsonl(tmp_path / "pv.jsonl", rows)
    before = digest(src)
    report = check_file(src)
    assert preview_fix(src, report, "add_leading_space", limit=2) == [
        (1, {"prompt": "q0", "completion": "c0.\n"}, {"prompt": "q0", "completion": " c0.\n"}),
        (2, {"prompt": "q1", "completion": "c1.\n"}, {"prompt": "q1", "completion": " c1.\n"}),
    ]
    apply_fixes(src, report, {f.id for f in report.fixes})
    assert digest(src) == before


def test_both_columns_in_another_case_make_one_fix(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "caps.jsonl", [{"PROMPT": f"q{i} ->", "Completion": f" c{i}.\n"} for i in range(3)]
    )
    report, result = prepare(src, accept=set())
    assert [f.id for f in report.fixes] == ["lowercase_columns"]
    assert (
        report.fixes[0].title
        == "Lower-case the column names `PROMPT` → `prompt`, `Completion` → `completion`"
    )
    assert read_jsonl(result.paths[0])[0] == {"prompt": "q0 ->", "completion": " c0.\n"}


def test_case_counts_match_the_per_character_rule() -> None:
    from gptbench.core.datasets.checks_legacy import case_counts

    for values in (["Hello World ABC déjà VU 123 日本", "ΣΊΣΥΦΟΣ", "ÉCOLE"], ["straße Ärger"], [""]):
        text = "".join(values)
        expected = (
            sum(1 for c in text if c.isalpha() and c.isupper()),
            sum(1 for c in text if c.isalpha() and c.islower()),
        )
        assert case_counts(values) == expected


def test_cancel_is_honoured_after_reading_too(tmp_path: Path) -> None:
    import threading

    from gptbench.core.datasets import CheckCancelled

    src = write_jsonl(tmp_path / "big.jsonl", pc_rows(3000))
    cancel = threading.Event()

    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # record 2,000: the reader looks again only at 4,000, so the checks must stop it
            cancel.set()

    with pytest.raises(CheckCancelled):
        check_file(src, progress=progress, cancel=cancel)
    assert len(calls) == 2
