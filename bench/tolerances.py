"""Tolerances of the quality gate, measured from grids run with several seeds.

For each dataset, architecture and metric, the seed-to-seed standard
deviation (SD) is computed per backend and pooled over the backends (the root
of the mean variance). A metric may then move by

    tolerance = k * max(pooled SD, typical relative SD of the metric * |baseline value|)

in the worse direction before the gate fails. The typical relative SD is the
median over all models of SD / |mean| for that metric. It guards against an SD
that a few seeds happened to underestimate. The same measurement checks whether
a repeated seed reproduces the baseline's numbers exactly.
"""

import collections
import dataclasses
import math
import pathlib
import statistics
from typing import Any

from bench import provenance, records, tables

TOLERANCES_NAME = "tolerances.json"
TOLERANCES_DOC = "TOLERANCES.md"
# A rerun on another machine differs from the baseline about as much as another
# seed does. With k = 6, no metric of 3 other seeds, or of the baseline's seed
# rerun on another machine, used more than 75% of its tolerance (quick profile,
# 2-core AMD EPYC; see TOLERANCES.md beside the baseline).
DEFAULT_K = 6.0


class ToleranceError(ValueError):
    """The tolerances are missing, unreadable or do not cover a model."""


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """Allowed changes per dataset, architecture and metric."""

    k: float
    spread: dict[tuple[str, str, str], float]
    relative_spread: dict[str, float]
    source: pathlib.Path

    def tolerance(self, dataset: str, architecture: str, metric: str, baseline: float) -> float:
        """Return how far `metric` may move from `baseline` before it counts as changed."""
        typical = self.relative_spread.get(metric, 0.0) * abs(baseline)
        return self.k * max(self.spread[(dataset, architecture, metric)], typical)

    def check_covers(self, dataset: str, architecture: str, metrics: list[str]) -> None:
        """Raise ToleranceError if any of `metrics` has no measured spread."""
        missing = [metric for metric in metrics if (dataset, architecture, metric) not in self.spread]
        if missing:
            raise ToleranceError(
                f"{self.source} has no tolerance for {dataset}/{architecture} "
                f"({', '.join(missing)}); measure them with "
                "`aebench tolerances FOLDER --baseline BASELINE` on a grid run with several seeds."
            )


def load(path: pathlib.Path) -> Tolerances:
    """Read a tolerances file written by `write`.

    Raises:
        ToleranceError: if the file is missing or not a tolerances file.
    """
    if not path.is_file():
        raise ToleranceError(
            f"The tolerances file {path} is missing. Restore it from git, or measure it with "
            "`aebench tolerances FOLDER --baseline BASELINE` on a grid run with several seeds."
        )
    try:
        document = records.read_json(path)
        spread = {
            (entry["dataset"], entry["architecture"], entry["metric"]): float(entry["pooled_std"])
            for entry in document["spread"]
        }
        relative = {metric: float(value) for metric, value in document["relative_spread"].items()}
        return Tolerances(float(document["k"]), spread, relative, path)
    except KeyError as error:
        problem = f"the field {error} is missing"
    except (TypeError, AttributeError):
        problem = "its fields do not have the expected types"
    except (OSError, ValueError) as error:
        problem = str(error)
    raise ToleranceError(
        f"Cannot read the tolerances file {path}: {problem}. Restore it from git or measure it again "
        "with `aebench tolerances`."
    )


def _model_records(folder: pathlib.Path) -> list[dict[str, Any]]:
    found = [record for record in records.load_records(folder) if record["kind"] == "model"]
    if not found:
        raise ToleranceError(f"{folder} contains no model records; give the output folder of a finished grid.")
    return found


def _scores(record: dict[str, Any]) -> dict[str, float]:
    if record["status"] != "ok" or (record.get("collapse_check") or {}).get("collapsed"):
        return {}
    return {key: float(value) for key, value in (record.get("metrics") or {}).items()}


def measure_spread(folders: list[pathlib.Path]) -> list[dict[str, Any]]:
    """Return the pooled seed-to-seed standard deviation per dataset, architecture and metric.

    Raises:
        ToleranceError: if some backend has fewer than two scored seeds of a model.
    """
    values: dict[tuple[str, str, str, str], dict[int, float]] = collections.defaultdict(dict)
    for folder in folders:
        for record in _model_records(folder):
            for metric, value in _scores(record).items():
                values[(record["dataset"], record["architecture"], metric, record["backend"])][record["seed"]] = value

    by_model: dict[tuple[str, str, str], dict[str, list[float]]] = collections.defaultdict(dict)
    for (dataset, architecture, metric, backend), per_seed in values.items():
        if len(per_seed) < 2:
            raise ToleranceError(
                f"{dataset}/{architecture}/{backend} has {len(per_seed)} scored seed(s) for {metric}; "
                "the spread needs at least 2. Run the grid with more seeds (for example --seeds 0 1 2 3)."
            )
        by_model[(dataset, architecture, metric)][backend] = list(per_seed.values())

    spread = []
    for (dataset, architecture, metric), per_backend in sorted(by_model.items()):
        variances = [statistics.variance(samples) for samples in per_backend.values()]
        every_value = [value for samples in per_backend.values() for value in samples]
        spread.append(
            {
                "dataset": dataset,
                "architecture": architecture,
                "metric": metric,
                "pooled_std": math.sqrt(statistics.fmean(variances)),
                "mean": statistics.fmean(every_value),
                "backends": sorted(per_backend),
                "seeds_per_backend": min(len(samples) for samples in per_backend.values()),
            }
        )
    return spread


