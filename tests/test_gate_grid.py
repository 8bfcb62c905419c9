"""The quality gate end to end: grids trained on the real data, through the command line.

A two-seed grid gives the tolerances, a one-seed grid becomes the baseline,
then honest reruns must pass the gate and a degraded model must fail it.
"""

import pytest

from bench import cli, gate, records, tolerances
from tests import helpers

# The stacked model on MNIST is the fastest to train; 10 epochs of the smoke
# profile's 512 images take it well past its random start.
GRID = ["--profile", "smoke", "--epochs", "10", "--datasets", "mnist", "--architectures", "stacked", "--no-download"]


@pytest.fixture(scope="module")
def gate_folders(tmp_path_factory, real_data_dir):
    chosen = [name for name in ("tensorflow", "torch") if name in helpers.INSTALLED_BACKENDS]
    if not chosen:
        pytest.skip("neither TensorFlow nor PyTorch is installed")
    root = tmp_path_factory.mktemp("gate")
    common = [*GRID, "--backends", *chosen, "--data-dir", str(real_data_dir), "--jobs", "2"]

    assert cli.main([*common, "--seeds", "0", "1", "--output", str(root / "seeds")]) == 0
    assert cli.main([*common, "--output", str(root / "first")]) == 0
    refresh = ["refresh-baseline", str(root / "first"), "--baseline", str(root / "baseline")]
    # The checkout under test may have local changes; the committed baseline never does.
    assert cli.main([*refresh, "--reason", "baseline for the gate test", "--allow-uncommitted"]) == 0
    assert cli.main(["tolerances", str(root / "seeds"), "--baseline", str(root / "baseline")]) == 0
    return root, common


@pytest.mark.slow
def test_gate_honest_rerun_passes(gate_folders, capsys):
    root, common = gate_folders
    status = cli.main([*common, "--output", str(root / "honest"), "--baseline", str(root / "baseline")])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "quality gate passed" in output
    assert "quality gate passed" in (root / "honest" / gate.GATE_NAME).read_text()


@pytest.mark.slow
def test_gate_same_seed_reproduces_exactly(gate_folders):
    root, _ = gate_folders
    # The seeds grid repeats seed 0 of the baseline in another grid and process.
    result = gate.compare(root / "seeds", root / "baseline")
    assert result.passed
    assert result.comparisons
    assert {item.verdict for item in result.comparisons} == {gate.IDENTICAL}
    # Seed 1 has no baseline: one such model per backend.
    assert len(result.without_baseline) == len(result.comparisons) // len({c.metric for c in result.comparisons})


@pytest.mark.slow
def test_gate_degraded_model_fails(gate_folders, capsys):
    root, common = gate_folders
    degraded = ["--codings-size", "2", "--learning-rate", "1e-5"]
    status = cli.main([*common, *degraded, "--output", str(root / "degraded"), "--baseline", str(root / "baseline")])
    output = capsys.readouterr().out
    assert status == cli.cli_gate.EXIT_REGRESSION, output
    worse = [line for line in output.splitlines() if "WORSE" in line]
    assert any(" MSE " in line for line in worse), output
    assert any(" SSIM " in line for line in worse), output
    assert "codings_size: 30 -> 2" in output
    assert output.splitlines()[-1].startswith("quality gate FAILED")


@pytest.mark.slow
def test_gate_tolerances_measured_from_seeds(gate_folders):
    root, _ = gate_folders
    document = records.read_json(root / "baseline" / tolerances.TOLERANCES_NAME)
    assert document["measured_from"][0]["seeds"] == [0, 1]
    assert all(entry["pooled_std"] > 0 for entry in document["spread"] if entry["metric"] == "mse")
    history = (root / "baseline" / "HISTORY.md").read_text()
    assert "Reason: baseline for the gate test" in history
