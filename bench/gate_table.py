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
    names = sorted({f"{item.model} {item.metric}" for item in result.failures})
    return (
        f"quality gate FAILED: {len(result.failures)} of {compared} comparisons with {result.baseline_dir} "
        f"got worse beyond tolerance or have no scores: {'; '.join(names)}"
    )


def _notes(result: GateResult) -> list[str]:
    notes = []
    if result.setting_changes:
        notes.append("settings differ from the baseline: " + "; ".join(result.setting_changes))
    if result.not_run:
        notes.append("in the baseline but not in this grid (not compared): " + ", ".join(result.not_run))
    if result.without_baseline:
        notes.append("no baseline to compare with: " + ", ".join(result.without_baseline))
    return notes


def render_text(result: GateResult) -> str:
    """Return an aligned plain-text table of every comparison, with a closing verdict line."""
    rows = [list(COLUMNS)] + [_cells(item) for item in result.comparisons]
    widths = [max(len(row[index]) for row in rows) for index in range(len(COLUMNS) - 1)]
    lines = []
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join(padded + [row[-1]]).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths) + "  " + "-" * len(COLUMNS[-1]))
    lines += [""] + _notes(result) + [_headline(result)]
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
