"""Refresh the committed baseline from a finished grid, on purpose and on the record.

The gate never calls this. A person runs `aebench refresh-baseline` with a
reason. The records are copied in and the report is rebuilt. The tolerances
are kept, and HISTORY.md gains an entry with the reason, the time and the commit.
"""

import logging
import os
import pathlib
import shutil
from typing import Any

from bench import gate, provenance, records, report, tolerances
from bench.lock import OutputLock

logger = logging.getLogger(__name__)

HISTORY_NAME = "HISTORY.md"
# Files of a run that the baseline keeps; worker logs stay out of the repository.
RUN_FILES = (records.RECORD_NAME, records.SPEC_NAME, records.SAMPLES_NAME)
KEPT_FILES = (tolerances.TOLERANCES_NAME, HISTORY_NAME)


class BaselineError(RuntimeError):
    """The grid cannot become the baseline; the message gives the reason and the fix."""


def _check_grid(run_dir: pathlib.Path, allow_uncommitted: bool) -> list[dict[str, Any]]:
    if not (run_dir / report.GRID_NAME).is_file():
        raise BaselineError(f"{run_dir} has no {report.GRID_NAME}; give the output folder of a finished grid.")
    found = records.load_records(run_dir)
    models = [record for record in found if record["kind"] == "model"]
    if not models:
        raise BaselineError(f"{run_dir} contains no model records; give the output folder of a finished grid.")
    unfinished = [f"{record['run_id']} ({record['status']})" for record in models if record["status"] != "ok"]
    missing = sorted(report.planned_runs(run_dir) - {record["run_id"] for record in models})
    if unfinished or missing:
        raise BaselineError(
            f"{run_dir} is not a complete grid: {', '.join(unfinished + [f'{name} (not run)' for name in missing])}. "
            "Finish it with --resume, or run the grid again."
        )
    for record in found:
        state = record.get("provenance") or {}
        if not state.get("commit"):
            raise BaselineError(
                f"{record['run_id']} records no commit; run the grid from a git checkout of aebench."
            )
        if state.get("dirty") and not allow_uncommitted:
            raise BaselineError(
                f"{record['run_id']} was made from a checkout with uncommitted changes on top of "
                f"{state['commit'][:12]}; commit them and run the grid again, so the baseline names its code."
            )
    return found


def _warn_if_behind(found: list[dict[str, Any]]) -> None:
    """Log a warning when the grid was made at another commit than the checkout's."""
    current = provenance.git_state().get("commit")
    made_at = sorted({record["provenance"]["commit"] for record in found})
    if current and made_at != [current]:
        logger.warning(
            "the grid was made at commit %s but the checkout is at %s; the baseline will name the grid's commit",
            ", ".join(commit[:12] for commit in made_at),
            current[:12],
        )


def _history_entry(
    found: list[dict[str, Any]], run_dir: pathlib.Path, reason: str, command: str, comparison: str
) -> str:
    commits = sorted(
        record["provenance"]["commit"] + (" with uncommitted changes" if record["provenance"].get("dirty") else "")
        for record in found
    )
    commits = list(dict.fromkeys(commits))
    grid = records.read_json(run_dir / report.GRID_NAME)["settings"]
    return "\n".join(
        [
            f"## {provenance.utc_now()}",
            "",
            f"- Reason: {reason}",
            f"- Records made at commit {', '.join(commits)}, profile {grid['profile']['name']}, "
            f"seeds {', '.join(map(str, grid['seeds']))}, copied from `{run_dir}`.",
            f"- Command: `{command}`",
            f"- Against the previous baseline: {comparison}",
            "",
        ]
    )


def _summarize(result: gate.GateResult | None, error: str | None) -> str:
    if result is None:
        return f"not compared ({error or 'there was no previous baseline'})."
    counts = {}
    for item in result.comparisons:
        counts[item.verdict] = counts.get(item.verdict, 0) + 1
    parts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    return f"{len(result.comparisons)} comparisons: {parts}."


def _stage(run_dir: pathlib.Path, baseline_dir: pathlib.Path, staging: pathlib.Path, found) -> None:
    """Build the new baseline folder in `staging`."""
    staging.mkdir(parents=True)
    shutil.copy2(run_dir / report.GRID_NAME, staging / report.GRID_NAME)
    for record in found:
        source = records.run_folder(run_dir, record["run_id"])
        target = records.run_folder(staging, record["run_id"])
        target.mkdir(parents=True)
        for name in RUN_FILES:
            if (source / name).exists():
                shutil.copy2(source / name, target / name)
    for name in KEPT_FILES:
        if (baseline_dir / name).exists():
            shutil.copy2(baseline_dir / name, staging / name)
    report.write_report(staging)


def _swap(staging: pathlib.Path, baseline_dir: pathlib.Path, retired: pathlib.Path) -> None:
    """Put `staging` in place of `baseline_dir`, restoring the old folder if that fails."""
    if baseline_dir.exists():
        baseline_dir.rename(retired)
    try:
        staging.rename(baseline_dir)
    except OSError:
        if retired.exists():
            retired.rename(baseline_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def refresh(
    run_dir: pathlib.Path,
    baseline_dir: pathlib.Path,
    reason: str,
    command: str,
    allow_uncommitted: bool = False,
) -> gate.GateResult | None:
    """Make the finished grid in `run_dir` the new baseline; return its comparison with the old one.

    Raises:
        BaselineError: if the grid is incomplete, was made from uncommitted code
            (unless `allow_uncommitted`), or the reason is empty.
        OutputLocked: if a grid is still writing to `run_dir`.
    """
    if not reason.strip():
        raise BaselineError("Give the reason for the refresh with --reason; it is kept in HISTORY.md.")
    if run_dir.resolve() == baseline_dir.resolve():
        raise BaselineError(f"{run_dir} is the baseline itself; give the output folder of a new grid.")
    with OutputLock(run_dir):
        found = _check_grid(run_dir, allow_uncommitted)
        _warn_if_behind(found)
        result, error = None, None
        if baseline_dir.exists():
            try:
                result = gate.compare(run_dir, baseline_dir)
            except gate.GateError as failure:
                error = str(failure)

        staging = baseline_dir.parent / f".{baseline_dir.name}.new-{os.getpid()}"
        retired = baseline_dir.parent / f".{baseline_dir.name}.old-{os.getpid()}"
        try:
            _stage(run_dir, baseline_dir, staging, found)
            entry = _history_entry(found, run_dir, reason.strip(), command, _summarize(result, error))
            history = staging / HISTORY_NAME
            previous = history.read_text() if history.exists() else "# Baseline history\n\nWritten by `aebench refresh-baseline`; newest last.\n\n"
            records.write_atomically(history, (previous.rstrip() + "\n\n" + entry).encode())
            if (staging / tolerances.TOLERANCES_NAME).exists():
                # The tolerance table shows values at the baseline, so it follows the new one.
                document = records.read_json(staging / tolerances.TOLERANCES_NAME)
                tolerances.write(document, staging)
            _swap(staging, baseline_dir, retired)
            if not (baseline_dir / tolerances.TOLERANCES_NAME).exists():
                logger.warning(
                    "%s has no %s, so the gate cannot use it yet; measure them with "
                    "`aebench tolerances FOLDER --baseline %s` on a grid run with several seeds",
                    baseline_dir,
                    tolerances.TOLERANCES_NAME,
                    baseline_dir,
                )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("replaced the baseline in %s with the grid from %s", baseline_dir, run_dir)
    return result
