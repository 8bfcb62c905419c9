"""Result records on disk: one JSON file per run, written atomically.

Layout of an output folder:

    runs/<run_id>/spec.json      the run specification given to the worker
    runs/<run_id>/record.json    the result record (see `new_record`)
    runs/<run_id>/samples.npz    sample outputs for the figures
    runs/<run_id>/worker.log     everything the worker printed
"""

import io
import json
import math
import os
import pathlib
import tempfile
from typing import Any

import numpy as np

RECORD_NAME = "record.json"
SAMPLES_NAME = "samples.npz"
SPEC_NAME = "spec.json"
LOG_NAME = "worker.log"
RUNS_FOLDER = "runs"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pathlib.Path):
        return str(value)
    raise TypeError(f"Cannot store {type(value).__name__} in a JSON record.")


def _finite_or_text(value: Any) -> Any:
    # JSON has no NaN or infinity; store them as strings that `read_json`
    # turns back into floats, so a record is always valid JSON.
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _finite_or_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_text(item) for item in value]
    return value


def _restore_floats(value: Any) -> Any:
    if value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, dict):
        return {key: _restore_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore_floats(item) for item in value]
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: pathlib.Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    A reader sees either the old file or the whole new one, never a part.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp creates the file readable by its owner only; give it the
        # permissions an ordinary open() would.
        os.chmod(temporary, 0o666 & ~_umask())
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: pathlib.Path, value: Any) -> None:
    """Write `value` as indented JSON, atomically."""
    text = json.dumps(_finite_or_text(value), indent=2, sort_keys=False, default=_json_default)
    write_atomically(path, (text + "\n").encode())


def read_json(path: pathlib.Path) -> Any:
    """Read a JSON file written by `write_json`."""
    return _restore_floats(json.loads(path.read_text()))


def write_samples(path: pathlib.Path, samples: dict[str, np.ndarray]) -> None:
    """Store sample images as a compressed .npz, atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **samples)
    write_atomically(path, buffer.getvalue())


def run_folder(output_dir: pathlib.Path, run_id: str) -> pathlib.Path:
    """Return the folder of one run inside an output folder."""
    return output_dir / RUNS_FOLDER / run_id


def load_records(output_dir: pathlib.Path) -> list[dict[str, Any]]:
    """Read every record in an output folder, sorted by run id."""
    paths = sorted((output_dir / RUNS_FOLDER).glob(f"*/{RECORD_NAME}"))
    return [read_json(path) for path in paths]


def new_record(run_id: str, kind: str, dataset: str, architecture: str, backend: str) -> dict[str, Any]:
    """Return the skeleton every record shares.

    `kind` is "model" for a trained autoencoder or "reference" for a
    reference predictor. `status` is "ok", "failed", "skipped" or
    "interrupted", and `reason` explains any status but "ok".
    """
    return {
        "run_id": run_id,
        "kind": kind,
        "status": "ok",
        "reason": None,
        "dataset": dataset,
        "architecture": architecture,
        "backend": backend,
        "metrics": {},
    }
