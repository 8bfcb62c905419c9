"""The quality gate, its tolerances and the baseline refresh, on small record files.

These write records in the format a grid writes and check every verdict and
error. `test_gate_grid.py` runs the same code on grids trained on the real data.
"""

import json
import os
import math
import pathlib
import statistics

import pytest

from bench import baseline, cli, config, gate, gate_table, records, tables, tolerances

MODELS = [("mnist", "stacked", "tensorflow"), ("mnist", "stacked", "torch")]
GOOD_SCORES = {
    "mse": 0.0130,
    "psnr": 19.0,
    "ssim": 0.80,
    **{metric.key: (0.05 if metric.lower_is_better else 0.60) for metric in tables.INPAINTING_METRICS},
    **{metric.key: 0.90 for metric in tables.PROBE_METRICS},
}
SPREAD = 0.001  # seed-to-seed standard deviation written into the test tolerances
RELATIVE_SPREAD = 0.0025  # typical relative SD of every metric in the test tolerances


def write_grid(
    folder: pathlib.Path,
    scores=None,
    seeds=(0,),
    models=MODELS,
    status="ok",
    codings_size=30,
    dirty=False,
    collapsed=False,
    epochs=6,
) -> pathlib.Path:
    """Write a grid folder with one record per model and seed; `scores` maps (model, seed) to changes."""
    scores = scores or {}
    for dataset, architecture, backend in models:
        for seed in seeds:
            run_id = f"{dataset}-{architecture}-{backend}-seed{seed}"
            record = records.new_record(run_id, "model", dataset, architecture, backend)
            changes = scores.get((dataset, architecture, backend, seed), {})
            record.update(
                {
                    "seed": seed,
                    "status": status,
                    "reason": None if status == "ok" else "TrainingDiverged: the loss is not finite",
                    "metrics": {**GOOD_SCORES, **changes} if status == "ok" else {},
                    "collapse_check": {"collapsed": collapsed},
                    "provenance": {"commit": "a" * 40, "dirty": dirty},
                }
            )
            records.write_json(records.run_folder(folder, run_id) / records.RECORD_NAME, record)
    profile = {"name": "quick", "epochs": epochs, "description": "text that the gate does not compare"}
    settings = {
        "datasets": sorted({m[0] for m in models}),
        "architectures": sorted({m[1] for m in models}),
        "backends": sorted({m[2] for m in models}),
        "seeds": list(seeds),
        "profile": profile,
        "codings_size": codings_size,
        "mask_seed": 2024,
    }
    records.write_json(folder / "grid.json", {"settings": settings, "provenance": {"commit": "a" * 40}})
    return folder


def write_tolerances(folder: pathlib.Path, spread=SPREAD, models=MODELS) -> pathlib.Path:
    document = {
        "k": 4.0,
        "relative_spread": {metric.key: RELATIVE_SPREAD for metric in tables.METRICS},
        "spread": [
            {"dataset": dataset, "architecture": architecture, "metric": metric.key, "pooled_std": spread}
            for dataset, architecture, _ in models
            for metric in tables.METRICS
        ],
    }
    records.write_json(folder / tolerances.TOLERANCES_NAME, document)
    return folder / tolerances.TOLERANCES_NAME


@pytest.fixture
def baseline_dir(tmp_path):
    folder = write_grid(tmp_path / "baseline")
    write_tolerances(folder)
    return folder


def verdicts(result, metric):
    return {item.model: item.verdict for item in result.comparisons if item.metric == metric}


def test_gate_identical_grid_passes(baseline_dir, tmp_path):
    result = gate.compare(write_grid(tmp_path / "new"), baseline_dir)
    assert result.passed
    assert len(result.comparisons) == len(MODELS) * len(tables.METRICS)
    assert {item.verdict for item in result.comparisons} == {gate.IDENTICAL}


def test_gate_higher_mse_fails(baseline_dir, tmp_path):
    # 4 x 0.001 is the tolerance, so 0.0130 -> 0.0200 is far beyond it.
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "tensorflow", 0): {"mse": 0.0200}})
    result = gate.compare(new, baseline_dir)
    assert not result.passed
    assert [(item.model, item.metric) for item in result.failures] == [("mnist/stacked/tensorflow/seed 0", "mse")]
    failure = result.failures[0]
    assert failure.tolerance == pytest.approx(0.004)
    assert failure.change == pytest.approx(0.0070)


