"""Text charts of a report: token-length histograms and class counts as bars of block characters.

Only block glyphs and the 16 ANSI colours are used, so the charts read the same on any terminal (and over SSH).
"""

from __future__ import annotations

import math

from gptbench.core.datasets.report import Distribution, Stats
from rich.text import Text

_EIGHTHS = " ▏▎▍▌▋▊▉█"
SPARK = "▁▂▃▄▅▆▇█"


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar `width` cells long at `top`, with eighth-cell precision."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def sparkline(counts: list[int]) -> str:
    """One glyph per bucket, height by count."""
    top = max(counts, default=0)
    if top == 0:
        return ""
    return "".join(" " if c == 0 else SPARK[(c * 8 - 1) // top] for c in counts)


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _range(lo: float, hi: float, last: bool) -> str:
    """The whole numbers a bucket [lo, hi) holds (the last bucket includes hi), as "a–b" or "a"."""
    first = math.ceil(lo)
    end = math.floor(hi) if last or hi != math.floor(hi) else int(hi) - 1
    return f"{first:,}" if end <= first else f"{first:,}–{end:,}"


def distribution_chart(dist: Distribution, width: int = 40, bins: int = 10) -> Text:
    """A titled histogram of one distribution, with its percentiles."""
    text = Text()
    text.append(f"{dist.name}", style="bold")
    text.append(
        f"  n={dist.count:,}  min {_num(dist.min)}  p10 {_num(dist.p10)}  median {_num(dist.median)}"
        f"  mean {dist.mean:,.1f}  p90 {_num(dist.p90)}  max {_num(dist.max)}\n",
        style="dim",
    )
    buckets = dist.histogram(max(1, min(bins, int(dist.max - dist.min) + 1)))
    if not buckets:
        return text.append("  (no values)\n", style="dim")
    text.append("  " + sparkline([c for _, _, c in buckets]) + "\n", style="cyan")
    top = max(c for _, _, c in buckets)
    labels = [_range(lo, hi, last=i == len(buckets) - 1) for i, (lo, hi, _) in enumerate(buckets)]
    label_width = max(map(len, labels))
    for label, (_, _, count) in zip(labels, buckets, strict=True):
        text.append(f"  {label:>{label_width}} ", style="dim")
        text.append(f"{bar(count, top, width):<{width}}", style="cyan")
        text.append(f" {count:,}\n")
    return text


def class_chart(counts: dict[str, int], width: int = 40, limit: int = 20) -> Text:
    """Bars of the examples per class (most frequent first), flagging classes under 100 examples."""
    text = Text("classes", style="bold")
    text.append(f"  {len(counts):,} distinct\n", style="dim")
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[0][1] if ranked else 0
    for label, count in ranked[:limit]:
        name = repr(label) if len(label) <= 18 else repr(label[:17] + "…")
        text.append(f"  {name:>20} ", style="dim")
        text.append(f"{bar(count, top, width):<{width}}", style="green" if count >= 100 else "yellow")
        text.append(f" {count:,}" + ("  (<100)" if count < 100 else "") + "\n")
    if len(ranked) > limit:
        text.append(f"  … {len(ranked) - limit:,} more classes\n", style="dim")
    return text


def stats_text(stats: Stats, width: int = 40) -> Text:
    """Everything chartable in a report's statistics, plus the training estimate lines."""
    text = Text()
    text.append(f"{stats.n_examples:,} examples", style="bold")
    if stats.token_limit:
        text.append(f"   over the {stats.token_limit:,}-token limit: {stats.n_over_limit:,}")
    if stats.n_epochs:
        text.append(f"\nepochs {stats.n_epochs}   billed tokens {stats.billed_tokens:,}")
        text.append(f"   trained tokens {stats.trained_tokens:,}")
    if stats.estimated_cost is not None:
        text.append(f"   est. cost ${stats.estimated_cost:,.2f}")
    if stats.cost_note:
        text.append(f"\n{stats.cost_note}", style="dim")
    text.append("\n\n")
    if stats.class_counts:  # first: for classification data, the balance matters most
        text.append_text(class_chart(stats.class_counts, width))
        text.append("\n")
    for dist in stats.distributions.values():
        text.append_text(distribution_chart(dist, width))
        text.append("\n")
    return text
