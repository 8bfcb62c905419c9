"""Tolerances of the quality gate, measured from grids run with several seeds.

For each dataset, architecture and metric, the seed-to-seed standard
deviation is computed per backend and pooled over the backends (the root of
the mean variance). A metric may then move by

    tolerance = max(relative_floor * |baseline value|, k * pooled standard deviation)

in the worse direction before the gate fails. The same measurement checks
whether a repeated seed reproduces the baseline's numbers exactly.
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
DEFAULT_K = 4.0
DEFAULT_RELATIVE_FLOOR = 0.01


class ToleranceError(ValueError):
    """The tolerances are missing, unreadable or do not cover a model."""


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """Allowed changes per dataset, architecture and metric."""

    k: float
    relative_floor: float
    spread: dict[tuple[str, str, str], float]
    source: pathlib.Path

    def tolerance(self, dataset: str, architecture: str, metric: str, baseline: float) -> float:
        """Return how far `metric` may move from `baseline` before it counts as changed."""
        return max(self.relative_floor * abs(baseline), self.k * self.spread[(dataset, architecture, metric)])

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
        return Tolerances(float(document["k"]), float(document["relative_floor"]), spread, path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ToleranceError(
            f"Cannot read the tolerances file {path}: {error!r}. Restore it from git or measure it again "
            "with `aebench tolerances`."
        ) from None


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
        spread.append(
            {
                "dataset": dataset,
                "architecture": architecture,
                "metric": metric,
                "pooled_std": math.sqrt(statistics.fmean(variances)),
                "backends": sorted(per_backend),
                "seeds_per_backend": min(len(samples) for samples in per_backend.values()),
            }
        )
    return spread


def compare_repeats(folders: list[pathlib.Path], baseline_dir: pathlib.Path) -> dict[str, Any]:
    """Compare every model run that appears, with the same seed, in `folders` and the baseline."""
    baseline = {
        (r["dataset"], r["architecture"], r["backend"], r["seed"]): _scores(r) for r in _model_records(baseline_dir)
    }
    compared = identical = 0
    largest_difference = largest_relative = 0.0
    for folder in folders:
        for record in _model_records(folder):
            old = baseline.get((record["dataset"], record["architecture"], record["backend"], record["seed"]))
            if not old:
                continue
            for metric, value in _scores(record).items():
                if metric not in old:
                    continue
                compared += 1
                difference = abs(value - old[metric])
                identical += difference == 0.0
                largest_difference = max(largest_difference, difference)
                if old[metric] != 0:
                    largest_relative = max(largest_relative, difference / abs(old[metric]))
    return {
        "compared_values": compared,
        "identical_values": identical,
        "max_abs_difference": largest_difference,
        "max_relative_difference": largest_relative,
    }


def seed_swap_check(
    folders: list[pathlib.Path], baseline_dir: pathlib.Path, limits: Tolerances
) -> list[dict[str, Any]]:
    """Count, per other seed, the metrics the gate would flag if that seed replaced the baseline's.

    A different seed moves the numbers more than any rerun of the same seed
    should, so this is a harsh test of the tolerances against false alarms.
    """
    baseline = {(r["dataset"], r["architecture"], r["backend"]): r for r in _model_records(baseline_dir)}
    counts: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for folder in folders:
        for record in _model_records(folder):
            old = baseline.get((record["dataset"], record["architecture"], record["backend"]))
            if old is None or record["seed"] == old["seed"]:
                continue
            old_scores, new_scores = _scores(old), _scores(record)
            for metric in tables.METRICS:
                if metric.key not in old_scores or metric.key not in new_scores:
                    continue
                tolerance = limits.tolerance(record["dataset"], record["architecture"], metric.key, old_scores[metric.key])
                change = new_scores[metric.key] - old_scores[metric.key]
                worse_by = change if metric.lower_is_better else -change
                counts[record["seed"]]["compared"] += 1
                counts[record["seed"]]["worse"] += worse_by > tolerance
                counts[record["seed"]]["better"] += -worse_by > tolerance
    return [{"seed": seed, **dict(counter)} for seed, counter in sorted(counts.items())]


def measure(
    folders: list[pathlib.Path],
    baseline_dir: pathlib.Path,
    k: float = DEFAULT_K,
    relative_floor: float = DEFAULT_RELATIVE_FLOOR,
    command: str = "",
) -> dict[str, Any]:
    """Measure the tolerances from `folders` and return the document that `write` stores."""
    spread = measure_spread(folders)
    limits = Tolerances(
        k, relative_floor, {(e["dataset"], e["architecture"], e["metric"]): e["pooled_std"] for e in spread}, baseline_dir
    )
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
                "machine": grid["provenance"].get("machine"),
            }
        )
    return {
        "rule": "tolerance = max(relative_floor * |baseline value|, k * pooled seed-to-seed standard deviation)",
        "k": k,
        "relative_floor": relative_floor,
        "command": command,
        "measured_at": provenance.utc_now(),
        "measured_from": grids,
        "same_seed_repeats": compare_repeats(folders, baseline_dir),
        "seed_swap_check": seed_swap_check(folders, baseline_dir, limits),
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
