"""Training/validation split: the legacy rule (validation = n − max(n − 1000, int(0.8·n))), seeded, optionally
stratified by class."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

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
