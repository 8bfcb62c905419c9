"""The quality gate: compare a grid's scores with the committed baseline.

Each metric of each model that appears in both folders is compared. A change
in the worse direction that exceeds the metric's tolerance fails the gate. A
change in the better direction beyond it is reported as an improvement. The
tolerances come from `tolerances.json` in the baseline folder (see
`bench.tolerances` for how they are measured). The gate only reads the
baseline and never rewrites it.
"""

import dataclasses
import math
import pathlib
from typing import Any

from bench import config, records, tables
from bench import tolerances as tolerances_module

GATE_NAME = "gate.md"

# Verdicts of one comparison. Only WORSE, NO_SCORES and COLLAPSED fail the gate.
WORSE = "worse"
BETTER = "better"
WITHIN = "within tolerance"
IDENTICAL = "identical"
NO_SCORES = "no scores"
COLLAPSED = "collapsed"
FAILING_VERDICTS = (WORSE, NO_SCORES, COLLAPSED)

# Settings whose change is worth a line above the table, because they explain
# why the scores moved.
COMPARED_SETTINGS = ("profile", "codings_size", "mask_seed")


class GateError(RuntimeError):
    """The comparison cannot be made; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One metric of one model, in the baseline and in the new grid."""

    dataset: str
    architecture: str
    backend: str
    seed: int
    metric: str
    baseline: float | None
    new: float | None
    tolerance: float | None
    verdict: str
    note: str = ""

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.new is None:
            return None
        return self.new - self.baseline

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING_VERDICTS

    @property
    def model(self) -> str:
        return _label((self.dataset, self.architecture, self.backend, self.seed))


@dataclasses.dataclass
class GateResult:
    """Every comparison of one gate run, and what could not be compared."""

    baseline_dir: pathlib.Path
    run_dir: pathlib.Path
    comparisons: list[Comparison]
    setting_changes: list[str]
    not_run: list[str]
    without_baseline: list[str]

    @property
    def failures(self) -> list[Comparison]:
        return [item for item in self.comparisons if item.failed]

    @property
    def improvements(self) -> list[Comparison]:
        return [item for item in self.comparisons if item.verdict == BETTER]

    @property
    def passed(self) -> bool:
        return not self.failures


def _model_key(record: dict[str, Any]) -> tuple[str, str, str, int]:
    return (record["dataset"], record["architecture"], record["backend"], int(record.get("seed") or 0))


def _read_records(folder: pathlib.Path, role: str) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """Return the model records of an output folder by (dataset, architecture, backend, seed)."""
    if not folder.is_dir():
        raise GateError(
            f"The {role} folder {folder} does not exist. "
            + (
                "Restore it from git (git checkout -- results/baseline), or create one with "
                "`aebench refresh-baseline` and measure its tolerances with `aebench tolerances`."
                if role == "baseline"
                else "Give the output folder of a finished grid."
            )
        )
    paths = sorted((folder / records.RUNS_FOLDER).glob(f"*/{records.RECORD_NAME}"))
    if not paths:
        raise GateError(
            f"The {role} folder {folder} contains no records "
            f"(expected {records.RUNS_FOLDER}/<run_id>/{records.RECORD_NAME}); "
            "give an output folder written by aebench."
        )
    found = {}
    for path in paths:
        try:
            record = records.read_json(path)
        except (OSError, ValueError) as error:
            raise GateError(f"Cannot read the {role} record {path}: {error}. Restore or regenerate that file.") from None
        if record.get("kind") == "model":
            found[_model_key(record)] = record
    return found


def _label(key: tuple[str, str, str, int]) -> str:
    dataset, architecture, backend, seed = key
    return f"{dataset}/{architecture}/{backend}/seed {seed}"


