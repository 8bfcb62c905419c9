"""Speed of training, inference and scoring, for Keras and a native loop of the same model.

Every training benchmark starts from weights made with seed 0 and runs the
same batches in the same order. So the final weights of a Keras setting can
be compared with those of the harness's own setting, and a speed change
counts only if it leaves the numbers alone.
"""

import importlib
import pathlib

import numpy as np
import pytest

import backends
from bench import config, masks, records, scoring
from benchmarks.workload import BATCH_SIZE, PROFILE, STEPS

ROUNDS = 5
INFERENCE_IMAGES = 10_000
# Batch size of `model.predict` in the harness's scoring.
PREDICT_BATCH = 1024
QUALITY_IMAGES = 2_000
BASELINE = pathlib.Path(__file__).resolve().parents[1] / "results" / "baseline"

# Keras settings measured side by side: the harness's own ("keras", with the
# backend plug-in's COMPILE_OPTIONS), Keras's defaults, and XLA or torch.compile.
KERAS_SETTINGS = ("keras", "keras defaults", "keras jit_compile=True")


def compile_options(setting: str, backend: str) -> dict:
    harness = dict(backends.get_backend(backend).COMPILE_OPTIONS)
    if setting == "keras":
        return harness
    if setting == "keras defaults":
        return {}
    return {**harness, "jit_compile": True}

# Final weights of the harness's setting, per architecture, to compare the others with.
_reference_weights: dict[str, list[np.ndarray]] = {}


def baseline_quality(architecture: str, backend: str) -> dict[str, float]:
    """Return the committed quick-profile scores of this model on MNIST, if any."""
    path = BASELINE / records.RUNS_FOLDER / config.make_run_id("mnist", architecture, backend, 0) / records.RECORD_NAME
    if not path.is_file():
        return {}
    return {key: round(value, 5) for key, value in records.read_json(path)["metrics"].items()}


def build_keras(architecture: str, settings: dict):
    import keras

    from bench.architectures import build_autoencoder

    keras.utils.set_random_seed(0)
    model = build_autoencoder(architecture).autoencoder
    model.compile(optimizer=keras.optimizers.Adam(PROFILE.learning_rate), loss="mse", **settings)
    return model


def native_trainer(backend: str, architecture: str):
    module = importlib.import_module(f"benchmarks.native_{backend}")
    return module.NativeTrainer(architecture, config.DEFAULT_CODINGS_SIZE, PROFILE.learning_rate)


def mse_of(predictions: np.ndarray, images: np.ndarray) -> float:
    return float(np.mean((np.clip(predictions, 0, 1) - images) ** 2))




def describe(benchmark, backend, threads, architecture, implementation, images):
    benchmark.group = f"{backend} {architecture}"
    benchmark.extra_info.update(
        {
            "backend": backend,
            "architecture": architecture,
            "implementation": implementation,
            "threads": threads,
            "batch_size": BATCH_SIZE,
            "images_per_round": images,
            "baseline_quality": baseline_quality(architecture, backend),
        }
    )


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
@pytest.mark.parametrize("setting", KERAS_SETTINGS)
def test_train_keras(benchmark, mnist, backend_name, threads, architecture, setting):
    _, train, test = mnist
    images = train[: STEPS[architecture] * BATCH_SIZE]
    settings = compile_options(setting, backend_name)
    if setting == "keras defaults" and settings == compile_options("keras", backend_name):
        pytest.skip(f"the harness uses Keras's defaults on {backend_name}")
    model = build_keras(architecture, settings)
    describe(benchmark, backend_name, threads, architecture, setting, len(images))
    benchmark.extra_info["compile_settings"] = {key: str(value) for key, value in settings.items()}
    # Keras turns jit_compile off by itself where the model or backend does not
    # support it (TensorFlow with op determinism on, as in the harness).
    benchmark.extra_info["jit_compile_in_effect"] = bool(model.jit_compile)

    def fit():
        model.fit(images, images, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)

    benchmark.pedantic(fit, rounds=ROUNDS, warmup_rounds=1, iterations=1)

    weights = model.get_weights()
    if setting == "keras":
        _reference_weights[architecture] = weights
    elif architecture in _reference_weights:
        difference = max(float(np.max(np.abs(a - b))) for a, b in zip(weights, _reference_weights[architecture]))
        benchmark.extra_info["max_weight_difference_from_keras"] = difference
    benchmark.extra_info["test_mse"] = mse_of(model.predict(test[:QUALITY_IMAGES], verbose=0), test[:QUALITY_IMAGES])
    benchmark.extra_info["parameters"] = int(model.count_params())


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_train_native(benchmark, mnist, backend_name, threads, architecture):
    _, train, test = mnist
    images = train[: STEPS[architecture] * BATCH_SIZE]
    trainer = native_trainer(backend_name, architecture)
    describe(benchmark, backend_name, threads, architecture, f"native {backend_name}", len(images))

    benchmark.pedantic(trainer.train_steps, args=(images, BATCH_SIZE), rounds=ROUNDS, warmup_rounds=1, iterations=1)

    predictions = trainer.predict(test[:QUALITY_IMAGES], PREDICT_BATCH)
    benchmark.extra_info["test_mse"] = mse_of(predictions, test[:QUALITY_IMAGES])
    benchmark.extra_info["parameters"] = trainer.parameter_count()


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
@pytest.mark.parametrize("implementation", ["keras", "native"])
def test_inference(benchmark, mnist, backend_name, threads, architecture, implementation):
    _, _, test = mnist
    images = test[:INFERENCE_IMAGES]
    if implementation == "keras":
        model = build_keras(architecture, compile_options("keras", backend_name))

        def predict():
            return model.predict(images, batch_size=PREDICT_BATCH, verbose=0)
    else:
        trainer = native_trainer(backend_name, architecture)
        implementation = f"native {backend_name}"

        def predict():
            return trainer.predict(images, PREDICT_BATCH)

    describe(benchmark, backend_name, threads, architecture, implementation, len(images))
    benchmark.group = f"{backend_name} {architecture} inference"
    outputs = benchmark.pedantic(predict, rounds=3, warmup_rounds=1, iterations=1)
    assert outputs.shape == images.shape


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_scoring(benchmark, mnist, backend_name, threads, architecture):
    """Time the harness's scoring of the whole test set: predictions, MSE, PSNR, SSIM and 4 masks."""
    dataset, train, test = mnist
    model = build_keras(architecture, compile_options("keras", backend_name))
    # One short epoch, so that the scores describe a model that has learned something.
    model.fit(train[:10_000], train[:10_000], batch_size=BATCH_SIZE, epochs=1, verbose=0)
    test_masks = masks.make_masks(len(test), config.DEFAULT_MASK_SEED)
    samples = scoring.sample_indices(dataset.y_test)

    def predict(images):
        return model.predict(images, batch_size=PREDICT_BATCH, verbose=0)

    describe(benchmark, backend_name, threads, architecture, "keras", len(test))
    benchmark.group = f"{backend_name} scoring"
    scores, _, _ = benchmark.pedantic(
        scoring.score, args=(predict, test, test_masks, samples), rounds=1, warmup_rounds=0, iterations=1
    )
    benchmark.extra_info["scores_after_one_epoch_of_10000_images"] = {k: round(v, 5) for k, v in scores.items()}
    assert np.isfinite(list(scores.values())).all()
