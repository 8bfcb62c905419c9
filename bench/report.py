"""Write the tables and figures of an output folder from its records.

It reads only the files under `runs/`, so it can be run again on any
finished or interrupted grid without training.
"""

import logging
import pathlib

import itertools

from bench import config, figures, html_report, records, summary, tables

logger = logging.getLogger(__name__)

CSV_NAME = "results.csv"
SUMMARY_NAME = "summary.md"
FIGURES_FOLDER = "figures"
GRID_NAME = "grid.json"


def planned_runs(output_dir: pathlib.Path) -> set[str]:
    """Return the run ids that the grid in `output_dir` set out to run, from its grid.json."""
    try:
        settings = records.read_json(output_dir / GRID_NAME)["settings"]
        grid = itertools.product(
            settings["datasets"], settings["architectures"], settings["backends"], settings["seeds"]
        )
        return {config.make_run_id(*values) for values in grid}
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("cannot read the planned runs from %s: %s", output_dir / GRID_NAME, error)
        return set()


def write_report(output_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write `results.csv`, `summary.md`, the figures and `report.html`; return their paths.

    Raises:
        FileNotFoundError: if the folder contains no records.
    """
    found = records.load_records(output_dir)
    if not found:
        raise FileNotFoundError(
            f"No result records in {output_dir / records.RUNS_FOLDER}: "
            f"expected runs/<run_id>/{records.RECORD_NAME} files written by a grid."
        )
    table = tables.long_table(found)
    missing = sorted(planned_runs(output_dir) - {record["run_id"] for record in found})

    csv_path = output_dir / CSV_NAME
    records.write_atomically(csv_path, table.to_csv(index=False).encode())
    summary_path = output_dir / SUMMARY_NAME
    summary_text = summary.summary_markdown(found, table, missing)
    records.write_atomically(summary_path, summary_text.encode())
    written = [csv_path, summary_path]

    figure_folder = output_dir / FIGURES_FOLDER
    for dataset in sorted(set(table["dataset"])):
        path = figures.metrics_figure(dataset, table, figure_folder)
        if path is not None:
            written.append(path)
    written += figures.image_figures(output_dir, found, figure_folder)

    # Written last, because it links to the figures.
    html_path = output_dir / html_report.REPORT_NAME
    records.write_atomically(html_path, html_report.report_html(output_dir, summary_text, found, figure_folder).encode())
    written.append(html_path)
    logger.info("wrote %d report files to %s", len(written), output_dir)
    return written
