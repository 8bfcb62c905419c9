"""Figures of a grid, written as PNG files; nothing is shown on screen.

- `<dataset>_metrics.png`: every metric by architecture and backend, with
  the mean-image reference as a dashed line.
- `<dataset>_<architecture>_reconstructions.png`: originals on the first
  row, then one row of reconstructions per backend and seed.
- `<dataset>_inpainting_<mask>.png`: the masked input, the restored image of
  every model, and the original.
"""

import logging
import pathlib
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt  # noqa: E402 - after choosing the Agg backend
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench import records as records_module  # noqa: E402
from bench import statistics, tables  # noqa: E402
from bench.data import DISPLAY_NAMES  # noqa: E402
from bench.masks import MASKS  # noqa: E402

logger = logging.getLogger(__name__)


def _save(figure: plt.Figure, path: pathlib.Path) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def _confidence_interval(values) -> tuple[float, float]:
    # The same 95% interval as the tables; a single seed has none, and seaborn draws no bar.
    interval = statistics.mean_interval(values)
    return interval.low, interval.high


def metrics_figure(dataset: str, table: pd.DataFrame, folder: pathlib.Path) -> pathlib.Path | None:
    """Plot every metric of one dataset as bars by architecture, one colour per backend."""
    models = table[(table["dataset"] == dataset) & (table["kind"] == "model") & (table["status"] == "ok")]
    if models.empty:
        return None
    labels = {
        metric.key: f"{metric.label} ({'lower' if metric.lower_is_better else 'higher'} is better)"
        for metric in tables.METRICS
    }
    models = models.assign(metric_label=models["metric"].map(labels))
    grid = sns.catplot(
        data=models,
        x="architecture",
        y="value",
        hue="backend",
        col="metric_label",
        col_order=[labels[key] for key in labels if key in set(models["metric"])],
        col_wrap=4,
        kind="bar",
        sharey=False,
        height=2.6,
        aspect=1.1,
        errorbar=_confidence_interval,
    )
    reference = table[
        (table["dataset"] == dataset) & (table["architecture"] == "mean_image") & (table["status"] == "ok")
    ]
    reference_values = dict(zip(reference["metric"], reference["value"]))
    keys_by_label = {label: key for key, label in labels.items()}
    for label, axis in zip(grid.col_names, grid.axes.flat):
        metric_key = keys_by_label[label]
        if metric_key in reference_values:
            axis.axhline(reference_values[metric_key], color="grey", linestyle="--", linewidth=1)
        axis.set_title(label, fontsize=9)
        axis.set_xlabel("")
        axis.set_ylabel("")
    grid.figure.suptitle(
        f"{DISPLAY_NAMES[dataset]}: test-set scores (bars: mean over seeds; error bars: 95% CI; dashed: mean-image reference)",
        y=1.02,
    )
    return _save(grid.figure, folder / f"{dataset}_metrics.png")


def _image_grid(rows: list[tuple[str, np.ndarray]], title: str) -> plt.Figure:
    columns = max(len(images) for _, images in rows)
    figure, axes = plt.subplots(
        len(rows), columns, figsize=(columns * 0.9 + 1.6, len(rows) * 0.95 + 0.5), squeeze=False
    )
    for row_axes, (label, images) in zip(axes, rows):
        for axis, image in zip(row_axes, images):
            axis.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0)
        for axis in row_axes:
            axis.set_xticks([])
            axis.set_yticks([])
        row_axes[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    figure.suptitle(title, fontsize=10)
    return figure


def _samples(output_dir: pathlib.Path, record: dict[str, Any]) -> dict[str, np.ndarray] | None:
    path = records_module.run_folder(output_dir, record["run_id"]) / records_module.SAMPLES_NAME
    if not path.exists():
        logger.warning("no sample images for %s at %s", record["run_id"], path)
        return None
    with np.load(path) as stored:
        return dict(stored)


def _model_label(record: dict[str, Any]) -> str:
    return f"{record['architecture']}\n{record['backend']} s{record.get('seed')}"


def image_figures(output_dir: pathlib.Path, records: list[dict[str, Any]], folder: pathlib.Path) -> list[pathlib.Path]:
    """Draw the reconstruction and inpainting grids of every dataset."""
    written = []
    ok = [record for record in records if record["status"] == "ok"]
    for dataset in DISPLAY_NAMES:
        models = [r for r in ok if r["dataset"] == dataset and r["kind"] == "model"]
        zero_fill = next(
            (r for r in ok if r["dataset"] == dataset and r["architecture"] == "zero_fill"), None
        )
        if not models:
            continue
        model_samples = [(record, _samples(output_dir, record)) for record in models]
        model_samples = [(record, samples) for record, samples in model_samples if samples is not None]
        if not model_samples:
            continue
        original = model_samples[0][1]["original"]

        for architecture in sorted({record["architecture"] for record, _ in model_samples}):
            rows = [("original", original)]
            rows += [
                (f"{record['backend']} s{record.get('seed')}", samples["reconstruction"])
                for record, samples in model_samples
                if record["architecture"] == architecture
            ]
            title = f"{DISPLAY_NAMES[dataset]}, {architecture}: originals (top) and reconstructions"
            figure = _image_grid(rows, title)
            written.append(_save(figure, folder / f"{dataset}_{architecture}_reconstructions.png"))

        zero_fill_samples = _samples(output_dir, zero_fill) if zero_fill else None
        for mask in MASKS:
            key = f"inpaint_{mask}"
            rows = []
            if zero_fill_samples is not None:
                rows.append(("masked input", zero_fill_samples[key]))
            rows += [(_model_label(record), samples[key]) for record, samples in model_samples]
            rows.append(("original", original))
            title = f"{DISPLAY_NAMES[dataset]}, {tables.MASK_LABELS[mask]} hidden: restored images"
            figure = _image_grid(rows, title)
            written.append(_save(figure, folder / f"{dataset}_inpainting_{mask}.png"))
    return written
