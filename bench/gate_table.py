"""Render a quality-gate result as a terminal table and as Markdown."""

from bench import tables
from bench.gate import BETTER, FAILING_VERDICTS, Comparison, GateResult

COLUMNS = ("model", "metric", "baseline", "new", "change", "tolerance", "verdict")


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _change(item: Comparison) -> str:
    if item.change is None:
        return "–"
    text = _number(item.change, signed=True)
    if item.baseline:
        text += f" ({100 * item.change / abs(item.baseline):+.1f}%)"
    return text


def _metric_label(key: str) -> str:
    metric = tables.METRICS_BY_KEY.get(key)
    return metric.label if metric else key


def _summarize_models(labels: list[str]) -> str:
    """Return the model labels, or their count and seeds when the list is long."""
    if len(labels) <= 6:
        return ", ".join(labels)
    seeds = sorted({label.rsplit("seed ", 1)[-1] for label in labels}, key=lambda seed: (len(seed), seed))
    return f"{len(labels)} models (seeds {', '.join(seeds)})"


def _cells(item: Comparison) -> list[str]:
    metric = tables.METRICS_BY_KEY.get(item.metric)
    verdict = item.verdict.upper() if item.failed else item.verdict
    if item.note:
        verdict += f": {item.note}"
    return [
        item.model,
        metric.label if metric else item.metric,
        _number(item.baseline),
        _number(item.new),
        _change(item),
        _number(item.tolerance),
        verdict,
    ]


def _headline(result: GateResult) -> str:
    compared = len(result.comparisons)
    if result.passed:
        return (
            f"quality gate passed: {compared} comparisons with {result.baseline_dir}, none worse beyond tolerance, "
            f"{len(result.improvements)} better beyond tolerance"
        )
    names = sorted({f"{item.model} {_metric_label(item.metric)}" for item in result.failures})
    return (
        f"quality gate FAILED: {len(result.failures)} of {compared} comparisons with {result.baseline_dir} "
        f"got worse beyond tolerance or have no scores: {'; '.join(names)}"
    )


def _notes(result: GateResult) -> list[str]:
    notes = []
    if result.setting_changes:
        notes.append("settings differ from the baseline: " + "; ".join(result.setting_changes))
    if result.not_run:
        notes.append("in the baseline but not in this grid (not compared): " + _summarize_models(result.not_run))
    if result.without_baseline:
        notes.append("no baseline to compare with: " + _summarize_models(result.without_baseline))
    return notes


def render_text(result: GateResult, changes_only: bool = False) -> str:
    """Return an aligned plain-text table of the comparisons, with a closing verdict line.

    With `changes_only`, the table lists only the comparisons beyond tolerance
    and ends with their count instead of the gate's verdict.
    """
    listed = result.comparisons
    if changes_only:
        listed = [item for item in result.comparisons if item.verdict in (*FAILING_VERDICTS, BETTER)]
    rows = [list(COLUMNS)] + [_cells(item) for item in listed]
    widths = [max(len(row[index]) for row in rows) for index in range(len(COLUMNS) - 1)]
    lines = []
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join(padded + [row[-1]]).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths) + "  " + "-" * len(COLUMNS[-1]))
    if changes_only:
        summary = f"{len(listed)} of {len(result.comparisons)} comparisons changed beyond tolerance"
    else:
        summary = _headline(result)
    lines += [""] + _notes(result) + [summary]
    return "\n".join(lines) + "\n"


def render_markdown(result: GateResult) -> str:
    """Return the Markdown page written to gate.md: the verdict first, then every comparison."""
    lines = [
        "# Quality gate",
        "",
        f"New grid: `{result.run_dir}`. Baseline: `{result.baseline_dir}`.",
        "",
        _headline(result) + ".",
        "",
    ]
    lines += [f"- {note}" for note in _notes(result)]
    if _notes(result):
        lines.append("")
    flagged = [item for item in result.comparisons if item.verdict in (*FAILING_VERDICTS, BETTER)]
    for title, chosen in (("Flagged comparisons", flagged), ("All comparisons", result.comparisons)):
        if not chosen:
            continue
        lines += [f"## {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(_cells(item)) + " |" for item in chosen]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
