"""Render TOLERANCES.md: the quality gate's tolerances and how they were measured."""

import pathlib
from typing import Any

from bench import records, tables
from bench.data import DISPLAY_NAMES


def _number(value: float) -> str:
    return f"{value:.3g}"


def _baseline_values(baseline_dir: pathlib.Path) -> dict[tuple[str, str, str], dict[str, float]]:
    """Return the baseline scores by (dataset, architecture, metric), then backend."""
    values: dict[tuple[str, str, str], dict[str, float]] = {}
    for record in records.load_records(baseline_dir):
        if record["kind"] != "model" or record["status"] != "ok":
            continue
        for metric, value in (record.get("metrics") or {}).items():
            values.setdefault((record["dataset"], record["architecture"], metric), {})[record["backend"]] = value
    return values


def _measurement_lines(document: dict[str, Any]) -> list[str]:
    lines = ["## How they were measured", ""]
    if document.get("command"):
        lines += ["Command:", "", f"    {document['command']}", ""]
    for grid in document.get("measured_from", []):
        machine = grid.get("machine") or {}
        commit = (grid.get("commit") or "unknown")[:12] + (" (with local changes)" if grid.get("dirty") else "")
        lines.append(
            f"- `{grid['folder']}`: profile {grid['profile']}, seeds {', '.join(map(str, grid['seeds']))}, "
            f"commit {commit}, {machine.get('cpu_count', '?')} CPU cores, Python {machine.get('python', '?')}."
        )
    lines += ["", f"Measured at {document.get('measured_at', 'an unrecorded time')}.", ""]
    relative = document.get("relative_spread") or {}
    if relative:
        lines += ["| metric | typical relative SD |", "|---|---|"]
        for metric in tables.METRICS:
            if metric.key in relative:
                lines.append(f"| {metric.label} | {100 * relative[metric.key]:.2g}% |")
        lines.append("")
    return lines


def _determinism_lines(document: dict[str, Any]) -> list[str]:
    repeats = document.get("same_seed_repeats") or {"compared_values": 0}
    lines = ["## The same seed, run again", ""]
    if not repeats["compared_values"]:
        return lines + ["No run of the measurement shared a seed with the baseline, so this was not checked.", ""]
    machines = _machines(document)
    if repeats["identical_values"] == repeats["compared_values"]:
        lines.append(
            f"All {repeats['compared_values']} metric values of the runs that repeat a baseline seed "
            f"are bit-identical to the baseline ({machines})."
        )
        return lines + [""]
    largest = repeats["largest_relative_difference"]
    metric = tables.METRICS_BY_KEY.get(largest["metric"])
    lines += [
        f"{repeats['identical_values']} of {repeats['compared_values']} metric values of the runs that "
        f"repeat a baseline seed equal the baseline exactly ({machines}). The largest relative difference "
        f"is {metric.label if metric else largest['metric']} of {largest['run_id']}: "
        f"{_number(largest['baseline'])} in the baseline, {_number(largest['rerun'])} in the rerun "
        f"({100 * largest['relative_difference']:.3g}%).",
        "",
        "Rounding that differs between machines grows over the training steps, so a rerun of",
        "the same seed elsewhere can differ as much as another seed does. The tolerances are",
        "sized for that, and the check below includes that rerun.",
    ]
    return lines + [""]


def _describe_machine(machine: dict[str, Any]) -> str:
    # Older records have no CPU model; their platform string names the kernel build.
    return machine.get("cpu_model") or machine.get("platform") or "an unrecorded machine"


def _machines(document: dict[str, Any]) -> str:
    baseline = _describe_machine(document.get("baseline_machine") or {})
    measured = sorted({_describe_machine(grid.get("machine") or {}) for grid in document.get("measured_from", [])})
    if measured == [baseline]:
        return f"both on {baseline}"
    return f"baseline made on {baseline}, rerun on {', '.join(measured)}"


def _false_alarm_lines(document: dict[str, Any]) -> list[str]:
    lines = [
        "## Check against false alarms",
        "",
        "Each seed of the measurement was compared with the baseline as the gate compares a new",
        "run. An honest rerun on another machine differs from the baseline at most about as much.",
        "The last column is the largest change of any metric as a share of its tolerance.",
        "",
        "| seed | metrics compared | worse beyond tolerance | better beyond tolerance | largest share of a tolerance |",
        "|---|---|---|---|---|",
    ]
    for row in document.get("false_alarm_check", []):
        seed = f"{row['seed']} (the baseline's seed)" if row.get("same_seed_as_baseline") else str(row["seed"])
        lines.append(
            f"| {seed} | {row['compared']} | {row['worse']} | {row['better']} | "
            f"{100 * row['max_share_of_tolerance']:.0f}% |"
        )
    return lines + [""]


def _spread_table(document: dict[str, Any], dataset: str, baseline: dict) -> list[str]:
    backends = sorted({backend for (name, _, _), per_backend in baseline.items() if name == dataset for backend in per_backend})
    header = ["architecture", "metric", "seed-to-seed SD", f"{document['k']:g} x SD"]
    header += [f"tolerance ({backend})" for backend in backends]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    order = {metric.key: index for index, metric in enumerate(tables.METRICS)}
    entries = [entry for entry in document["spread"] if entry["dataset"] == dataset]
    entries.sort(key=lambda entry: (entry["architecture"], order.get(entry["metric"], len(order))))
    for entry in entries:
        metric = tables.METRICS_BY_KEY.get(entry["metric"])
        cells = [
            entry["architecture"],
            metric.label if metric else entry["metric"],
            _number(entry["pooled_std"]),
            _number(document["k"] * entry["pooled_std"]),
        ]
        values = baseline.get((dataset, entry["architecture"], entry["metric"]), {})
        for backend in backends:
            if backend not in values:
                cells.append("–")
                continue
            typical = document["relative_spread"].get(entry["metric"], 0.0) * abs(values[backend])
            cells.append(_number(document["k"] * max(typical, entry["pooled_std"])))
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def render(document: dict[str, Any], baseline_dir: pathlib.Path) -> str:
    """Return the Markdown page for a tolerances document and the baseline it applies to."""
    baseline = _baseline_values(baseline_dir)
    lines = [
        "# Quality gate tolerances",
        "",
        "Written by `aebench tolerances`, read by the gate at the end of `tox -e bench`.",
        "A metric fails the gate when it moves in the worse direction by more than",
        "",
        f"    tolerance = {document['k']:g} x max(seed-to-seed SD, typical relative SD of the metric x |baseline value|)",
        "",
        "The seed-to-seed standard deviation (SD) is measured per backend over the seeds below",
        "and pooled over the backends (root of the mean variance). The typical relative SD of a",
        "metric is the median over all models of SD / |mean|; it keeps the tolerance from",
        "shrinking where a few seeds happened to agree. Moves beyond the tolerance in the better",
        "direction are reported and do not fail.",
        "",
    ]
    lines += _measurement_lines(document)
    lines += _determinism_lines(document)
    lines += _false_alarm_lines(document)
    for dataset in sorted({entry["dataset"] for entry in document["spread"]}):
        lines += [f"## {DISPLAY_NAMES.get(dataset, dataset)}", ""]
        lines += _spread_table(document, dataset, baseline)
    return "\n".join(lines).rstrip() + "\n"
