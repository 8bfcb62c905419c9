"""Profile `model.fit` and report where the time goes, by package.

    python -m benchmarks.profile_fit --keras-backend torch --output results/benchmarks/profile-torch.json

Runs cProfile over the same training steps as the speed benchmarks, after a
warm-up fit, and sums each function's own time (cProfile's tottime) by the
top-level package that defines it: Keras's Python code, the backend's Python
code, and the compiled kernels that cProfile records as built-in calls.

NOTE: cProfile records only Python functions and the built-ins they call. Time in
compiled code reached another way counts toward the Python function that
started it, so the split between Keras and the backend is approximate.
"""

import argparse
import cProfile
import json
import os
import pathlib
import pstats
import time

import backends
from benchmarks.workload import BATCH_SIZE, PROFILE, STEPS

SITE_MARKERS = ("site-packages/", "dist-packages/")


def package_of(filename: str, function: str) -> str:
    """Return the top-level package of a profiled function, or a label for built-ins."""
    if filename == "~":
        # Built-in functions: for torch these are its C++ operators.
        text = function.lower()
        for name in ("torch", "tensorflow", "numpy"):
            if name in text:
                return f"{name} (compiled)"
        return "built-in calls"
    for marker in SITE_MARKERS:
        if marker in filename:
            return filename.split(marker, 1)[1].split("/", 1)[0]
    return "python standard library and others"


def profile(architecture: str, backend: str, threads: int) -> dict:
    import keras
    import numpy as np

    from bench import data
    from bench.architectures import build_autoencoder
    from bench.splits import to_unit_range

    dataset = data.load_dataset("mnist", data.default_data_dir())
    images = to_unit_range(dataset.x_train[: STEPS[architecture] * BATCH_SIZE])
    keras.utils.set_random_seed(0)
    model = build_autoencoder(architecture).autoencoder
    model.compile(optimizer=keras.optimizers.Adam(PROFILE.learning_rate), loss="mse")

    def fit():
        model.fit(images, images, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)

    fit()  # warm-up: builds and traces the train function
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(fit)
    wall = time.perf_counter() - started

    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, own_time, _, _) in pstats.Stats(profiler).stats.items():
        package = package_of(filename, function)
        totals[package] = totals.get(package, 0.0) + own_time
    profiled = sum(totals.values())
    shares = {name: seconds / profiled for name, seconds in sorted(totals.items(), key=lambda item: -item[1])}
    return {
        "backend": backend,
        "architecture": architecture,
        "threads": threads,
        "images": int(len(images)),
        "wall_seconds_with_profiler": wall,
        "share_of_profiled_time": {name: round(share, 4) for name, share in shares.items() if share >= 0.005},
        "numpy_version": np.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keras-backend", choices=("tensorflow", "torch"), required=True, help="Keras backend to profile")
    parser.add_argument("--threads", type=int, default=1, help="threads, as in a harness worker; default: 1")
    parser.add_argument("--output", type=pathlib.Path, required=True, help="JSON file to write")
    arguments = parser.parse_args()
    plugin = backends.get_backend(arguments.keras_backend)
    os.environ.update(plugin.worker_environment(arguments.threads))
    plugin.configure_worker(arguments.threads)
    results = [profile(name, arguments.keras_backend, arguments.threads) for name in ("stacked", "conv")]
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(results, indent=2) + "\n")
    print(arguments.output)


if __name__ == "__main__":
    main()