def relative_spread(spread: list[dict[str, Any]]) -> dict[str, float]:
    """Return, per metric, the median over models of the pooled SD divided by |mean|."""
    ratios: dict[str, list[float]] = collections.defaultdict(list)
    for entry in spread:
        if entry["mean"] != 0:
            ratios[entry["metric"]].append(entry["pooled_std"] / abs(entry["mean"]))
    return {metric: statistics.median(values) for metric, values in sorted(ratios.items())}


def compare_repeats(folders: list[pathlib.Path], baseline_dir: pathlib.Path) -> dict[str, Any]:
    """Compare every model run that appears, with the same seed, in `folders` and the baseline."""
    baseline = {
        (r["dataset"], r["architecture"], r["backend"], r["seed"]): _scores(r) for r in _model_records(baseline_dir)
    }
    compared = identical = 0
    largest: dict[str, Any] = {}
    for folder in folders:
        for record in _model_records(folder):
            old = baseline.get((record["dataset"], record["architecture"], record["backend"], record["seed"]))
            if not old:
                continue
            for metric, value in _scores(record).items():
                if metric not in old:
                    continue
                compared += 1
                identical += value == old[metric]
                relative = abs(value - old[metric]) / abs(old[metric]) if old[metric] else 0.0
                if relative > largest.get("relative_difference", 0.0):
                    largest = {
                        "run_id": record["run_id"],
                        "metric": metric,
                        "baseline": old[metric],
                        "rerun": value,
                        "relative_difference": relative,
                    }
    return {"compared_values": compared, "identical_values": identical, "largest_relative_difference": largest}


def false_alarm_check(
    folders: list[pathlib.Path], baseline_dir: pathlib.Path, limits: Tolerances
) -> list[dict[str, Any]]:
    """Compare each seed of `folders` with the baseline as the gate would, and count what it flags.

    Another seed, or the same seed on another machine, is what an honest rerun
    looks like at worst. Each row also gives the largest share of a tolerance
    that any metric used.
    """
    baseline = {(r["dataset"], r["architecture"], r["backend"]): r for r in _model_records(baseline_dir)}
    rows: dict[int, dict[str, Any]] = {}
    for folder in folders:
        for record in _model_records(folder):
            old = baseline.get((record["dataset"], record["architecture"], record["backend"]))
            if old is None:
                continue
            row = rows.setdefault(
                record["seed"],
                {"seed": record["seed"], "same_seed_as_baseline": record["seed"] == old.get("seed"),
                 "compared": 0, "worse": 0, "better": 0, "max_share_of_tolerance": 0.0},
            )
            old_scores, new_scores = _scores(old), _scores(record)
            for metric in tables.METRICS:
                if metric.key not in old_scores or metric.key not in new_scores:
                    continue
                tolerance = limits.tolerance(record["dataset"], record["architecture"], metric.key, old_scores[metric.key])
                change = new_scores[metric.key] - old_scores[metric.key]
                worse_by = change if metric.lower_is_better else -change
                row["compared"] += 1
                row["worse"] += worse_by > tolerance
                row["better"] += -worse_by > tolerance
                if tolerance > 0:
                    row["max_share_of_tolerance"] = max(row["max_share_of_tolerance"], abs(change) / tolerance)
    return [rows[seed] for seed in sorted(rows)]


def _grid_machine(folder: pathlib.Path) -> dict[str, Any]:
    try:
        return records.read_json(folder / "grid.json")["provenance"]["machine"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def measure(
    folders: list[pathlib.Path],
    baseline_dir: pathlib.Path,
    k: float = DEFAULT_K,
    command: str = "",
) -> dict[str, Any]:
    """Measure the tolerances from `folders` and return the document that `write` stores."""
    spread = measure_spread(folders)
    relative = relative_spread(spread)
    by_model = {(e["dataset"], e["architecture"], e["metric"]): e["pooled_std"] for e in spread}
    limits = Tolerances(k, by_model, relative, baseline_dir)
    grids = []
    for folder in folders:
        grid = records.read_json(folder / "grid.json")
        grids.append(
            {
                "folder": str(folder),
                "profile": grid["settings"]["profile"]["name"],
                "seeds": grid["settings"]["seeds"],
                "commit": grid["provenance"].get("commit"),
                "dirty": grid["provenance"].get("dirty"),
                "machine": _grid_machine(folder),
            }
        )
    return {
        "rule": "tolerance = k * max(pooled seed-to-seed SD, relative_spread[metric] * |baseline value|)",
        "k": k,
        "relative_spread": relative,
        "command": command,
        "measured_at": provenance.utc_now(),
        "measured_from": grids,
        "baseline_machine": _grid_machine(baseline_dir),
        "same_seed_repeats": compare_repeats(folders, baseline_dir),
        "false_alarm_check": false_alarm_check(folders, baseline_dir, limits),
        "spread": spread,
    }


def write(document: dict[str, Any], baseline_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write tolerances.json and its readable TOLERANCES.md into `baseline_dir`."""
    from bench import tolerance_page

    json_path = baseline_dir / TOLERANCES_NAME
    records.write_json(json_path, document)
    doc_path = baseline_dir / TOLERANCES_DOC
    records.write_atomically(doc_path, tolerance_page.render(document, baseline_dir).encode())
    return [json_path, doc_path]