def _grid_settings(folder: pathlib.Path) -> dict[str, Any]:
    try:
        return records.read_json(folder / "grid.json")["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _setting_changes(baseline_dir: pathlib.Path, run_dir: pathlib.Path) -> list[str]:
    old, new = _grid_settings(baseline_dir), _grid_settings(run_dir)
    changes = []
    for key in COMPARED_SETTINGS:
        if key not in old or key not in new or old[key] == new[key]:
            continue
        if isinstance(old[key], dict) and isinstance(new[key], dict):
            # A profile field added after the baseline was made counts as its default there.
            defaults = config.LATER_PROFILE_FIELDS if key == "profile" else {}
            for field in sorted(set(old[key]) | set(new[key])):
                before, after = (side[key].get(field, defaults.get(field)) for side in (old, new))
                if field != "description" and before != after:
                    changes.append(f"{key}.{field}: {before} -> {after}")
        else:
            changes.append(f"{key}: {old[key]} -> {new[key]}")
    return changes


def _is_collapsed(record: dict[str, Any]) -> bool:
    return bool((record.get("collapse_check") or {}).get("collapsed"))


def _verdict(metric: tables.Metric, baseline: float, new: float, tolerance: float) -> str:
    if new == baseline:
        return IDENTICAL
    if not math.isfinite(new):
        return WORSE
    worse_by = new - baseline if metric.lower_is_better else baseline - new
    if worse_by > tolerance:
        return WORSE
    if -worse_by > tolerance:
        return BETTER
    return WITHIN


def _compare_model(
    key: tuple[str, str, str, int],
    old: dict[str, Any],
    new: dict[str, Any],
    limits: tolerances_module.Tolerances,
) -> list[Comparison]:
    dataset, architecture, backend, seed = key
    old_metrics = old.get("metrics") or {}
    if new.get("status") != "ok" or not new.get("metrics"):
        reason = new.get("reason") or "no metrics were recorded"
        return [Comparison(*key, "all metrics", None, None, None, NO_SCORES, f"run {new.get('status')}: {reason}")]
    found = []
    if _is_collapsed(new) and not _is_collapsed(old):
        # The scores are still compared below, so the table shows how far they fell.
        note = "the reconstructions collapsed to a near-constant image"
        found.append(Comparison(*key, "collapse check", None, None, None, COLLAPSED, note))
    for metric in tables.METRICS:
        if metric.key not in old_metrics:
            continue
        baseline = float(old_metrics[metric.key])
        value = new["metrics"].get(metric.key)
        if value is None:
            found.append(Comparison(*key, metric.key, baseline, None, None, NO_SCORES, "metric missing"))
            continue
        tolerance = limits.tolerance(dataset, architecture, metric.key, baseline)
        verdict = _verdict(metric, baseline, float(value), tolerance)
        found.append(Comparison(*key, metric.key, baseline, float(value), tolerance, verdict))
    return found


def compare(
    run_dir: pathlib.Path,
    baseline_dir: pathlib.Path,
    tolerances_path: pathlib.Path | None = None,
) -> GateResult:
    """Compare the model scores in `run_dir` with those in `baseline_dir`.

    Models of the baseline that the new grid did not run are listed as not
    run, and new models without a baseline are listed too. Neither fails the
    gate. A model of the baseline that the new grid ran but did not score
    (failed, skipped, interrupted or collapsed) fails it.

    Raises:
        GateError: if either folder, a record or the tolerances cannot be read,
            or if no model of the new grid has a baseline to compare with.
    """
    old_records = _read_records(baseline_dir, "baseline")
    try:
        limits = tolerances_module.load(tolerances_path or baseline_dir / tolerances_module.TOLERANCES_NAME)
    except tolerances_module.ToleranceError as error:
        raise GateError(str(error)) from None
    new_records = _read_records(run_dir, "run")
    matched = sorted(set(old_records) & set(new_records))
    if not matched:
        raise GateError(
            f"No model in {run_dir} has a baseline in {baseline_dir}: the baseline has "
            f"{', '.join('/'.join(map(str, key)) for key in sorted(old_records))}. "
            "Run the same datasets, architectures, backends and seeds as the baseline."
        )
    for key in matched:
        try:
            limits.check_covers(key[0], key[1], list(old_records[key].get("metrics") or {}))
        except tolerances_module.ToleranceError as error:
            raise GateError(str(error)) from None
    comparisons = []
    for key in matched:
        comparisons.extend(_compare_model(key, old_records[key], new_records[key], limits))
    return GateResult(
        baseline_dir=baseline_dir,
        run_dir=run_dir,
        comparisons=comparisons,
        setting_changes=_setting_changes(baseline_dir, run_dir),
        not_run=[_label(key) for key in sorted(set(old_records) - set(new_records))],
        without_baseline=[_label(key) for key in sorted(set(new_records) - set(old_records))],
    )
