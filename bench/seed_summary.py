"""Markdown for the seed statistics of one dataset: intervals, paired comparisons, backend parity."""

import math

import pandas as pd

from bench import statistics, tables

# The metrics shown in the backend parity table; the sentence above it counts all of them.
PARITY_METRICS = ("mse", "ssim")


def format_value(value: float, key: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    text = f"{value:.2f}" if key == "psnr" else f"{value:.4f}"
    # A negative value that rounds to zero would print as "-0.0000".
    return text.lstrip("-") if float(text) == 0 else text


def noise_name(scores: pd.DataFrame) -> str:
    """Return what the spread between paired runs measures: seeds, or with one seed only backends."""
    return "the seed noise" if scores["seed"].nunique() >= 2 else "the noise between backends"


def format_p(p_value: float) -> str:
    """Return "p = 0.012", "p < 0.001", or a dash when there is no p-value."""
    if math.isnan(p_value):
        return "–"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def format_interval(interval: statistics.Interval, key: str) -> str:
    """Return "mean ± half-width", or the mean alone when there is one value."""
    if interval.count == 0:
        return "–"
    if interval.count < 2:
        return format_value(interval.mean, key)
    return f"{format_value(interval.mean, key)} ± {format_value(interval.half_width, key)}"


def interval_table(scores: pd.DataFrame) -> list[str]:
    """Return a table of each metric's mean per architecture with its 95% confidence interval."""
    ranked = tables.ranked(scores)
    if ranked.empty:
        return []
    architectures = sorted(ranked["architecture"].unique())
    counts = ranked.groupby("architecture").size()
    header = ["metric", *(f"{name} ({counts[name]} {'run' if counts[name] == 1 else 'runs'})" for name in architectures)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric in tables.METRICS:
        if metric.key not in ranked:
            continue
        intervals = {name: statistics.mean_interval(ranked.loc[ranked["architecture"] == name, metric.key]) for name in architectures}
        ranking = statistics.rank_architectures(ranked, metric)
        cells = [metric.label]
        for name in architectures:
            cell = format_interval(intervals[name], metric.key)
            if ranking is not None and ranking.winner == name:
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _difference_phrase(comparison: statistics.Comparison, ahead: str) -> str:
    """Return how far `ahead` is in front of the other architecture, with its interval and p-value."""
    key = comparison.metric.key
    interval = comparison.difference
    sign = 1 if ahead == comparison.first else -1
    mean = sign * interval.mean
    low, high = sorted((sign * interval.low, sign * interval.high))
    text = f"by {format_value(abs(mean), key)}"
    if interval.count >= 2:
        text += f" (unadjusted 95% CI of {ahead} − other: {format_value(low, key)} to {format_value(high, key)}"
        text += f"; Holm-adjusted {format_p(comparison.p_value)}; {interval.count} pairs)"
    return text


def ranking_sentence(ranking: statistics.Ranking, noise: str = "the seed noise") -> str:
    """Return one sentence: the winner on a metric, or the architectures that tie and by how much.

    With one run per architecture nothing is tested, and the sentence gives only the gaps by mean.
    """
    metric = ranking.metric
    lookup = {frozenset((c.first, c.second)): c for c in ranking.comparisons}

    def gap_to(other: str) -> str:
        return f"{other} {_difference_phrase(lookup[frozenset((ranking.best, other))], ranking.best)}"

    if not ranking.tested:
        parts = [gap_to(other) for other in ranking.tied_with]
        return f"On {metric.in_sentence}, {ranking.best} is ahead of {'; '.join(parts)}, but one run each cannot be tested."
    if ranking.winner is not None:
        parts = [gap_to(other) for other in sorted({name for pair in lookup for name in pair} - {ranking.best})]
        return f"On {metric.in_sentence}, {ranking.best} is best beyond {noise}: it beats {'; '.join(parts)}."
    parts = [f"{ranking.best} is ahead of {gap_to(other)}" for other in ranking.tied_with]
    names = [ranking.best, *ranking.tied_with]
    names = f"{', '.join(names[:-1])} and {names[-1]}"
    return f"On {metric.in_sentence}, {names} tie: {'; '.join(parts)}, which is within {noise}."


def comparison_lines(scores: pd.DataFrame) -> list[str]:
    """Return one bullet per metric from the paired comparisons."""
    ranked = tables.ranked(scores)
    lines = []
    tested = False
    for metric in tables.METRICS:
        ranking = statistics.rank_architectures(ranked, metric)
        if ranking is not None and len(ranking.comparisons) > 0:
            lines.append(f"- {ranking_sentence(ranking, noise_name(ranked))}")
            tested = tested or ranking.tested
    if not lines:
        return []
    if not tested:
        note = (
            "Each architecture has one run here (one backend, one seed), so there is no noise to measure and no "
            "gap below is tested; they are differences of single runs. Run with --seeds 0 1 2 for intervals and "
            "p-values."
        )
        return [note, "", *lines]
    note = (
        "Each comparison pairs the runs of two architectures that share a backend and a seed, and tests the "
        "mean of the differences with a paired t-test; the p-values are Holm-adjusted over the architecture "
        f"pairs of each metric. A winner is named only at p < {statistics.SIGNIFICANCE:.2f}. The intervals of the "
        "differences are not adjusted, so one may exclude zero while the adjusted p-value says tie."
    )
    if ranked["seed"].nunique() < 2:
        note += (
            " With one seed, the paired runs differ only in their backend, so the noise measured here is the "
            "difference between backends, not between seeds; run with --seeds 0 1 2 for the seed noise."
        )
    return [note, "", *lines]


def parity_lines(scores: pd.DataFrame) -> list[str]:
    """Return the backend parity table and a sentence that counts the flagged cases over all metrics."""
    ranked = tables.ranked(scores)
    everything = [parity for metric in tables.METRICS for parity in statistics.backend_parity(ranked, metric)]
    if not everything:
        return []
    header = ["architecture", "metric", "backends", "means", "difference", "Welch's t-test", "differs beyond the seed noise?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for parity in everything:
        if parity.metric.key not in PARITY_METRICS:
            continue
        key = parity.metric.key
        verdict = {None: "cannot tell (fewer than 2 seeds)", True: "**yes**", False: "no"}[parity.differs]
        lines.append(
            "| "
            + " | ".join(
                [
                    parity.architecture,
                    parity.metric.label,
                    " vs ".join(parity.backends),
                    " vs ".join(format_value(mean, key) for mean in parity.means),
                    format_value(parity.difference, key),
                    format_p(parity.p_value),
                    verdict,
                ]
            )
            + " |"
        )
    tested = [parity for parity in everything if parity.differs is not None]
    flagged = [parity for parity in tested if parity.differs]
    if not tested:
        sentence = "No backend has two seeds of the same model, so backend parity cannot be tested; run with --seeds 0 1 2."
    elif not flagged:
        sentence = (
            f"No backend difference is beyond the seed noise on the {len(tested)} architecture-metric pairs "
            "tested (Welch's t-test over seeds, p ≥ 0.05), which does not prove that the backends are equal."
        )
    else:
        cases = ", ".join(f"{p.architecture} on {p.metric.in_sentence}" for p in flagged)
        sentence = (
            f"The backends differ beyond the seed noise (Welch's t-test, p < 0.05) on {len(flagged)} of "
            f"{len(tested)} architecture-metric pairs: {cases}. With no real difference, about 1 test in 20 "
            f"is flagged by chance, {0.05 * len(tested):.1f} of {len(tested)} on average."
        )
    return [sentence, "", *lines]
