"""Our numbers beside the published ones, and which architecture suits which dataset.

Géron's book (Hands-On Machine Learning with Scikit-Learn, Keras and
TensorFlow, 3rd edition, chapter 17) trains the three autoencoders on
Fashion-MNIST with 30 codings and shows each one's validation MSE in its
training logs. `suitability_lines` tests the view that the convolutional
model suits Fashion-MNIST and the recurrent model suits digits, with the
paired comparisons of `bench.statistics`.
"""

from typing import Any

import pandas as pd

from bench import config, seed_summary, statistics, tables
from bench.data import DATASETS, DISPLAY_NAMES

DATASET = "fashion_mnist"
CODINGS_SIZE = 30
# architecture: (epochs, validation MSE), the values quoted from the book's
# training logs. NOTE: they were not checked against a copy of the book here.
PUBLISHED = {"stacked": (20, 0.0132), "conv": (10, 0.0121), "recurrent": (10, 0.0104)}
SOURCE = "Géron, Hands-On Machine Learning, 3rd edition, chapter 17"
# The book's setup: 55,000 training images, Nadam, batches of 32 (the Keras
# default), fixed epochs.
BOOK_TRAIN_IMAGES = 55_000
BOOK_BATCH_SIZE = 32
# The view under test: each architecture and the dataset it would suit best.
CLAIMS = {"conv": "fashion_mnist", "recurrent": "mnist"}
# A mean fall of validation MSE over the last epoch from which a model counts
# as still learning.
SETTLED_FALL = 0.01


def _epochs_text(values: pd.Series) -> str:
    epochs = sorted({int(value) for value in values.dropna()})
    return ", ".join(map(str, epochs)) if epochs else "–"


def setup_differences(profile: config.Profile, codings_sizes: set[int], same_epochs: bool) -> list[str]:
    """Return how our runs were trained differently from the book's, as phrases."""
    differences = [f"Adam at {profile.learning_rate:g} instead of Nadam"]
    if profile.batch_size != BOOK_BATCH_SIZE:
        differences.append(f"batches of {profile.batch_size} instead of {BOOK_BATCH_SIZE}")
    train_images = profile.train_size or BOOK_TRAIN_IMAGES
    if train_images != BOOK_TRAIN_IMAGES:
        differences.append(f"{train_images:,} training images instead of {BOOK_TRAIN_IMAGES:,}")
    if profile.budget != "epochs":
        differences.append(f"an equal {profile.budget} budget instead of the book's epochs")
    elif not same_epochs:
        differences.append("other epoch counts than the book's")
    if profile.early_stopping:
        differences.append("early stopping, with the best epoch's weights kept")
    if codings_sizes != {CODINGS_SIZE}:
        differences.append(f"codings size {', '.join(map(str, sorted(codings_sizes)))} instead of {CODINGS_SIZE}")
    return differences


