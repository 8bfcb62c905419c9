"""The per-dataset verdict and the Beyond the noise lines, with and without runs to test."""

import pandas as pd

from bench import seed_summary, summary
from tests.helpers import make_scores

EPOCHS = {"stacked": 20, "conv": 10, "recurrent": 10}
MNIST = {("mnist", "stacked"): 0.0080, ("mnist", "conv"): 0.0094, ("mnist", "recurrent"): 0.0076}
NO_REFERENCES = pd.DataFrame(columns=["architecture"])


def one_run_each() -> pd.DataFrame:
    scores = make_scores(MNIST, EPOCHS)
    return scores[(scores["backend"] == "tensorflow") & (scores["seed"] == 0)]


def test_verdict_one_run_untested():
    verdict = summary._verdict("mnist", one_run_each(), NO_REFERENCES)
    assert "with one run per architecture no gap can be tested; by single runs, the recurrent model is ahead on MSE" in verdict
    assert " tie " not in verdict
    assert "beyond the noise" not in verdict
    assert "gives the gaps between the single runs" in verdict


def test_verdict_three_seeds_winner():
    verdict = summary._verdict("mnist", make_scores(MNIST, EPOCHS), NO_REFERENCES)
    assert "For reconstruction, beyond the seed noise: the recurrent model is best on MSE." in verdict
    assert "no gap can be tested" not in verdict
    assert "gives the differences, intervals and p-values" in verdict


def test_comparisons_one_run_untested():
    note, blank, line = seed_summary.comparison_lines(one_run_each())
    assert "no gap below is tested" in note
    assert blank == ""
    # The wobble of make_scores moves each single run off its model value by up to 0.00015.
    assert line == "- On MSE, recurrent is ahead of conv by 0.0017; stacked by 0.0006, but one run each cannot be tested."


def test_comparisons_three_seeds_tested():
    note, _, line = seed_summary.comparison_lines(make_scores(MNIST, EPOCHS))
    assert "paired t-test" in note
    assert line.startswith("- On MSE, recurrent is best beyond the seed noise: it beats conv by 0.0018")
    assert "Holm-adjusted p < 0.001; 6 pairs" in line


def test_interval_caveat_per_case():
    scores = make_scores(MNIST, EPOCHS)
    assert summary._interval_caveat(scores) == ""
    one_seed = scores[scores["seed"] == 0]
    assert "spread between the backends" in summary._interval_caveat(one_seed)
    assert "single run and has no interval" in summary._interval_caveat(one_run_each())
