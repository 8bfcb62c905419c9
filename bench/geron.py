"""Our numbers beside the published ones, and which architecture suits which dataset.

Géron's book (Hands-On Machine Learning with Scikit-Learn, Keras and
TensorFlow, 3rd edition, chapter 17) trains the three autoencoders on
Fashion-MNIST with 30 codings and prints each one's validation MSE. A common
reading of that chapter is that the convolutional model suits Fashion-MNIST
and the recurrent model suits digits. `suitability_lines` tests that reading
with the paired comparisons of `bench.statistics`.
"""

import pandas as pd

from bench import seed_summary, statistics, tables
from bench.data import DISPLAY_NAMES

DATASET = "fashion_mnist"
CODINGS_SIZE = 30
# architecture: (epochs, validation MSE) as printed in the book.
PUBLISHED = {"stacked": (20, 0.0132), "conv": (10, 0.0121), "recurrent": (10, 0.0104)}
SOURCE = "Géron, Hands-On Machine Learning, 3rd edition, chapter 17"
# The reading under test: each architecture and the dataset it would suit best.
CLAIMS = {"conv": "fashion_mnist", "recurrent": "mnist"}


def _epochs_text(values: pd.Series) -> str:
    epochs = sorted({int(value) for value in values.dropna()})
    return ", ".join(map(str, epochs)) if epochs else "–"


def comparison_lines(scores: pd.DataFrame, codings_sizes: set[int]) -> list[str]:
    """Return the table of our validation MSE beside Géron's, for the Fashion-MNIST runs in `scores`."""
    ranked = tables.ranked(scores)
    if ranked.empty or "val_mse" not in ranked or ranked["val_mse"].dropna().empty:
        return []
    header = ["architecture", "Géron: epochs", "Géron: validation MSE", "ours: epochs", "ours: validation MSE", "ours ÷ Géron", "ours: test MSE"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    ours = {}
    same_epochs = True
    for name, (epochs, published) in PUBLISHED.items():
        runs = ranked[ranked["architecture"] == name]
        if runs.empty:
            continue
        validation = statistics.mean_interval(runs["val_mse"])
        test = statistics.mean_interval(runs["mse"]) if "mse" in runs else statistics.mean_interval([])
        ours[name] = validation.mean
        same_epochs &= set(runs["epochs_run"].dropna().astype(int)) == {epochs}
        lines.append(
            "| "
            + " | ".join(
                [
                    name,
                    str(epochs),
                    f"{published:.4f}",
                    _epochs_text(runs["epochs_run"]),
                    seed_summary.format_interval(validation, "mse"),
                    f"{validation.mean / published:.2f}",
                    seed_summary.format_interval(test, "mse"),
                ]
            )
            + " |"
        )
    if not ours:
        return []

    note = (
        f"Published numbers: {SOURCE}, Fashion-MNIST with 30 codings. Ours: the validation loss after the "
        "last epoch (per-pixel MSE on the 5,000 held-out training images, the quantity Keras prints as "
        "val_loss), mean over backends and seeds ± the half-width of its 95% interval; the test MSE is on "
        "the 10,000 test images."
    )
    caveats = []
    if not same_epochs:
        caveats.append("our runs trained for other epoch counts than the book's, so only the order can be compared")
    if codings_sizes != {CODINGS_SIZE}:
        caveats.append(f"our codings size is {', '.join(map(str, sorted(codings_sizes)))}, not the book's {CODINGS_SIZE}")
    if caveats:
        note += " Caution: " + "; ".join(caveats) + "."
    published_order = sorted(ours, key=lambda name: PUBLISHED[name][1])
    our_order = sorted(ours, key=ours.get)
    order = (
        f"The book's order, best first, is {', '.join(published_order)}; ours is {', '.join(our_order)}"
        + (", the same." if published_order == our_order else ", which differs.")
    )
    return [note, "", *lines, "", order]


def _best_phrase(ranking: statistics.Ranking, noise: str) -> str:
    if ranking.winner is not None:
        return f"the {ranking.winner} model has the lowest test MSE, beyond {noise}"
    return f"the {ranking.best} model has the lowest test MSE, tied within {noise} with {', '.join(ranking.tied_with)}"


def suitability_lines(scores: pd.DataFrame) -> list[str]:
    """Return one bullet per claim of CLAIMS, answered from the test-MSE ranking of its dataset."""
    ranked = tables.ranked(scores)
    if ranked.empty:
        return []
    mse = tables.METRICS_BY_KEY["mse"]
    lines = []
    for architecture, dataset in CLAIMS.items():
        runs = ranked[ranked["dataset"] == dataset]
        ranking = statistics.rank_architectures(runs, mse)
        if ranking is None or architecture not in set(runs["architecture"]):
            continue
        if ranking.winner == architecture:
            answer = "holds"
        elif architecture == ranking.best or architecture in ranking.tied_with:
            answer = "is not shown: it ties for the lowest MSE"
        else:
            answer = "does not hold"
        means = runs.groupby("architecture")["mse"].mean().sort_values()
        place = list(means.index).index(architecture) + 1
        name = DISPLAY_NAMES[dataset]
        lines.append(
            f"- \"The {architecture} model suits {name}\" {answer}. On {name}, {_best_phrase(ranking, seed_summary.noise_name(runs))}; "
            f"the {architecture} model ranks {place} of {len(means)} "
            f"(mean MSE {means[architecture]:.4f}, best {means.iloc[0]:.4f})."
        )
    return lines
