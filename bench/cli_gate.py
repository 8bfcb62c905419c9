"""Subcommands around the quality gate.

    aebench compare FOLDER              compare a finished grid with the baseline
    aebench tolerances FOLDER...        measure the gate's tolerances from multi-seed grids
    aebench refresh-baseline FOLDER     make a finished grid the new baseline, with a reason
"""

import argparse
import logging
import pathlib
import shlex
import sys

from bench import records
from bench.arguments import positive_float

logger = logging.getLogger("bench")

DEFAULT_BASELINE = pathlib.Path("results") / "baseline"
# Exit status of a grid or comparison whose quality got worse beyond tolerance.
EXIT_REGRESSION = 3


def add_baseline_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--baseline", type=pathlib.Path, default=DEFAULT_BASELINE, help=help_text)


def run_gate(run_dir: pathlib.Path, baseline_dir: pathlib.Path, tolerances_path: pathlib.Path | None) -> int:
    """Compare `run_dir` with the baseline, print the table, write gate.md; return the exit status."""
    from bench import gate, gate_table

    try:
        result = gate.compare(run_dir, baseline_dir, tolerances_path)
    except gate.GateError as error:
        logger.error("quality gate: %s", error)
        return 2
    sys.stdout.write(gate_table.render_text(result))
    sys.stdout.flush()
    records.write_atomically(run_dir / gate.GATE_NAME, gate_table.render_markdown(result).encode())
    if not result.passed:
        logger.error(
            "quality gate failed: %d comparison(s) worse beyond tolerance or without scores; see %s",
            len(result.failures),
            run_dir / gate.GATE_NAME,
        )
        return EXIT_REGRESSION
    logger.info("quality gate passed; see %s", run_dir / gate.GATE_NAME)
    return 0


def check_baseline(baseline_dir: pathlib.Path, tolerances_path: pathlib.Path | None) -> str | None:
    """Return why the baseline or its tolerances cannot be used, or None if both read."""
    from bench import tolerances

    if not baseline_dir.is_dir():
        return f"the baseline folder {baseline_dir} does not exist; restore it from git or choose another with --baseline"
    if not any((baseline_dir / records.RUNS_FOLDER).glob(f"*/{records.RECORD_NAME}")):
        return f"the baseline folder {baseline_dir} contains no records; restore it from git or choose another with --baseline"
    try:
        tolerances.load(tolerances_path or baseline_dir / tolerances.TOLERANCES_NAME)
    except tolerances.ToleranceError as error:
        return str(error)
    return None


def compare_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="aebench compare",
        description=(
            "Compare the scores of a finished grid with the baseline, metric by metric. Exit status: "
            f"0 when nothing got worse beyond its tolerance, {EXIT_REGRESSION} when something did, "
            "2 when the baseline or the grid cannot be read."
        ),
    )
    parser.add_argument("folder", type=pathlib.Path, help="output folder of a finished grid")
    add_baseline_option(parser, f"baseline folder to compare with; default: {DEFAULT_BASELINE}")
    parser.add_argument("--tolerances", type=pathlib.Path, help="tolerances file; default: tolerances.json in the baseline folder")
    arguments = parser.parse_args(argv)
    return run_gate(arguments.folder, arguments.baseline, arguments.tolerances)


def tolerances_command(argv: list[str]) -> int:
    from bench import tolerances

    parser = argparse.ArgumentParser(
        prog="aebench tolerances",
        description=(
            "Measure the quality gate's tolerances from grids run with several seeds, and write "
            "tolerances.json and TOLERANCES.md into the baseline folder. Exit status: 0 written, "
            "1 the grids cannot give a spread (fewer than 2 seeds), 2 invalid options."
        ),
    )
    parser.add_argument("folders", type=pathlib.Path, nargs="+", metavar="FOLDER", help="output folders of grids with at least 2 seeds per model")
    add_baseline_option(parser, f"baseline folder the tolerances apply to; default: {DEFAULT_BASELINE}")
    parser.add_argument("--k", type=positive_float, default=tolerances.DEFAULT_K, help=f"multiple of the seed-to-seed standard deviation allowed; default: {tolerances.DEFAULT_K:g}")
    arguments = parser.parse_args(argv)
    for folder in [*arguments.folders, arguments.baseline]:
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder; give output folders written by aebench")
    command = shlex.join(["aebench", "tolerances", *argv])
    try:
        document = tolerances.measure(arguments.folders, arguments.baseline, arguments.k, command)
    except tolerances.ToleranceError as error:
        logger.error("%s", error)
        return 1
    for path in tolerances.write(document, arguments.baseline):
        print(path)
    return 0


def refresh_command(argv: list[str]) -> int:
    from bench import baseline, gate_table
    from bench.lock import OutputLocked

    parser = argparse.ArgumentParser(
        prog="aebench refresh-baseline",
        description=(
            "Replace the baseline with a finished grid made from committed code. The tolerances are "
            "kept, and HISTORY.md in the baseline folder records the reason, the time and the commit. "
            "Review the change with git diff before committing it. Exit status: 0 replaced, 1 the grid "
            "cannot become the baseline (incomplete, or made from uncommitted code), 2 invalid options."
        ),
    )
    parser.add_argument("folder", type=pathlib.Path, help="output folder of a finished grid, for example from tox -e bench")
    parser.add_argument("--reason", required=True, help="why the baseline changes, in a sentence; stored in HISTORY.md")
    add_baseline_option(parser, f"baseline folder to replace; default: {DEFAULT_BASELINE}")
    parser.add_argument(
        "--allow-uncommitted",
        action="store_true",
        help="accept records made from a checkout with uncommitted changes; HISTORY.md records that (for experiments, not for the committed baseline)",
    )
    arguments = parser.parse_args(argv)
    if not arguments.folder.is_dir():
        parser.error(f"{arguments.folder} is not a folder; give the output folder of a finished grid")
    if not arguments.reason.strip():
        parser.error("--reason is empty; say in a sentence why the baseline changes")
    command = shlex.join(["aebench", "refresh-baseline", *argv])
    try:
        result = baseline.refresh(
            arguments.folder, arguments.baseline, arguments.reason, command, arguments.allow_uncommitted
        )
    except (baseline.BaselineError, OutputLocked) as error:
        logger.error("%s", error)
        return 1
    if result is not None:
        print("Changes beyond tolerance against the previous baseline:")
        sys.stdout.write(gate_table.render_text(result, changes_only=True))
    print(f"The baseline in {arguments.baseline} was replaced; if it is tracked by git, review it with: git diff --stat {arguments.baseline}")
    return 0


COMMANDS = {
    "compare": compare_command,
    "tolerances": tolerances_command,
    "refresh-baseline": refresh_command,
}
