"""Turn result records into tidy tables.

`results.csv` is long ("tidy"): one row per run and metric, so pandas and
seaborn can group and plot it without reshaping. A run that failed or was
skipped keeps one row with an empty metric, so it stays visible.
"""

import dataclasses
from typing import Any

import pandas as pd

from bench import config
from bench.masks import MASKS


@dataclasses.dataclass(frozen=True)
class Metric:
    """A reported score and whether a lower value is better."""

    key: str
    label: str
    lower_is_better: bool
    phrase: str = ""

    @property
    def in_sentence(self) -> str:
        """The metric's name inside a sentence of the verdict."""
        return self.phrase or self.label


RECONSTRUCTION_METRICS = (
    Metric("mse", "MSE", True),
    Metric("psnr", "PSNR (dB)", False, "PSNR"),
    Metric("ssim", "SSIM", False),
)
MASK_LABELS = {
    "bottom_half": "bottom half",
    "right_half": "right half",
    "center_square": "centre 14x14",
    "random_half": "random 50%",
}
INPAINTING_METRICS = tuple(
    metric
    for mask in MASKS
    for metric in (
        Metric(
            f"inpaint_{mask}_hidden_mse",
            f"{MASK_LABELS[mask]}: hidden MSE",
            True,
            f"hidden-pixel MSE with the {MASK_LABELS[mask]} hidden",
        ),
        Metric(
            f"inpaint_{mask}_ssim",
            f"{MASK_LABELS[mask]}: SSIM",
            False,
            f"inpainting SSIM with the {MASK_LABELS[mask]} hidden",
        ),
    )
)
# Accuracy of a logistic regression on the codings (see bench.probe).
PROBE_METRICS = (Metric("probe_accuracy", "probe accuracy", False, "linear-probe accuracy of the codings"),)
METRICS = RECONSTRUCTION_METRICS + INPAINTING_METRICS + PROBE_METRICS
METRICS_BY_KEY = {metric.key: metric for metric in METRICS}

COLUMNS = (
    "run_id",
    "kind",
    "status",
    "reason",
    "dataset",
    "architecture",
    "backend",
    "backend_reported",
    "seed",
    "profile",
    "parameters",
    "macs",
    "epochs_run",
    "best_epoch",
    "images_seen",
    "train_seconds",
    "val_mse",
    "collapsed",
    "metric",
    "value",
)


def long_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Return the tidy table of all records: one row per run and metric."""
    rows = []
    for record in records:
        training = record.get("training") or {}
        base = {
            "run_id": record["run_id"],
            "kind": record["kind"],
            "status": record["status"],
            "reason": record.get("reason"),
            "dataset": record["dataset"],
            "architecture": record["architecture"],
            "backend": record["backend"],
            "backend_reported": record.get("backend_reported"),
            "seed": record.get("seed"),
            "profile": record.get("profile"),
            "parameters": (record.get("parameters") or {}).get("total"),
            "macs": (record.get("macs_per_image") or {}).get("total"),
            "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch"),
            "images_seen": _images_seen(record),
            "train_seconds": training.get("wall_seconds"),
            "val_mse": _kept_val_mse(record),
            "collapsed": (record.get("collapse_check") or {}).get("collapsed"),
        }
        metrics = record.get("metrics") or {}
        if record["status"] != "ok" or not metrics:
            rows.append({**base, "metric": None, "value": None})
            continue
        for metric in METRICS:
            if metric.key in metrics:
                rows.append({**base, "metric": metric.key, "value": metrics[metric.key]})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    # Nullable integers, so a missing value does not turn 0 into 0.0 in the CSV.
    for column in ("seed", "parameters", "macs", "epochs_run", "best_epoch", "images_seen"):
        table[column] = table[column].astype("Int64")
    return table


def _kept_val_mse(record: dict[str, Any]) -> float | None:
    """Return the validation MSE of the weights a run kept.

    That is per-pixel MSE on the 5,000 held-out training images, as Keras
    reports it: of the best epoch when early stopping restored its weights,
    else of the last epoch.
    """
    training = record.get("training") or {}
    profile = (record.get("spec") or {}).get("profile")
    restored = profile is not None and config.Profile(**profile).early_stopping
    return training.get("best_val_loss" if restored else "final_val_loss")


def _images_seen(record: dict[str, Any]) -> int | None:
    """Return how many training images a run's training used."""
    training = record.get("training") or {}
    if training.get("images_seen") is not None:
        return training["images_seen"]
    # Records written before the count was kept trained whole epochs.
    train_images = (record.get("data") or {}).get("train_images")
    if training.get("epochs_run") is None or train_images is None:
        return None
    return training["epochs_run"] * train_images


def model_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Return the successful model rows, one per run, one column per metric."""
    models = table[(table["kind"] == "model") & (table["status"] == "ok")]
    if models.empty:
        return pd.DataFrame()
    info_columns = [
        "dataset",
        "architecture",
        "backend",
        "seed",
        "parameters",
        "macs",
        "epochs_run",
        "best_epoch",
        "images_seen",
        "train_seconds",
        "val_mse",
        "collapsed",
    ]
    info = models.drop_duplicates("run_id").set_index("run_id")[info_columns]
    wide = models.pivot(index="run_id", columns="metric", values="value")
    scores = info.join(wide).reset_index()
    return scores.sort_values(["dataset", "architecture", "backend", "seed"], ignore_index=True)


def ranked(scores: pd.DataFrame) -> pd.DataFrame:
    """Return the rows that may be ranked: collapsed models are left out."""
    if scores.empty or "collapsed" not in scores:
        return scores
    return scores[~collapsed_mask(scores)]


def collapsed_mask(scores: pd.DataFrame) -> pd.Series:
    """Return True for the rows of collapsed models; a missing flag counts as False."""
    if "collapsed" not in scores:
        return pd.Series(False, index=scores.index)
    return scores["collapsed"].map(lambda value: value is not None and not pd.isna(value) and bool(value))


def best_architectures(scores: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """Return, per metric, the architecture with the best mean over backends and seeds.

    Collapsed models are not ranked.
    """
    scores = ranked(scores)
    winners = {}
    for metric in METRICS:
        if metric.key not in scores:
            continue
        means = scores.groupby("architecture")[metric.key].mean().dropna()
        if means.empty:
            continue
        architecture = means.idxmin() if metric.lower_is_better else means.idxmax()
        winners[metric.key] = (architecture, float(means[architecture]))
    return winners
