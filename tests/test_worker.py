import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import backends
from bench import config, records
from bench.executor import LocalProcessExecutor
from tests import helpers


def smoke_spec(backend, data_dir, architecture="stacked"):
    return config.RunSpec(
        dataset="mnist",
        architecture=architecture,
        backend=backend,
        seed=0,
        profile=config.PROFILES["smoke"],
        data_dir=str(data_dir),
        threads=1,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", helpers.backend_params())
def test_worker_reports_requested_backend(tmp_path, real_data_dir, backend):
    spec = smoke_spec(backend, real_data_dir)
    [record] = LocalProcessExecutor(tmp_path).run([spec])
    assert record["status"] == "ok", record["reason"]
    assert record["backend_reported"] == backend
    assert record["provenance"]["versions"]["keras"]
    assert all(math.isfinite(value) for value in record["metrics"].values())
    assert record["data"]["test_images"] == 1_000


@pytest.mark.slow
def test_worker_writes_samples(tmp_path, real_data_dir):
    spec = smoke_spec(helpers.INSTALLED_BACKENDS[0], real_data_dir)
    LocalProcessExecutor(tmp_path).run([spec])
    folder = records.run_folder(tmp_path, spec.run_id)
    with np.load(folder / records.SAMPLES_NAME) as samples:
        assert samples["original"].shape == (10, 28, 28)
        assert samples["reconstruction"].shape == (10, 28, 28)
        assert samples["inpaint_center_square"].shape == (10, 28, 28)
    assert (folder / records.LOG_NAME).stat().st_size > 0


def test_worker_rejects_wrong_backend(tmp_path, real_data_dir):
    if len(helpers.INSTALLED_BACKENDS) < 2:
        pytest.skip("needs two installed backends")
    requested, actual = helpers.INSTALLED_BACKENDS[:2]
    spec = smoke_spec(requested, real_data_dir)
    folder = tmp_path / "run"
    records.write_json(folder / records.SPEC_NAME, spec.to_dict())
    environment = dict(os.environ)
    environment.update(backends.get_backend(actual).worker_environment(threads=1))
    completed = subprocess.run(
        [sys.executable, "-m", "bench.worker", str(folder)], env=environment, capture_output=True, text=True
    )
    record = records.read_json(folder / records.RECORD_NAME)
    assert completed.returncode == 1
    assert record["status"] == "failed"
    assert f"expected {requested!r}" in record["reason"]


def test_worker_without_spec_exits_2(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "bench.worker", str(tmp_path)], capture_output=True, text=True
    )
    assert completed.returncode == 2
    assert "cannot read the run specification" in completed.stdout


def test_spec_round_trips_through_json():
    spec = smoke_spec("torch", "/data", architecture="conv")
    again = config.RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.fingerprint() == spec.fingerprint()