def comparison_lines(scores: pd.DataFrame, profile: config.Profile, codings_sizes: set[int]) -> list[str]:
    """Return the table of our validation MSE beside Géron's, for the Fashion-MNIST runs in `scores`."""
    ranked = tables.ranked(scores)
    if ranked.empty or "val_mse" not in ranked or ranked["val_mse"].dropna().empty:
        return []
    same_epochs = profile.budget == "epochs" and all(
        set(ranked.loc[ranked["architecture"] == name, "epochs_run"].dropna().astype(int)) <= {epochs}
        for name, (epochs, _) in PUBLISHED.items()
    )
    comparable = same_epochs and (profile.train_size or BOOK_TRAIN_IMAGES) == BOOK_TRAIN_IMAGES
    header = ["architecture", "Géron: epochs", "Géron: validation MSE", "ours: epochs", "ours: validation MSE", "ours ÷ Géron", "ours: test MSE"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    ours = {}
    for name, (epochs, published) in PUBLISHED.items():
        runs = ranked[ranked["architecture"] == name]
        if runs.empty:
            continue
        validation = statistics.mean_interval(runs["val_mse"])
        test = statistics.mean_interval(runs["mse"]) if "mse" in runs else statistics.mean_interval([])
        ours[name] = validation.mean
        cells = [
            name,
            str(epochs),
            f"{published:.4f}",
            _epochs_text(runs["epochs_run"]),
            seed_summary.format_interval(validation, "mse"),
            f"{validation.mean / published:.2f}" if comparable else "–",
            seed_summary.format_interval(test, "mse"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if not ours:
        return []

    note = (
        f"Published numbers: {SOURCE}, Fashion-MNIST with 30 codings. Ours: the validation MSE of the weights each "
        f"run kept (per-pixel MSE on the {config.VALIDATION_SIZE:,} held-out training images, the quantity Keras prints as val_loss), "
        f"mean over backends and seeds ± the half-width of its 95% interval; the test MSE is on {_test_images(profile)}. "
        f"Our setup differs from the book's: {'; '.join(setup_differences(profile, codings_sizes, same_epochs))}."
    )
    if not comparable:
        note += " With these differences only the order can be compared, so no ratio is given."
    if len(ours) < 2:
        return [note, "", *lines]
    published_order = sorted(ours, key=lambda name: PUBLISHED[name][1])
    our_order = sorted(ours, key=ours.get)
    order = (
        f"By mean, the book's order, best first, is {', '.join(published_order)}; ours is {', '.join(our_order)}"
        + (", the same." if published_order == our_order else ", which differs.")
    )
    if ranked.groupby("architecture").size().max() >= 2:
        order += " The intervals above show which of our gaps exceed the noise."
    return [note, "", *lines, "", order]


def _test_images(profile: config.Profile) -> str:
    """Return which test images a profile scores: all 10,000, or the first N."""
    if profile.test_size is None:
        return "the 10,000 test images"
    return f"the first {profile.test_size:,} test images"


def _gap_phrase(ranking: statistics.Ranking, architecture: str, noise: str) -> str:
    """Return how `architecture` compares with its nearest rival on the ranking, with the Holm-adjusted p-value."""
    rival = ranking.tied_with[0] if architecture == ranking.best and ranking.tied_with else ranking.best
    for comparison in ranking.comparisons:
        if {comparison.first, comparison.second} != {rival, architecture}:
            continue
        gap = seed_summary.format_value(abs(comparison.difference.mean), "mse")
        verdict = f"beyond {noise}" if comparison.better is not None else f"within {noise}"
        p_value = seed_summary.format_p(comparison.p_value)
        if architecture == ranking.best:
            return f"it is ahead of the {rival} model by {gap}, {verdict} (Holm-adjusted {p_value})"
        return f"the {rival} model is ahead of it by {gap}, {verdict} (Holm-adjusted {p_value})"
    return ""


def suitability_lines(scores: pd.DataFrame) -> list[str]:
    """Return one bullet per claim of CLAIMS, decided by the test-MSE ranking of its dataset."""
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
        means = runs.groupby("architecture")["mse"].mean().sort_values()
        place = list(means.index).index(architecture) + 1
        name = DISPLAY_NAMES[dataset]
        if not ranking.tested:
            answer = (
                f"cannot be tested with one run per architecture. On {name} the {architecture} model ranks "
                f"{place} of {len(means)} by test MSE ({means[architecture]:.4f}; lowest {means.iloc[0]:.4f}, "
                f"{means.index[0]})"
            )
        elif ranking.winner == architecture:
            answer = f"holds: on {name} the {architecture} model has the lowest mean test MSE ({means.iloc[0]:.4f}) and beats both others beyond {seed_summary.noise_name(runs)}"
        else:
            if architecture == ranking.best or architecture in ranking.tied_with:
                answer = "is not shown: it ties for the lowest test MSE"
            else:
                answer = "does not hold"
            answer += (
                f". On {name} the {architecture} model ranks {place} of {len(means)} by mean test MSE "
                f"({means[architecture]:.4f}; lowest mean {means.iloc[0]:.4f}, {means.index[0]})"
            )
            gap = _gap_phrase(ranking, architecture, seed_summary.noise_name(runs))
            if gap:
                answer += f"; {gap}"
        lines.append(f"- \"The {architecture} model suits {name}\" {answer}.")
    return lines


def last_epoch_fall(record: dict[str, Any]) -> float | None:
    """Return how much a run's validation MSE fell over its last epoch, as a fraction of the epoch before."""
    val_losses = ((record.get("training") or {}).get("history") or {}).get("val_loss") or []
    if len(val_losses) < 2 or not val_losses[-2] > 0:
        return None
    return (val_losses[-2] - val_losses[-1]) / val_losses[-2]


def settling_line(records: list[dict[str, Any]]) -> str:
    """Return a sentence on whether the models were still learning when training ended.

    A model whose validation MSE still fell in its last epoch may rank
    differently after longer training, so the ranking holds only for the
    budget the runs had.
    """
    falls: dict[str, dict[str, list[float]]] = {}
    for record in records:
        if record.get("kind") != "model" or record.get("status") != "ok":
            continue
        fall = last_epoch_fall(record)
        if fall is not None:
            falls.setdefault(record["dataset"], {}).setdefault(record["architecture"], []).append(fall)
    if not falls:
        return ""
    parts = []
    learning = []
    for dataset in [name for name in DATASETS if name in falls]:
        # Rounded as printed, so the rule agrees with the printed numbers.
        means = {
            architecture: round(sum(values) / len(values), 3)
            for architecture in config.ARCHITECTURES
            if (values := falls[dataset].get(architecture))
        }
        learning += [f"{DISPLAY_NAMES[dataset]} {name}" for name, mean in means.items() if mean >= SETTLED_FALL]
        text = ", ".join(f"{architecture} {_change_text(mean)}" for architecture, mean in means.items())
        parts.append(f"{DISPLAY_NAMES[dataset]}: {text}")
    line = "Over its last epoch, the validation MSE of a run changed on average by: " + "; ".join(parts) + "."
    if learning:
        return line + (
            f" Still learning (a fall of {SETTLED_FALL:.0%} or more): {', '.join(learning)}. These models may rank "
            "differently after longer training, so the answers above hold for this training budget."
        )
    return line + (
        f" No model's validation MSE fell by {SETTLED_FALL:.0%} or more in its last epoch, so longer training "
        "is unlikely to change the ranking much."
    )


def _change_text(fall: float) -> str:
    """Return a fall as a signed percentage change: a fall of 0.034 reads "−3.4%", a rise "+0.2%"."""
    return f"{-fall:+.1%}".replace("-", "−")
