"""Training/validation split: the legacy rule (validation = n − max(n − 1000, int(0.8·n))), seeded, optionally
stratified by class; `write_split` writes the pair (`gptbench data prepare --split` and `split_file` both use it),
`plan_split`/`split_file` split a file that needs no fixing as it is (the Dataset pane's `s`)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

MAX_VALID = 1000


def n_train_for(n: int) -> int:
    """Training rows for n examples: 30 → 24, 44 → 35, 10,000 → 9,000."""
    return max(n - MAX_VALID, int(n * 0.8))


def split_indexes(n: int, seed: int = 42) -> tuple[list[int], list[int]]:
    """(train, valid) positions. With seed 42 the training rows are the legacy tool's exactly: pandas'
    `sample(n_train, random_state=42)` is numpy's RandomState(42).permutation(n)[:n_train]; validation keeps
    the file's order."""
    import numpy as np

    n_train = n_train_for(n)
    train = [int(i) for i in np.random.RandomState(seed).permutation(n)[:n_train]]
    chosen = set(train)
    return train, [i for i in range(n) if i not in chosen]


def stratified_split_indexes(labels: Sequence[str], seed: int = 42) -> tuple[list[int], list[int]]:
    """(train, valid) positions with each class split in the same proportion; the totals follow the legacy rule."""
    n = len(labels)
    n_valid = n - n_train_for(n)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    rng = random.Random(seed)
    # Largest-remainder apportionment of the validation rows over the classes.
    quotas = {c: n_valid * len(ix) / n for c, ix in by_class.items()}
    take = {c: int(q) for c, q in quotas.items()}
    for c in sorted(quotas, key=lambda c: (quotas[c] - take[c], len(by_class[c])), reverse=True)[
        : n_valid - sum(take.values())
    ]:
        take[c] += 1
    valid: list[int] = []
    for c, ix in by_class.items():
        valid += rng.sample(ix, take[c])
    chosen = set(valid)
    train = [i for i in range(n) if i not in chosen]
    rng.shuffle(train)
    return train, sorted(valid)


# -- splitting a file: one function pair for `gptbench data prepare --split` and the Dataset pane ------------

#: Suffixes of the two files, after the name (and tag): NAME_prepared_train.jsonl / NAME_prepared_valid.jsonl.
SPLIT_SUFFIXES = ("_train", "_valid")
#: Fewest examples a split can take: one each side.
MIN_SPLIT = 2


def split_counts(n: int, name: str = "the file") -> tuple[int, int]:
    """(train, valid) sizes for n examples; InputError naming `name` below two examples."""
    if n < MIN_SPLIT:
        raise InputError(f"{name}: {n} example{'' if n == 1 else 's'}; a split needs at least {MIN_SPLIT}")
    n_train = n_train_for(n)
    return n_train, n - n_train


def split_positions(
    n: int, labels: Sequence[str] | None = None, *, stratify: bool = False, seed: int = 42
) -> tuple[list[int], list[int]]:
    """(train, valid) positions among n examples: stratified by `labels` when asked (and given), else the
    legacy seeded sample."""
    if stratify and labels is not None:
        return stratified_split_indexes(labels, seed)
    return split_indexes(n, seed)


def write_split(
    source: Path,
    n: int,
    rows_at: Callable[[list[int]], Iterable[dict]],
    *,
    labels: Sequence[str] | None = None,
    stratify: bool = False,
    seed: int = 42,
    out_dir: Path | None = None,
    tag: str = "_prepared",
) -> tuple[list[Path], list[int], list[int]]:
    """Split n examples and write NAME{tag}_train.jsonl / NAME{tag}_valid.jsonl beside `source` (or in `out_dir`).

    `rows_at(positions)` yields the examples at those positions. Names already taken get the next free
    ` (1)`, ` (2)`... for both files together; nothing is ever overwritten. Returns (paths, train, valid).
    """
    from .writer import output_names, write_jsonl

    split_counts(n, source.name)
    train, valid = split_positions(n, labels, stratify=stratify, seed=seed)
    names = output_names(source, SPLIT_SUFFIXES, out_dir, tag)
    paths = [write_jsonl(names[0], rows_at(train)), write_jsonl(names[1], rows_at(valid))]
    return paths, train, valid


@dataclass
class SplitPlan:
    """What `split_file` would write for a file, read without writing anything."""

    path: Path
    format: str
    n: int
    n_train: int
    n_valid: int
    #: The check's task-type rule (distinct completions < rows/3) says prompt/completion classification.
    classification: bool
    #: Examples per class (completion), most frequent first; empty unless classification.
    classes: dict[str, int]
    #: The names free right now (a file appearing meanwhile pushes the split to the next ` (n)`).
    names: list[Path]


@dataclass
class SplitResult:
    paths: list[Path]
    n_train: int
    n_valid: int
    stratified: bool


@dataclass
class _Examples:
    format: str
    n: int
    rows: list[dict] | None  # prompt/completion rows (kept in memory, as `prepare` does); None for chat
    completions: list[str] | None
    prompts: list[str] | None


