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
    return lines


def _determinism_lines(document: dict[str, Any]) -> list[str]:
    repeats = document.get("same_seed_repeats") or {"compared_values": 0}
    lines = ["## Same seed, same machine", ""]
    if not repeats["compared_values"]:
        return lines + ["No run of the measurement shared a seed with the baseline, so this was not checked.", ""]
    if repeats["identical_values"] == repeats["compared_values"]:
        lines.append(
            f"All {repeats['compared_values']} metric values of the runs that repeat a baseline seed "
            "are bit-identical to the baseline."
        )
    else:
        lines.append(
            f"{repeats['identical_values']} of {repeats['compared_values']} metric values of the runs that "
            f"repeat a baseline seed equal the baseline exactly. The largest difference is "
            f"{_number(repeats['max_abs_difference'])} "
            f"({100 * repeats['max_relative_difference']:.2g}% of the value)."
        )
    lines += [
        "The relative floor keeps the gate from failing on the rounding differences",
        "that another CPU or library build can introduce.",
        "",
    ]
    return lines


def _seed_swap_lines(document: dict[str, Any]) -> list[str]:
    lines = [
        "## Check against false alarms",
        "",
        "Each other seed of the measurement was compared with the baseline as if it were a new run.",
        "A different seed moves the scores more than a rerun of the same seed should.",
        "",
        "| seed | metrics compared | worse beyond tolerance | better beyond tolerance |",
        "|---|---|---|---|",
    ]
    for row in document.get("seed_swap_check", []):
        lines.append(f"| {row['seed']} | {row.get('compared', 0)} | {row.get('worse', 0)} | {row.get('better', 0)} |")
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
            floor = document["relative_floor"] * abs(values[backend])
            cells.append(_number(max(floor, document["k"] * entry["pooled_std"])))
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
        f"    tolerance = max({document['relative_floor']:g} x |baseline value|, "
        f"{document['k']:g} x seed-to-seed standard deviation)",
        "",
        "The standard deviation is measured per backend over the seeds below and pooled",
        "over the backends (root of the mean variance). Moves beyond the tolerance in the",
        "better direction are reported and do not fail.",
        "",
    ]
    lines += _measurement_lines(document)
    lines += _determinism_lines(document)
    lines += _seed_swap_lines(document)
    for dataset in sorted({entry["dataset"] for entry in document["spread"]}):
        lines += [f"## {DISPLAY_NAMES.get(dataset, dataset)}", ""]
        lines += _spread_table(document, dataset, baseline)
    return "\n".join(lines).rstrip() + "\n"
