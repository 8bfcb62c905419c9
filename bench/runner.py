"""Run a grid: check the inputs, train every model, add the reference rows, report.

The grid is a list of independent `RunSpec`s handed to an executor. The data
is loaded and validated here first, so a missing or corrupt file stops the
grid before any training starts.
"""

import dataclasses
import itertools
import logging
import pathlib
import time
from typing import Any

import backends
from bench import config, data, masks, probe, provenance, records, scoring
from bench import report as report_module
from bench.executor import LocalProcessExecutor, unfinished_record
from bench.lock import OutputLock
from bench.splits import make_splits

logger = logging.getLogger(__name__)

REFERENCE_PREDICTORS = ("mean_image", "zero_fill")
# Features the linear probe is fitted to, besides the codings of each model.
REFERENCE_PROBES = ("raw_pixels", "pca")


@dataclasses.dataclass(frozen=True)
class GridSettings:
    """The grid to run and the folder for its results."""

    datasets: tuple[str, ...]
    architectures: tuple[str, ...]
    backends: tuple[str, ...]
    seeds: tuple[int, ...]
    profile: config.Profile
    output_dir: pathlib.Path
    data_dir: str | None = None
    codings_size: int = config.DEFAULT_CODINGS_SIZE
    mask_seed: int = config.DEFAULT_MASK_SEED
    jobs: int = 1
    allow_download: bool = True
    resume: bool = False

    def __post_init__(self):
        checks = (
            ("dataset", self.datasets, data.DATASETS),
            ("architecture", self.architectures, config.ARCHITECTURES),
            ("backend", self.backends, backends.BACKENDS),
        )
        for label, chosen, valid in checks:
            unknown = [name for name in chosen if name not in valid]
            if unknown:
                raise ValueError(
                    f"Unknown {label} {', '.join(map(repr, unknown))}: "
                    f"expected one of {', '.join(valid)}."
                )
            if not chosen:
                raise ValueError(f"Choose at least one {label}.")
        if self.codings_size < 1:
            raise ValueError(f"The codings size must be positive, received {self.codings_size}.")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, received {self.jobs}.")

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["output_dir"] = str(self.output_dir)
        return values


def build_specs(settings: GridSettings) -> list[config.RunSpec]:
    """Return one specification per dataset, architecture, backend and seed."""
    return [
        config.RunSpec(
            dataset=dataset,
            architecture=architecture,
            backend=backend,
            seed=seed,
            profile=settings.profile,
            codings_size=settings.codings_size,
            mask_seed=settings.mask_seed,
            data_dir=settings.data_dir,
        )
        for dataset, architecture, backend, seed in itertools.product(
            settings.datasets, settings.architectures, settings.backends, settings.seeds
        )
    ]


def reference_records(dataset: data.Dataset, settings: GridSettings) -> list[dict[str, Any]]:
    """Score the reference predictors on the same test images and masks as the models."""
    splits = make_splits(dataset.x_train, dataset.x_test, settings.profile)
    test_masks = masks.make_masks(len(splits.test), settings.mask_seed)
    samples = scoring.sample_indices(dataset.y_test[: len(splits.test)])
    predictors = {
        "mean_image": (scoring.mean_image_predictor(splits.train), True),
        "zero_fill": (scoring.zero_fill_predictor, False),
    }
    found = []
    for name, (predict, reconstruction) in predictors.items():
        run_id = f"{dataset.name}-reference-{name}"
        record = records.new_record(run_id, "reference", dataset.name, name, "none")
        scores, outputs, _ = scoring.score(predict, splits.test, test_masks, samples, reconstruction)
        outputs["original"] = splits.test[samples]
        outputs["indices"] = samples
        record.update(
            {
                "profile": settings.profile.name,
                "data": dataset.source.to_dict(),
                "metrics": scores,
                "scoring": {"mask_seed": settings.mask_seed, "test_images": len(splits.test)},
                "provenance": provenance.collect(),
            }
        )
        folder = records.run_folder(settings.output_dir, run_id)
        records.write_samples(folder / records.SAMPLES_NAME, outputs)
        records.write_json(folder / records.RECORD_NAME, record)
        found.append(record)
    found += probe_references(dataset, settings, splits)
    return found