def test_gate_lower_ssim_fails(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "torch", 0): {"ssim": 0.70}})
    result = gate.compare(new, baseline_dir)
    assert verdicts(result, "ssim")["mnist/stacked/torch/seed 0"] == gate.WORSE
    assert not result.passed


def test_gate_improvement_reported_not_failed(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "torch", 0): {"ssim": 0.90, "mse": 0.0050}})
    result = gate.compare(new, baseline_dir)
    assert result.passed
    assert {(item.metric, item.verdict) for item in result.improvements} == {("ssim", gate.BETTER), ("mse", gate.BETTER)}


def test_gate_small_change_within_tolerance(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "tensorflow", 0): {"mse": 0.0135, "psnr": 18.99}})
    result = gate.compare(new, baseline_dir)
    assert result.passed
    assert verdicts(result, "mse")["mnist/stacked/tensorflow/seed 0"] == gate.WITHIN
    assert verdicts(result, "psnr")["mnist/stacked/tensorflow/seed 0"] == gate.WITHIN


def test_gate_relative_spread_applies(baseline_dir, tmp_path):
    # PSNR's typical relative SD gives 4 x 0.0025 x 19.0 = 0.19 dB, wider than 4 x 0.001.
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "tensorflow", 0): {"psnr": 18.85}})
    result = gate.compare(new, baseline_dir)
    item = next(c for c in result.comparisons if c.metric == "psnr" and c.backend == "tensorflow")
    assert item.tolerance == pytest.approx(0.19)
    assert item.verdict == gate.WITHIN


def test_gate_nan_metric_fails(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "tensorflow", 0): {"ssim": math.nan}})
    result = gate.compare(new, baseline_dir)
    assert verdicts(result, "ssim")["mnist/stacked/tensorflow/seed 0"] == gate.WORSE


def test_gate_failed_run_fails(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", status="failed")
    result = gate.compare(new, baseline_dir)
    assert not result.passed
    assert {item.verdict for item in result.failures} == {gate.NO_SCORES}
    assert "TrainingDiverged" in result.failures[0].note


def test_gate_collapsed_run_fails(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "torch", 0): {"mse": 0.06}}, collapsed=True)
    result = gate.compare(new, baseline_dir)
    assert not result.passed
    flagged = {(item.backend, item.metric, item.verdict) for item in result.failures}
    assert ("tensorflow", "collapse check", gate.COLLAPSED) in flagged
    assert ("torch", "mse", gate.WORSE) in flagged