def _examples(path: Path, cancel: Any = None, keep_rows: bool = False) -> _Examples:
    """Read every example of a file that needs no fixing; InputError (file and line named) otherwise.

    The rows are split as they are, so they must be what `gptbench data prepare` would write unchanged:
    readable objects of one format; prompt/completion rows with exactly the string fields prompt and a
    non-empty completion (other files need their necessary fixes first).
    """
    from .readers import read_records
    from .records import CHAT, PROMPT_COMPLETION, record_format
    from .report import raise_if_cancelled

    fmt: str | None = None
    n = 0
    rows: list[dict] | None = [] if keep_rows else None
    prompts: list[str] = []
    completions: list[str] = []
    need_fixing = "; apply the necessary fixes first"
    place = "row" if path.suffix.lower() in (".csv", ".tsv", ".xlsx", ".parquet") else "line"
    for record in read_records(path):
        if n % 4096 == 0:
            raise_if_cancelled(cancel)
        if record.data is None:
            if record.kind == "blank":
                continue
            raise InputError(
                f"{path.name} {record.error or f'{place} {record.line}: unreadable'}{need_fixing}"
            )
        kind = record_format(record.data)
        if kind is None:
            raise InputError(
                f"{path.name} {place} {record.line}: neither `messages` nor prompt/completion{need_fixing}"
            )
        if fmt is None:
            fmt = kind
        elif kind != fmt:
            raise InputError(f"{path.name} {place} {record.line}: a {kind} row in a {fmt} file{need_fixing}")
        n += 1
        if kind == CHAT:
            if not isinstance(record.data.get("messages"), list):
                raise InputError(f"{path.name} {place} {record.line}: `messages` is not a list{need_fixing}")
            continue
        prompt, completion = record.data.get("prompt"), record.data.get("completion")
        if set(record.data) != {"prompt", "completion"} or not isinstance(prompt, str):
            fields = ", ".join(map(str, record.data))
            raise InputError(
                f"{path.name} {place} {record.line}: fields {fields} (expected prompt, completion){need_fixing}"
            )
        if not isinstance(completion, str) or not completion:
            raise InputError(f"{path.name} {place} {record.line}: empty completion{need_fixing}")
        prompts.append(prompt)
        completions.append(completion)
        if rows is not None:
            rows.append(record.data)
    raise_if_cancelled(cancel)
    if fmt is None:
        raise InputError(f"{path.name}: no examples to split")
    pc = fmt == PROMPT_COMPLETION
    return _Examples(fmt, n, rows, completions if pc else None, prompts if pc else None)


def _is_classification(examples: _Examples) -> bool:
    from .checks_legacy import CLASSIFICATION, Table, infer_task_type

    if examples.completions is None or examples.prompts is None:
        return False
    table = Table(list(range(examples.n)), examples.prompts, examples.completions)
    return infer_task_type(table) == CLASSIFICATION


def plan_split(
    path: str | Path, *, out_dir: str | Path | None = None, tag: str = "", cancel: Any = None
) -> SplitPlan:
    """Read `path` and say what `split_file` would write: counts, classification, the free output names.

    Raises InputError (one line, naming the file and line) for a file that cannot be split as it is, and
    CheckCancelled when the `cancel` event is set.
    """
    from .writer import output_names

    source = Path(path)
    examples = _examples(source, cancel)
    n_train, n_valid = split_counts(examples.n, source.name)
    classification = _is_classification(examples)
    classes = (
        dict(Counter(examples.completions).most_common()) if classification and examples.completions else {}
    )
    folder = Path(out_dir) if out_dir else None
    names = output_names(source, SPLIT_SUFFIXES, folder, tag)
    return SplitPlan(source, examples.format, examples.n, n_train, n_valid, classification, classes, names)


def split_file(
    path: str | Path,
    *,
    stratify: bool = False,
    seed: int = 42,
    out_dir: str | Path | None = None,
    tag: str = "",
) -> SplitResult:
    """Split a file that needs no fixing into NAME{tag}_train.jsonl / NAME{tag}_valid.jsonl, the rows as they are.

    The same positions as `gptbench data prepare --split` (`write_split`): with the default seed, the legacy
    tool's rows; `stratify` (prompt/completion classification only) keeps each class's share in both files.
    Prompt/completion training rows are written in the sampled order, chat rows in file order, as `prepare`
    writes them. The source is never changed and no existing file is overwritten.
    """
    from .readers import read_records

    source = Path(path)
    examples = _examples(source, keep_rows=True)
    stratified = bool(stratify and _is_classification(examples))
    folder = Path(out_dir) if out_dir else None
    if examples.rows is not None and examples.completions is not None:
        rows = examples.rows

        def rows_at(positions: list[int]) -> Iterable[dict]:
            return (rows[i] for i in positions)
    else:

        def rows_at(positions: list[int]) -> Iterable[dict]:
            keep = set(positions)
            position = 0
            for record in read_records(source):
                if record.data is None:
                    continue
                if position in keep:
                    yield record.data
                position += 1

    paths, train, valid = write_split(
        source,
        examples.n,
        rows_at,
        labels=examples.completions,
        stratify=stratified,
        seed=seed,
        out_dir=folder,
        tag=tag,
    )
    return SplitResult(paths, len(train), len(valid), stratified)
