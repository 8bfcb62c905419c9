import subprocess
import sys

import pytest


def run_cli(*arguments, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "bench", *arguments], capture_output=True, text=True, timeout=timeout
    )


def test_help_lists_options():
    completed = run_cli("--help")
    assert completed.returncode == 0
    for option in ("--profile", "--datasets", "--architectures", "--backends", "--seeds", "--data-dir", "--output"):
        assert option in completed.stdout


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--architectures", "gan", "'stacked', 'conv', 'recurrent'"),
        ("--datasets", "cifar10", "'mnist', 'fashion_mnist'"),
        ("--backends", "mxnet", "'tensorflow', 'torch', 'jax'"),
        ("--profile", "huge", "'smoke', 'quick', 'full'"),
    ],
)
def test_unknown_choice_exits_2(option, value, expected):
    completed = run_cli(option, value)
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("option", ["--epochs", "--batch-size", "--jobs"])
def test_non_positive_number_exits_2(option):
    completed = run_cli(option, "0")
    assert completed.returncode == 2
    assert "expected a positive integer, received 0" in completed.stderr


def test_output_that_is_file_exits_2(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    completed = run_cli("--output", str(blocker))
    assert completed.returncode == 2
    assert "is a file" in completed.stderr


def test_missing_data_dir_fails_before_training(tmp_path):
    missing = tmp_path / "nowhere"
    output = tmp_path / "out" / "nested" / "grid"
    completed = run_cli("--profile", "smoke", "--data-dir", str(missing), "--output", str(output))
    assert completed.returncode == 1
    assert str(missing) in completed.stderr
    assert not (tmp_path / "out").exists(), "the failed start left its output folders behind"


def test_report_on_empty_folder_exits_1(tmp_path):
    completed = run_cli("report", str(tmp_path))
    assert completed.returncode == 1
    assert "No result records" in completed.stderr