def test_gate_partial_grid_lists_not_run(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", models=MODELS[:1], seeds=(0, 1))
    result = gate.compare(new, baseline_dir)
    assert result.passed
    assert result.not_run == ["mnist/stacked/torch/seed 0"]
    assert result.without_baseline == ["mnist/stacked/tensorflow/seed 1"]


def test_gate_no_common_model_error(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", seeds=(5,))
    with pytest.raises(gate.GateError, match="No model in .* has a baseline"):
        gate.compare(new, baseline_dir)


def test_gate_reports_setting_changes(baseline_dir, tmp_path):
    result = gate.compare(write_grid(tmp_path / "new", codings_size=2), baseline_dir)
    assert result.setting_changes == ["codings_size: 30 -> 2"]
    result = gate.compare(write_grid(tmp_path / "shorter", epochs=1), baseline_dir)
    assert result.setting_changes == ["profile.epochs: 6 -> 1"]


def test_gate_counts_later_profile_fields_at_their_defaults(baseline_dir, tmp_path):
    # The baseline's grid.json predates the budget fields; a grid that writes
    # them with their defaults has the same settings.
    new = write_grid(tmp_path / "new")
    grid = records.read_json(new / "grid.json")
    grid["settings"]["profile"].update(config.LATER_PROFILE_FIELDS)
    records.write_json(new / "grid.json", grid)
    assert gate.compare(new, baseline_dir).setting_changes == []
    grid["settings"]["profile"].update(budget="images", budget_amount=1000)
    records.write_json(new / "grid.json", grid)
    assert gate.compare(new, baseline_dir).setting_changes == [
        "profile.budget: epochs -> images",
        "profile.budget_amount: None -> 1000",
    ]


def test_gate_missing_baseline_error(tmp_path):
    new = write_grid(tmp_path / "new")
    with pytest.raises(gate.GateError, match="does not exist.*git checkout"):
        gate.compare(new, tmp_path / "nowhere")


def test_gate_empty_baseline_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(gate.GateError, match="contains no records"):
        gate.compare(write_grid(tmp_path / "new"), tmp_path / "empty")


def test_gate_corrupt_baseline_record_error(baseline_dir, tmp_path):
    path = next((baseline_dir / records.RUNS_FOLDER).glob(f"*/{records.RECORD_NAME}"))
    path.write_text('{"run_id": ')
    with pytest.raises(gate.GateError, match=f"Cannot read the baseline record {path}"):
        gate.compare(write_grid(tmp_path / "new"), baseline_dir)


def test_gate_missing_tolerances_error(baseline_dir, tmp_path):
    (baseline_dir / tolerances.TOLERANCES_NAME).unlink()
    with pytest.raises(gate.GateError, match="tolerances file .* is missing.*aebench tolerances"):
        gate.compare(write_grid(tmp_path / "new"), baseline_dir)


def test_gate_corrupt_tolerances_error(baseline_dir, tmp_path):
    (baseline_dir / tolerances.TOLERANCES_NAME).write_text("[1, 2")
    with pytest.raises(gate.GateError, match="Cannot read the tolerances file"):
        gate.compare(write_grid(tmp_path / "new"), baseline_dir)


def test_gate_uncovered_model_error(tmp_path):
    folder = write_grid(tmp_path / "baseline")
    write_tolerances(folder, models=[("fashion_mnist", "stacked", "torch")])
    with pytest.raises(gate.GateError, match="no tolerance for mnist/stacked"):
        gate.compare(write_grid(tmp_path / "new"), folder)


def test_gate_text_table_names_metric(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "tensorflow", 0): {"mse": 0.0200}})
    text = gate_table.render_text(gate.compare(new, baseline_dir))
    failing = [line for line in text.splitlines() if "WORSE" in line]
    assert len(failing) == 1
    for expected in ("mnist/stacked/tensorflow/seed 0", "MSE", "0.013", "0.02", "+0.007", "+53.8%", "0.004"):
        assert expected in failing[0]
    comparisons = len(MODELS) * len(GOOD_SCORES)
    assert text.splitlines()[-1].startswith(f"quality gate FAILED: 1 of {comparisons} comparisons")


def test_gate_markdown_lists_flagged_first(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "torch", 0): {"ssim": 0.95}})
    page = gate_table.render_markdown(gate.compare(new, baseline_dir))
    assert page.index("## Flagged comparisons") < page.index("## All comparisons")
    assert "quality gate passed" in page


def test_compare_command_exit_status(baseline_dir, tmp_path, capsys):
    honest = write_grid(tmp_path / "honest")
    worse = write_grid(tmp_path / "worse", {("mnist", "stacked", "torch", 0): {"mse": 0.05}})
    assert cli.main(["compare", str(honest), "--baseline", str(baseline_dir)]) == 0
    assert (honest / gate.GATE_NAME).is_file()
    assert cli.main(["compare", str(worse), "--baseline", str(baseline_dir)]) == 3
    assert "WORSE" in capsys.readouterr().out
    assert cli.main(["compare", str(worse), "--baseline", str(tmp_path / "nowhere")]) == 2


def test_run_rejects_missing_baseline_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--profile", "smoke", "--output", str(tmp_path / "out"), "--baseline", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    assert "--baseline: the baseline folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_rejects_baseline_without_tolerances(tmp_path, capsys):
    folder = write_grid(tmp_path / "baseline")
    with pytest.raises(SystemExit):
        cli.main(["--profile", "smoke", "--output", str(tmp_path / "out"), "--baseline", str(folder)])
    assert "tolerances file" in capsys.readouterr().err


def measurement_grid(folder, values):
    """Write a grid with seeds 0..n-1 whose MSE per backend takes `values[backend]`."""
    scores = {}
    for dataset, architecture, backend in MODELS:
        for seed, value in enumerate(values[backend]):
            scores[(dataset, architecture, backend, seed)] = {"mse": value}
    seeds = tuple(range(len(next(iter(values.values())))))
    return write_grid(folder, scores, seeds=seeds)


