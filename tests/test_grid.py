"""The whole smoke grid on the real data, end to end."""

import math
import pathlib

import pandas as pd
import pytest

import backends
from bench import cli, config, records, report, runner
from tests import helpers

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_grid(tmp_path_factory, real_data_dir):
    """Run 3 architectures x 2 datasets x the installed default backends, plus an unavailable one."""
    output = tmp_path_factory.mktemp("grid")
    chosen = tuple(name for name in config.DEFAULT_BACKENDS if name in helpers.INSTALLED_BACKENDS)
    settings = runner.GridSettings(
        datasets=("mnist", "fashion_mnist"),
        architectures=config.ARCHITECTURES,
        backends=(*chosen, "jax"),
        seeds=(0,),
        profile=config.PROFILES["smoke"],
        output_dir=output,
        data_dir=str(real_data_dir),
        allow_download=False,
    )
    with pytest.MonkeyPatch.context() as patch:
        # Whether or not JAX is installed here, pretend it is not.
        patch.setattr(backends.get_backend("jax"), "unavailable_reason", lambda: "JAX is not installed (test)")
        found = runner.run_grid(settings)
    return output, found, chosen


def model_records(found):
    return [record for record in found if record["kind"] == "model"]


@pytest.mark.slow
def test_grid_every_model_finishes(smoke_grid):
    _, found, chosen = smoke_grid
    finished = [record for record in model_records(found) if record["status"] == "ok"]
    assert len(finished) == 2 * 3 * len(chosen)
    for record in finished:
        assert record["backend_reported"] == record["backend"]


@pytest.mark.slow
def test_grid_metrics_finite(smoke_grid):
    _, found, _ = smoke_grid
    for record in found:
        if record["status"] == "ok":
            assert record["metrics"], record["run_id"]
            assert all(math.isfinite(value) for value in record["metrics"].values()), record["run_id"]


@pytest.mark.slow
def test_grid_unavailable_backend_skipped(smoke_grid):
    _, found, _ = smoke_grid
    skipped = [record for record in found if record["backend"] == "jax"]
    assert len(skipped) == 6
    for record in skipped:
        assert record["status"] == "skipped"
        assert "JAX is not installed" in record["reason"]
        assert record["provenance"]["utc_time"]


@pytest.mark.slow
def test_grid_reference_rows(smoke_grid):
    _, found, _ = smoke_grid
    references = {(r["dataset"], r["architecture"]) for r in found if r["kind"] == "reference"}
    assert references == {
        (dataset, name)
        for dataset in ("mnist", "fashion_mnist")
        for name in runner.REFERENCE_PREDICTORS + runner.REFERENCE_PROBES
    }


@pytest.mark.slow
def test_grid_record_provenance(smoke_grid):
    output, found, _ = smoke_grid
    finished = [record for record in model_records(found) if record["status"] == "ok"]
    record = records.read_json(records.run_folder(output, finished[0]["run_id"]) / records.RECORD_NAME)
    assert set(record["provenance"]) >= {"commit", "dirty", "utc_time", "machine", "versions"}
    assert record["data"]["kind"] == "data_dir"
    assert len(record["data"]["checksums"]) == 4
    assert record["parameters"]["total"] > 0
    assert record["training"]["epochs_run"] == 1
    assert record["spec"]["profile"]["name"] == "smoke"


@pytest.mark.slow
def test_grid_results_csv(smoke_grid):
    output, found, chosen = smoke_grid
    table = pd.read_csv(output / report.CSV_NAME)
    models = table[(table["kind"] == "model") & (table["status"] == "ok")]
    assert models["run_id"].nunique() == 2 * 3 * len(chosen)
    assert set(models["metric"]) == {metric.key for metric in report.tables.METRICS}
    assert (table[table["status"] == "skipped"]["backend"] == "jax").all()


@pytest.mark.slow
def test_grid_summary(smoke_grid):
    output, _, chosen = smoke_grid
    summary = (output / report.SUMMARY_NAME).read_text()
    assert "## MNIST" in summary
    assert "## Fashion-MNIST" in summary
    assert "reference: mean training image" in summary
    assert "reference: hidden pixels left at 0" in summary
    # One epoch on 512 images can leave models collapsed, and then fewer architectures are compared.
    if len(chosen) >= 2:
        compared = "For reconstruction, beyond the noise between backends:" in summary
    else:
        compared = "with one run per architecture no gap can be tested" in summary
    assert compared or "can be ranked, so no architectures are compared" in summary
    assert "reference: probe on the raw pixels" in summary
    assert "### Mean per architecture" in summary
    if compared:
        assert "### Beyond the noise" in summary
    assert "### Backend parity" in summary
    assert "### Codings probe, per run" in summary
    assert (output / "report.html").is_file()
    assert not (output / "aebench.lock").exists()
    assert "skipped: JAX is not installed" in summary


@pytest.mark.slow
def test_grid_figures(smoke_grid):
    output, _, _ = smoke_grid
    folder = output / report.FIGURES_FOLDER
    expected = {f"{dataset}_metrics.png" for dataset in ("mnist", "fashion_mnist")}
    expected |= {f"{d}_{a}_reconstructions.png" for d in ("mnist", "fashion_mnist") for a in config.ARCHITECTURES}
    expected |= {
        f"{d}_inpainting_{m}.png"
        for d in ("mnist", "fashion_mnist")
        for m in ("bottom_half", "right_half", "center_square", "random_half")
    }
    found = {path.name for path in folder.glob("*.png")}
    assert found == expected
    for name in expected:
        assert (folder / name).read_bytes()[:8] == PNG_SIGNATURE, name


@pytest.mark.slow
def test_report_command_rebuilds(smoke_grid):
    output, _, _ = smoke_grid
    summary = output / report.SUMMARY_NAME
    before = summary.read_text()
    summary.unlink()
    assert cli.main(["report", str(output)]) == 0
    assert summary.read_text() == before


def test_report_without_records(tmp_path):
    with pytest.raises(FileNotFoundError, match="No result records"):
        report.write_report(tmp_path)


def test_build_specs_covers_grid(tmp_path):
    settings = runner.GridSettings(
        datasets=("mnist",),
        architectures=("stacked", "conv"),
        backends=("torch",),
        seeds=(0, 1),
        profile=config.PROFILES["smoke"],
        output_dir=pathlib.Path(tmp_path),
    )
    specs = runner.build_specs(settings)
    assert [spec.run_id for spec in specs] == [
        "mnist-stacked-torch-seed0",
        "mnist-stacked-torch-seed1",
        "mnist-conv-torch-seed0",
        "mnist-conv-torch-seed1",
    ]


def test_grid_settings_reject_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="Unknown architecture 'gan'.*stacked, conv, recurrent"):
        runner.GridSettings(
            datasets=("mnist",),
            architectures=("gan",),
            backends=("torch",),
            seeds=(0,),
            profile=config.PROFILES["smoke"],
            output_dir=tmp_path,
        )
