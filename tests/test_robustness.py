"""Faults, interruption and concurrent use never lose finished work."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import backends
from bench import cli, config, provenance, records, report, runner, summary, tables
from bench.executor import LocalProcessExecutor
from bench.lock import LOCK_NAME, OutputLock, OutputLocked
from tests import helpers


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def write_lock(folder, pid):
    (folder / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": os.uname().nodename}))


def grid_settings(output, data_dir, **changes):
    values = {
        "datasets": ("mnist",),
        "architectures": ("stacked", "conv"),
        "backends": (helpers.INSTALLED_BACKENDS[0],),
        "seeds": (0,),
        "profile": config.PROFILES["smoke"],
        "output_dir": output,
        "data_dir": str(data_dir),
        "allow_download": False,
        "jobs": 1,
    }
    values.update(changes)
    return runner.GridSettings(**values)


def run_cli(*arguments, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "bench", *arguments], capture_output=True, text=True, timeout=timeout
    )


# Two runs at once


def test_lock_rejects_live_owner(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(tmp_path, other.pid)
        with pytest.raises(OutputLocked, match=f"in use by aebench process {other.pid}"):
            OutputLock(tmp_path).acquire()
    finally:
        other.kill()
        other.wait()


def test_lock_nested_in_same_process(tmp_path):
    with OutputLock(tmp_path):
        with OutputLock(tmp_path) as inner:
            assert inner.nested
        assert (tmp_path / LOCK_NAME).exists(), "the inner holder released the outer lock"
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_takes_over_stale_file(tmp_path):
    write_lock(tmp_path, dead_pid())
    with OutputLock(tmp_path) as lock:
        owner = json.loads(lock.path.read_text())
        assert owner["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_second_grid_exits_2(tmp_path):
    write_lock(tmp_path, os.getpid())
    completed = run_cli("--profile", "smoke", "--output", str(tmp_path), "--no-download")
    assert completed.returncode == 2
    assert f"in use by aebench process {os.getpid()}" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()


# Finished work is never overwritten


def test_existing_results_need_resume(tmp_path, real_data_dir):
    old = records.new_record("old-run", "model", "mnist", "stacked", "torch")
    records.write_json(records.run_folder(tmp_path, "old-run") / records.RECORD_NAME, old)
    with pytest.raises(runner.GridError, match="--resume"):
        runner.run_grid(grid_settings(tmp_path, real_data_dir))
    assert not (tmp_path / LOCK_NAME).exists()


def test_resume_needs_existing_output(tmp_path):
    completed = run_cli("--resume", "--output", str(tmp_path / "missing"))
    assert completed.returncode == 2
    assert "--resume needs --output" in completed.stderr


def test_output_under_file_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    completed = run_cli("--output", str(blocker / "results"))
    assert completed.returncode == 2
    assert "cannot create the output folder" in completed.stderr


def test_non_positive_learning_rate_exits_2():
    completed = run_cli("--learning-rate", "0")
    assert completed.returncode == 2
    assert "expected a positive finite number, received 0" in completed.stderr


@pytest.mark.slow
def test_resume_runs_only_missing(tmp_path, real_data_dir):
    first = runner.run_grid(grid_settings(tmp_path, real_data_dir))
    assert [record["status"] for record in first if record["kind"] == "model"] == ["ok", "ok"]
    kept_id, removed_id = "mnist-stacked-{}-seed0", "mnist-conv-{}-seed0"
    backend = helpers.INSTALLED_BACKENDS[0]
    kept_path = records.run_folder(tmp_path, kept_id.format(backend)) / records.RECORD_NAME
    removed_path = records.run_folder(tmp_path, removed_id.format(backend)) / records.RECORD_NAME
    kept_before = kept_path.read_bytes()
    probe_path = records.run_folder(tmp_path, "mnist-reference-raw_pixels") / records.RECORD_NAME
    probe_before = probe_path.read_bytes()
    removed_path.unlink()

    again = runner.run_grid(grid_settings(tmp_path, real_data_dir, resume=True))

    assert kept_path.read_bytes() == kept_before
    # The probe references were fitted to the same images, so they are kept too.
    assert probe_path.read_bytes() == probe_before
    assert removed_path.exists()
    assert sorted(record["status"] for record in again if record["kind"] == "model") == ["ok", "ok"]


@pytest.mark.slow
def test_resume_reruns_changed_settings(tmp_path, real_data_dir):
    runner.run_grid(grid_settings(tmp_path, real_data_dir, architectures=("stacked",)))
    path = records.run_folder(tmp_path, f"mnist-stacked-{helpers.INSTALLED_BACKENDS[0]}-seed0") / records.RECORD_NAME
    before = records.read_json(path)["fingerprint"]
    changed = grid_settings(tmp_path, real_data_dir, architectures=("stacked",), codings_size=8, resume=True)
    runner.run_grid(changed)
    after = records.read_json(path)
    assert after["fingerprint"] != before
    assert after["spec"]["codings_size"] == 8
    # PCA now needs 8 components, so its probe was fitted again.
    pca = records.read_json(records.run_folder(tmp_path, "mnist-reference-pca") / records.RECORD_NAME)
    assert pca["probe"]["pca_components"] == 8


# Worker faults


def test_killed_worker_recorded_failed(tmp_path, real_data_dir):
    dying_python = tmp_path / "dying-python"
    dying_python.write_text("#!/bin/sh\necho 'loading the model'\nkill -9 $$\n")
    dying_python.chmod(0o755)
    spec = config.RunSpec("mnist", "stacked", "torch", 0, config.PROFILES["smoke"], data_dir=str(real_data_dir))
    output = tmp_path / "out"

    [record] = LocalProcessExecutor(output, python=str(dying_python)).run([spec])

    assert record["status"] == "failed"
    assert "exited with status -9" in record["reason"]
    assert record["log_tail"] == ["loading the model"]
    stored = records.read_json(records.run_folder(output, spec.run_id) / records.RECORD_NAME)
    assert stored["status"] == "failed"


@pytest.mark.slow
def test_diverging_run_recorded_failed(tmp_path, real_data_dir):
    profile = config.Profile(**{**config.PROFILES["smoke"].to_dict(), "learning_rate": 1e30})
    spec = config.RunSpec(
        "mnist", "stacked", helpers.INSTALLED_BACKENDS[0], 0, profile, data_dir=str(real_data_dir), threads=1
    )
    [record] = LocalProcessExecutor(tmp_path).run([spec])
    assert record["status"] == "failed"
    assert "not finite" in record["reason"]
    assert record["metrics"] == {}


def test_backend_failing_at_import_skipped(tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "torch.py").write_text("raise ImportError('this torch build is broken')\n")
    plugin = backends.get_backend("torch")
    environment = plugin.worker_environment

    def broken_environment(threads):
        return {**environment(threads), "PYTHONPATH": str(broken)}

    monkeypatch.setattr(plugin, "worker_environment", broken_environment)
    reason = LocalProcessExecutor(tmp_path).check_backend("torch")
    assert reason is not None
    assert "this torch build is broken" in reason


@pytest.mark.parametrize("backend", helpers.backend_params())
def test_installed_backend_passes_check(tmp_path, backend):
    assert LocalProcessExecutor(tmp_path).check_backend(backend) is None


# Interruption


@pytest.mark.slow
def test_interrupt_keeps_finished_runs(tmp_path, real_data_dir):
    backend = helpers.INSTALLED_BACKENDS[0]
    output = tmp_path / "grid"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "bench",
            "--profile", "smoke", "--datasets", "mnist", "--architectures", "recurrent", "conv", "stacked",
            "--backends", backend, "--jobs", "1", "--data-dir", str(real_data_dir), "--output", str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A shell that starts the test suite in the background without job
        # control makes its children ignore SIGINT; a user's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = records.run_folder(output, f"mnist-recurrent-{backend}-seed0") / records.RECORD_NAME
    deadline = time.monotonic() + 240
    while not first.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    assert first.exists(), "the first run did not finish in time"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted; finished runs are kept" in stderr
    assert records.read_json(first)["status"] == "ok"
    statuses = {record["run_id"]: record["status"] for record in records.load_records(output)}
    assert "failed" not in statuses.values(), statuses
    assert not list(output.rglob(".*.json.*")), "a temporary file was left behind"
    assert not (output / LOCK_NAME).exists()

    # The interrupted grid still yields its tables.
    assert run_cli("report", str(output)).returncode == 0
    assert f"mnist-recurrent-{backend}-seed0" in (output / report.CSV_NAME).read_text()
    assert f"`mnist-stacked-{backend}-seed0` not run" in (output / report.SUMMARY_NAME).read_text()


# Collapsed models


def fake_record(architecture, mse, collapsed):
    record = records.new_record(f"mnist-{architecture}-torch-seed0", "model", "mnist", architecture, "torch")
    record.update(
        {
            "seed": 0,
            "profile": "smoke",
            "parameters": {"total": 10},
            "training": {"epochs_run": 1, "best_epoch": 1, "wall_seconds": 1.0},
            "metrics": {"mse": mse, "psnr": 10.0, "ssim": 0.5},
            "collapse_check": {"collapsed": collapsed, "input_spread": 0.3, "output_spread": 0.0 if collapsed else 0.3},
        }
    )
    return record


def test_collapsed_model_not_ranked():
    found = [fake_record("stacked", 0.001, collapsed=True), fake_record("conv", 0.02, collapsed=False)]
    text = summary.summary_markdown(found, tables.long_table(found))
    assert "| stacked (collapsed) | torch | 0 |" in text
    assert "**0.0010**" not in text
    assert "**0.0200**" in text
    assert "Only the conv model can be ranked, so no architectures are compared." in text
    assert "Not ranked because the model collapsed" in text


def test_all_runs_skipped_exits_1(tmp_path, real_data_dir, monkeypatch):
    monkeypatch.setattr(backends.get_backend("jax"), "unavailable_reason", lambda: "JAX is not installed (test)")
    arguments = ["--profile", "smoke", "--datasets", "mnist", "--architectures", "stacked", "--backends", "jax"]
    arguments += ["--data-dir", str(real_data_dir), "--output", str(tmp_path / "out")]
    assert cli.main(arguments) == 1
    [skipped] = [r for r in records.load_records(tmp_path / "out") if r["kind"] == "model"]
    assert skipped["status"] == "skipped"


def test_provenance_names_harness_checkout(tmp_path, monkeypatch):
    root = pathlib.Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the tests do not run from a git checkout")
    monkeypatch.chdir(tmp_path)  # a working directory outside any repository
    assert provenance.git_state()["commit"] == head.stdout.strip()