def test_tolerances_pooled_over_backends(tmp_path):
    values = {"tensorflow": [0.0130, 0.0140, 0.0120], "torch": [0.0130, 0.0150, 0.0160]}
    folder = measurement_grid(tmp_path / "seeds", values)
    spread = {(e["dataset"], e["architecture"], e["metric"]): e for e in tolerances.measure_spread([folder])}
    expected = math.sqrt((statistics.variance(values["tensorflow"]) + statistics.variance(values["torch"])) / 2)
    assert spread[("mnist", "stacked", "mse")]["pooled_std"] == pytest.approx(expected)
    assert spread[("mnist", "stacked", "mse")]["backends"] == ["tensorflow", "torch"]
    assert spread[("mnist", "stacked", "mse")]["seeds_per_backend"] == 3
    assert spread[("mnist", "stacked", "ssim")]["pooled_std"] == 0.0


def test_tolerances_relative_spread_median():
    spread = [
        {"metric": "mse", "pooled_std": 0.001, "mean": 0.010},
        {"metric": "mse", "pooled_std": 0.004, "mean": 0.020},
        {"metric": "mse", "pooled_std": 0.003, "mean": 0.010},
        {"metric": "ssim", "pooled_std": 0.0, "mean": 0.8},
    ]
    relative = tolerances.relative_spread(spread)
    assert relative["mse"] == pytest.approx(0.2)
    assert relative["ssim"] == 0.0


def test_tolerance_uses_larger_spread():
    limits = tolerances.Tolerances(5.0, {("mnist", "stacked", "mse"): 0.001}, {"mse": 0.05}, pathlib.Path("t"))
    # 0.05 x 0.013 = 0.00065 is below the model's own SD.
    assert limits.tolerance("mnist", "stacked", "mse", 0.013) == pytest.approx(0.005)
    # 0.05 x 0.1 = 0.005 is above it.
    assert limits.tolerance("mnist", "stacked", "mse", 0.1) == pytest.approx(0.025)


def test_tolerances_need_two_seeds(tmp_path):
    with pytest.raises(tolerances.ToleranceError, match="has 1 scored seed.*--seeds 0 1 2 3"):
        tolerances.measure_spread([write_grid(tmp_path / "one")])


def test_tolerances_measure_and_write(tmp_path):
    base = write_grid(tmp_path / "baseline")
    values = {"tensorflow": [0.0130, 0.0140, 0.0120], "torch": [0.0130, 0.0150, 0.0160]}
    folder = measurement_grid(tmp_path / "seeds", values)
    document = tolerances.measure([folder], base, k=4, command="aebench tolerances seeds")
    # Seed 0 repeats the baseline exactly.
    assert document["same_seed_repeats"]["compared_values"] == len(MODELS) * len(tables.METRICS)
    assert document["same_seed_repeats"]["identical_values"] == document["same_seed_repeats"]["compared_values"]
    checks = {row["seed"]: row for row in document["false_alarm_check"]}
    assert set(checks) == {0, 1, 2}
    assert checks[0]["same_seed_as_baseline"]
    assert checks[0]["max_share_of_tolerance"] == 0.0
    assert checks[1]["compared"] == len(MODELS) * len(tables.METRICS)
    assert checks[2]["max_share_of_tolerance"] > 0

    written = tolerances.write(document, base)
    assert [path.name for path in written] == [tolerances.TOLERANCES_NAME, tolerances.TOLERANCES_DOC]
    limits = tolerances.load(base / tolerances.TOLERANCES_NAME)
    pooled = math.sqrt((statistics.variance(values["tensorflow"]) + statistics.variance(values["torch"])) / 2)
    assert limits.tolerance("mnist", "stacked", "mse", 0.013) == pytest.approx(4 * pooled)
    page = (base / tolerances.TOLERANCES_DOC).read_text()
    assert "aebench tolerances seeds" in page
    assert "bit-identical" in page
    assert "| MSE |" in page
    assert "| stacked | MSE |" in page


