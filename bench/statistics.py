"""Seed statistics: means with 95% confidence intervals, paired comparisons, backend parity.

Every model is trained with one or more seeds on one or more backends. A
difference between two architectures counts only when it is larger than what
changing the seed does. The comparisons pair the runs of two architectures
that share a backend and a seed, and test the mean of the paired differences
with Student's t. The p-values of the architecture pairs of one metric are
adjusted together with Holm's method.
"""

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

from bench.tables import Metric

CONFIDENCE = 0.95
SIGNIFICANCE = 1 - CONFIDENCE


@dataclasses.dataclass(frozen=True)
class Interval:
    """Mean of `count` values with its two-sided confidence interval (NaN bounds below 2 values)."""

    mean: float
    low: float
    high: float
    count: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_interval(values) -> Interval:
    """Return the mean of `values` and its 95% confidence interval from Student's t."""
    values = np.asarray([value for value in values if not pd.isna(value)], dtype=float)
    count = len(values)
    if count == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    if count < 2:
        return Interval(mean, math.nan, math.nan, 1)
    half_width = float(stats.t.ppf((1 + CONFIDENCE) / 2, count - 1) * values.std(ddof=1) / math.sqrt(count))
    return Interval(mean, mean - half_width, mean + half_width, count)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Paired comparison of two architectures on one metric of one dataset.

    `difference` is first minus second over the runs that share a backend and
    a seed; `p_value` is Holm-adjusted over the architecture pairs of the
    metric. `better` names the architecture that is better beyond the noise,
    or is None for a tie (or too few pairs to tell).
    """

    metric: Metric
    first: str
    second: str
    difference: Interval
    p_value: float
    better: str | None

    @property
    def decided(self) -> bool:
        return self.better is not None


def _paired_differences(scores: pd.DataFrame, metric: Metric, first: str, second: str) -> pd.Series:
    keyed = scores.set_index(["architecture", "backend", "seed"])[metric.key]
    first_values = keyed.xs(first, level="architecture")
    second_values = keyed.xs(second, level="architecture")
    return (first_values - second_values).dropna()


def _holm(p_values: list[float]) -> list[float]:
    """Return Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        if math.isnan(p_values[index]):
            continue
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def compare_architectures(scores: pd.DataFrame, metric: Metric) -> list[Comparison]:
    """Compare every pair of architectures in `scores` (one dataset) on `metric`.

    `scores` has one row per run, with architecture, backend, seed and metric
    columns, and no collapsed models.
    """
    if metric.key not in scores:
        return []
    architectures = sorted(scores["architecture"].unique())
    pairs = list(itertools.combinations(architectures, 2))
    differences = [_paired_differences(scores, metric, first, second) for first, second in pairs]
    raw = []
    for values in differences:
        if len(values) < 2 or float(values.std(ddof=1)) == 0.0:
            # No spread to test against: identical runs, or a single pair.
            raw.append(math.nan if len(values) < 2 or float(values.mean()) != 0.0 else 1.0)
        else:
            raw.append(float(stats.ttest_1samp(values, 0.0).pvalue))
    adjusted = _holm(raw)

    comparisons = []
    for (first, second), values, p_value in zip(pairs, differences, adjusted):
        interval = mean_interval(values)
        better = None
        if not math.isnan(p_value) and p_value < SIGNIFICANCE:
            first_lower = interval.mean < 0
            better = first if first_lower == metric.lower_is_better else second
        comparisons.append(Comparison(metric, first, second, interval, p_value, better))
    return comparisons


@dataclasses.dataclass(frozen=True)
class Ranking:
    """The best architecture on a metric, and the ones that are not worse beyond the noise."""

    metric: Metric
    best: str
    tied_with: tuple[str, ...]
    comparisons: tuple[Comparison, ...]

    @property
    def winner(self) -> str | None:
        """The best architecture when it beats every other one beyond the noise, else None."""
        return None if self.tied_with else self.best

    @property
    def tested(self) -> bool:
        """Whether any comparison has a p-value: with one run per architecture none has."""
        return any(not math.isnan(comparison.p_value) for comparison in self.comparisons)


def rank_architectures(scores: pd.DataFrame, metric: Metric) -> Ranking | None:
    """Return the best architecture on `metric` by mean, with those it does not beat beyond the noise."""
    if metric.key not in scores or scores[metric.key].dropna().empty:
        return None
    if scores.dropna(subset=[metric.key])["architecture"].nunique() < 2:
        return None
    means = scores.groupby("architecture")[metric.key].mean().dropna()
    best = str(means.idxmin() if metric.lower_is_better else means.idxmax())
    comparisons = compare_architectures(scores, metric)
    tied = []
    for comparison in comparisons:
        if best not in (comparison.first, comparison.second):
            continue
        other = comparison.second if comparison.first == best else comparison.first
        if comparison.better != best:
            tied.append(other)
    return Ranking(metric, best, tuple(sorted(tied)), tuple(comparisons))


@dataclasses.dataclass(frozen=True)
class Parity:
    """Whether two backends reach the same score for one architecture and metric.

    `difference` is the first backend's mean minus the second's; `p_value`
    comes from Welch's t-test over their seeds. `differs` is None when either
    backend has fewer than two seeds, since then the seed noise is unknown.
    """

    architecture: str
    metric: Metric
    backends: tuple[str, str]
    means: tuple[float, float]
    difference: float
    p_value: float
    differs: bool | None


def backend_parity(scores: pd.DataFrame, metric: Metric) -> list[Parity]:
    """Compare each pair of backends per architecture on `metric` (one dataset)."""
    found = []
    if metric.key not in scores:
        return found
    for architecture, group in scores.groupby("architecture"):
        by_backend = {backend: values[metric.key].dropna().to_numpy() for backend, values in group.groupby("backend")}
        for first, second in itertools.combinations(sorted(by_backend), 2):
            a, b = by_backend[first], by_backend[second]
            if len(a) == 0 or len(b) == 0:
                continue
            p_value, differs = math.nan, None
            if len(a) >= 2 and len(b) >= 2:
                if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
                    p_value = 1.0 if a.mean() == b.mean() else 0.0
                else:
                    p_value = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
                differs = p_value < SIGNIFICANCE
            found.append(
                Parity(
                    str(architecture),
                    metric,
                    (first, second),
                    (float(a.mean()), float(b.mean())),
                    float(a.mean() - b.mean()),
                    p_value,
                    differs,
                )
            )
    return found