def probe_references(dataset: data.Dataset, settings: GridSettings, splits) -> list[dict[str, Any]]:
    """Score the linear probe on the raw pixels and on PCA with as many components as the codings."""
    train_labels = dataset.y_train[: len(splits.train)]
    test_labels = dataset.y_test[: len(splits.test)]
    components = min(settings.codings_size, len(splits.train), splits.train[0].size)
    features = {
        "raw_pixels": (splits.train, splits.test),
        "pca": probe.pca_features(splits.train, splits.test, components),
    }
    assert tuple(features) == REFERENCE_PROBES
    found = []
    for name, (train_features, test_features) in features.items():
        run_id = f"{dataset.name}-reference-{name}"
        path = records.run_folder(settings.output_dir, run_id) / records.RECORD_NAME
        inputs = {
            "checksums": dataset.source.to_dict().get("checksums"),
            "train_images": len(splits.train),
            "test_images": len(splits.test),
            "pca_components": components if name == "pca" else None,
        }
        try:
            earlier = records.read_json(path) if path.is_file() else None
        except (OSError, ValueError):
            earlier = None  # unreadable: fit again and overwrite it
        # A resumed grid keeps a probe fitted to the same images: refitting
        # the raw-pixel probe on 55,000 images takes about a minute.
        if earlier is not None and earlier.get("status") == "ok" and earlier.get("probe_inputs") == inputs:
            logger.info("%s: keeping the linear probe on %s from %s", dataset.name, name.replace("_", " "), path)
            found.append(earlier)
            continue
        logger.info("%s: fitting the linear probe on %s", dataset.name, name.replace("_", " "))
        result = probe.fit_probe(train_features, train_labels, test_features, test_labels)
        record = records.new_record(run_id, "reference", dataset.name, name, "none")
        record.update(
            {
                "profile": settings.profile.name,
                "data": dataset.source.to_dict(),
                "metrics": {probe.METRIC_KEY: result.accuracy},
                "probe": {**result.to_dict(), "pca_components": inputs["pca_components"]},
                "probe_inputs": inputs,
                "provenance": provenance.collect(),
            }
        )
        records.write_json(path, record)
        found.append(record)
    return found


class GridError(RuntimeError):
    """The grid cannot start; the message gives the reason and the fix."""


def _is_complete(record: dict[str, Any] | None, spec: config.RunSpec, output_dir: pathlib.Path) -> bool:
    # A run counts as done only if it succeeded with the same settings and its
    # sample images exist, because the figures need them.
    if record is None or record.get("status") != "ok" or record.get("fingerprint") != spec.fingerprint():
        return False
    return (records.run_folder(output_dir, spec.run_id) / records.SAMPLES_NAME).exists()


def run_grid(settings: GridSettings, executor=None) -> list[dict[str, Any]]:
    """Run the whole grid and write the result files; return every record.

    Raises:
        OutputLocked: if another aebench process is using the output folder.
        GridError: if the folder already contains model results and `settings.resume`
            is off, since running again would overwrite finished work.
        DataError: if a dataset is missing or invalid.
    """
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    with OutputLock(settings.output_dir):
        return _run_locked(settings, executor)


def _run_locked(settings: GridSettings, executor) -> list[dict[str, Any]]:
    output_dir = settings.output_dir
    existing = {record["run_id"]: record for record in records.load_records(output_dir)}
    models = [record for record in existing.values() if record["kind"] == "model"]
    if models and not settings.resume:
        raise GridError(
            f"{output_dir} already contains {len(models)} model record(s); "
            f"use --resume to continue that grid, or choose a new --output"
        )
    started = time.perf_counter()

    # Load and validate every dataset before training or writing anything.
    loaded = {
        name: data.load_dataset(name, settings.data_dir, allow_download=settings.allow_download)
        for name in settings.datasets
    }
    records.write_json(
        output_dir / report_module.GRID_NAME,
        {"settings": settings.to_dict(), "provenance": provenance.collect()},
    )
    for dataset in loaded.values():
        logger.info("%s: loaded from %s (%s)", dataset.name, dataset.source.location, dataset.source.kind)

    all_records: list[dict[str, Any]] = []
    for dataset in loaded.values():
        all_records.extend(reference_records(dataset, settings))

    executor = executor or LocalProcessExecutor(output_dir, jobs=settings.jobs)
    unavailable = {}
    for backend in settings.backends:
        unavailable[backend] = executor.check_backend(backend)

    to_run = []
    for spec in build_specs(settings):
        reason = unavailable[spec.backend]
        if reason is not None:
            logger.warning("%s: skipped because %s", spec.run_id, reason)
            record = unfinished_record(spec, "skipped", reason)
            records.write_json(records.run_folder(output_dir, spec.run_id) / records.RECORD_NAME, record)
            all_records.append(record)
        elif _is_complete(existing.get(spec.run_id), spec, output_dir):
            logger.info("%s: already complete, kept", spec.run_id)
            all_records.append(existing[spec.run_id])
        else:
            to_run.append(spec)

    to_run.sort(key=lambda spec: config.ARCHITECTURES_BY_COST.index(spec.architecture))
    logger.info("running %d model(s)", len(to_run))
    all_records.extend(executor.run(to_run))

    report_module.write_report(output_dir)
    logger.info("grid finished in %.0f s; results in %s", time.perf_counter() - started, output_dir)
    return all_records