def test_tolerances_command_writes_files(tmp_path, capsys):
    base = write_grid(tmp_path / "baseline")
    folder = measurement_grid(tmp_path / "seeds", {"tensorflow": [0.013, 0.014], "torch": [0.013, 0.015]})
    status = cli.main(["tolerances", str(folder), "--baseline", str(base), "--k", "3"])
    assert status == 0
    document = json.loads((base / tolerances.TOLERANCES_NAME).read_text())
    assert document["k"] == 3.0
    assert document["command"].startswith("aebench tolerances ")


def test_refresh_rejects_uncommitted_code(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", dirty=True)
    with pytest.raises(baseline.BaselineError, match="uncommitted changes"):
        baseline.refresh(new, baseline_dir, "new optimizer", "test")


def test_refresh_rejects_failed_runs(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", status="failed")
    with pytest.raises(baseline.BaselineError, match="not a complete grid"):
        baseline.refresh(new, baseline_dir, "new optimizer", "test")


def test_refresh_rejects_empty_reason(baseline_dir, tmp_path):
    with pytest.raises(baseline.BaselineError, match="--reason"):
        baseline.refresh(write_grid(tmp_path / "new"), baseline_dir, "  ", "test")


def test_refresh_replaces_baseline_keeps_tolerances(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "torch", 0): {"mse": 0.0050}})
    tolerance_file = (baseline_dir / tolerances.TOLERANCES_NAME).read_text()
    result = baseline.refresh(new, baseline_dir, "the conv model uses batch norm", "aebench refresh-baseline new")
    assert result is not None and len(result.improvements) == 1
    assert (baseline_dir / tolerances.TOLERANCES_NAME).read_text() == tolerance_file
    record = records.read_json(baseline_dir / "runs/mnist-stacked-torch-seed0" / records.RECORD_NAME)
    assert record["metrics"]["mse"] == 0.0050
    history = (baseline_dir / baseline.HISTORY_NAME).read_text()
    assert "Reason: the conv model uses batch norm" in history
    assert "a" * 40 in history
    assert "1 better" in history
    assert (baseline_dir / "results.csv").is_file()
    leftovers = [path.name for path in baseline_dir.parent.iterdir() if path.name.startswith(".")]
    assert leftovers == []


def test_refresh_history_appends(baseline_dir, tmp_path):
    baseline.refresh(write_grid(tmp_path / "first"), baseline_dir, "first reason", "test")
    baseline.refresh(write_grid(tmp_path / "second"), baseline_dir, "second reason", "test")
    history = (baseline_dir / baseline.HISTORY_NAME).read_text()
    assert history.index("first reason") < history.index("second reason")


def test_gate_tolerances_missing_field_error(baseline_dir, tmp_path):
    (baseline_dir / tolerances.TOLERANCES_NAME).write_text("{}")
    with pytest.raises(gate.GateError, match="the field 'spread' is missing"):
        gate.compare(write_grid(tmp_path / "new"), baseline_dir)


def test_gate_text_long_lists_summarized(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", seeds=(0, 1, 2, 3, 4))
    text = gate_table.render_text(gate.compare(new, baseline_dir))
    assert "no baseline to compare with: 8 models (seeds 1, 2, 3, 4)" in text


def test_gate_text_changes_only(baseline_dir, tmp_path):
    new = write_grid(tmp_path / "new", {("mnist", "stacked", "torch", 0): {"mse": 0.0200}})
    lines = gate_table.render_text(gate.compare(new, baseline_dir), changes_only=True).splitlines()
    assert len([line for line in lines if "mnist/" in line]) == 1
    assert lines[-1] == f"1 of {len(MODELS) * len(GOOD_SCORES)} comparisons changed beyond tolerance"


def test_written_files_follow_umask(tmp_path):
    path = tmp_path / "file.json"
    records.write_json(path, {"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_refresh_into_new_folder(tmp_path):
    target = tmp_path / "fresh-baseline"
    result = baseline.refresh(write_grid(tmp_path / "new"), target, "first baseline", "test")
    assert result is None
    assert "not compared (there was no previous baseline)" in (target / baseline.HISTORY_NAME).read_text()


def test_refresh_command_empty_reason(baseline_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["refresh-baseline", str(write_grid(tmp_path / "new")), "--baseline", str(baseline_dir), "--reason", " "])
    assert exit_info.value.code == 2
    assert "--reason is empty" in capsys.readouterr().err
