"""Worker process: train and score one run, then write its record.

Started by an executor as `python -m bench.worker RUN_FOLDER`, with
`KERAS_BACKEND` and the backend's other variables already set, because Keras
reads them once at import. The run folder contains `spec.json`; the worker writes
`record.json` and `samples.npz` beside it.

Exit status: 0 when the run succeeded, 1 when it failed and the record gives
the reason, 2 when the specification could not be read, 3 when the runner
died first and nothing was written.
"""

import logging
import os
import pathlib
import sys
import time
import traceback
from typing import Any

from bench import config, probe, records
from bench.executor import model_record

logger = logging.getLogger("bench.worker")

# Exit status of a worker whose runner died. No process reads its record any
# more and a new grid may already own the folder, so it writes nothing.
ORPHANED_STATUS = 3


def exit_if_orphaned(parent: int) -> None:
    """Exit at once when the process that started this worker is gone."""
    if os.getppid() != parent:
        os._exit(ORPHANED_STATUS)


def _score_model(model, splits, dataset, spec: config.RunSpec):
    # Imported here so that a failure to import them is recorded like any other.
    from bench import masks, scoring

    test_labels = dataset.y_test[: len(splits.test)]
    test_masks = masks.make_masks(len(splits.test), spec.mask_seed)
    samples = scoring.sample_indices(test_labels)

    def predict(images):
        return model.predict(images, batch_size=1024, verbose=0)

    started = time.perf_counter()
    scores, outputs, diagnostics = scoring.score(predict, splits.test, test_masks, samples)
    scoring_seconds = time.perf_counter() - started
    outputs["original"] = splits.test[samples]
    outputs["indices"] = samples
    return scores, outputs, diagnostics, scoring_seconds


def _probe_codings(model, splits, dataset) -> dict[str, Any]:
    """Fit the linear probe on the codings of the training images; score it on the test images."""
    logger.info("fitting the linear probe on the codings of %d training images", len(splits.train))
    train_codings = model.encoder.predict(splits.train, batch_size=1024, verbose=0)
    test_codings = model.encoder.predict(splits.test, batch_size=1024, verbose=0)
    result = probe.fit_probe(
        train_codings, dataset.y_train[: len(splits.train)], test_codings, dataset.y_test[: len(splits.test)]
    )
    if not result.converged:
        logger.warning("the linear probe did not converge in %d iterations", probe.MAX_ITERATIONS)
    return result.to_dict()


def run(spec: config.RunSpec, folder: pathlib.Path, parent: int) -> dict[str, Any]:
    """Train and score one model; return its record, failed or not.

    `parent` is the process id of the runner; training stops if it dies.
    """
    import backends

    plugin = backends.get_backend(spec.backend)
    record = model_record(spec)
    try:
        import keras

        reported = keras.backend.backend()
        record["backend_reported"] = reported
        if reported != spec.backend:
            raise RuntimeError(
                f"Keras runs on backend {reported!r}, expected {spec.backend!r}; "
                f"KERAS_BACKEND is {os.environ.get('KERAS_BACKEND')!r}"
            )
        threads = spec.threads or os.cpu_count() or 1
        plugin.configure_worker(threads)

        from bench import architectures, data, training
        from bench.splits import make_splits

        dataset = data.load_dataset(spec.dataset, spec.data_dir)
        record["data"] = dataset.source.to_dict()
        splits = make_splits(dataset.x_train, dataset.x_test, spec.profile)
        record["data"].update(
            {
                "train_images": len(splits.train),
                "validation_images": len(splits.validation),
                "test_images": len(splits.test),
            }
        )

        keras.utils.set_random_seed(spec.seed)
        model = architectures.build_autoencoder(spec.architecture, spec.codings_size)
        record["parameters"] = model.parameter_counts()
        record["macs_per_image"] = model.macs_per_image()
        logger.info(
            "training %s on %s (%d parameters, %d images)",
            spec.architecture,
            spec.dataset,
            record["parameters"]["total"],
            len(splits.train),
        )
        class StopWhenOrphaned(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                exit_if_orphaned(parent)

        record["training"] = training.train(
            model.autoencoder, splits, spec.profile, spec.architecture, (StopWhenOrphaned(),), plugin.COMPILE_OPTIONS
        )

        logger.info("scoring on %d test images", len(splits.test))
        scores, outputs, diagnostics, scoring_seconds = _score_model(model.autoencoder, splits, dataset, spec)
        record["probe"] = _probe_codings(model, splits, dataset)
        scores[probe.METRIC_KEY] = record["probe"]["accuracy"]
        record["metrics"] = scores
        record["collapse_check"] = diagnostics
        if diagnostics["collapsed"]:
            logger.warning(
                "the model has collapsed: its reconstructions vary %.4f from image to image, the images %.4f",
                diagnostics["output_spread"],
                diagnostics["input_spread"],
            )
        record["scoring"] = {"wall_seconds": scoring_seconds, "mask_seed": spec.mask_seed}
        records.write_samples(folder / records.SAMPLES_NAME, outputs)
    except Exception as error:  # noqa: BLE001 - every failure becomes a failed record
        logger.error("run %s failed: %s", spec.run_id, error)
        logger.debug("%s", traceback.format_exc())
        record["status"] = "failed"
        record["reason"] = f"{type(error).__name__}: {error}"
    return record


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    if len(arguments) != 1:
        logger.error("usage: python -m bench.worker RUN_FOLDER (received %s)", arguments)
        return 2
    folder = pathlib.Path(arguments[0])
    try:
        spec = config.RunSpec.from_dict(records.read_json(folder / records.SPEC_NAME))
    except (OSError, ValueError, TypeError, KeyError) as error:
        logger.error("cannot read the run specification in %s: %s", folder, error)
        return 2

    parent = os.getppid()
    record = run(spec, folder, parent)
    exit_if_orphaned(parent)
    records.write_json(folder / records.RECORD_NAME, record)
    return 0 if record["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
