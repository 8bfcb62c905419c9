"""TensorFlow backend plug-in."""

import backends

NAME = "tensorflow"
PACKAGES = ("keras", "tensorflow")
# Extra arguments to Model.compile. Sixteen steps per tf.function call trained
# 1.04x to 1.25x faster at batch 64 on one CPU thread and left the weights
# bit-identical (benchmarks/test_speed.py, BENCHMARKS.md).
COMPILE_OPTIONS = {"steps_per_execution": 16}


def unavailable_reason() -> str | None:
    return backends.missing_packages_reason(NAME, ("tensorflow",), "tensorflow")


def worker_environment(threads: int) -> dict[str, str]:
    environment = backends.base_environment(NAME, threads)
    environment.update(
        {
            "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": "1",
            # Deterministic kernels where TensorFlow has a choice.
            "TF_DETERMINISTIC_OPS": "1",
            # Hide the start-up notices about CUDA and CPU instructions.
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    )
    return environment


def configure_worker(threads: int) -> None:
    import tensorflow

    tensorflow.config.experimental.enable_op_determinism()
