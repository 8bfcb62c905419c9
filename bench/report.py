"""Write the tables and figures of an output folder from its records.

It reads only the files under `runs/`, so it can be run again on any
finished or interrupted grid without training.
"""

import logging
import pathlib

from bench import figures, records, summary, tables

logger = logging.getLogger(__name__)

CSV_NAME = "results.csv"
SUMMARY_NAME = "summary.md"
FIGURES_FOLDER = "figures"


def write_report(output_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write `results.csv`, `summary.md` and the figures; return their paths.

    Raises:
        FileNotFoundError: if the folder holds no records.
    """
    found = records.load_records(output_dir)
    if not found:
        raise FileNotFoundError(
            f"No result records in {output_dir / records.RUNS_FOLDER}: "
            f"expected runs/<run_id>/{records.RECORD_NAME} files written by a grid."
        )
    table = tables.long_table(found)

    csv_path = output_dir / CSV_NAME
    records.write_atomically(csv_path, table.to_csv(index=False).encode())
    summary_path = output_dir / SUMMARY_NAME
    records.write_atomically(summary_path, summary.summary_markdown(found, table).encode())
    written = [csv_path, summary_path]

    figure_folder = output_dir / FIGURES_FOLDER
    for dataset in sorted(set(table["dataset"])):
        path = figures.metrics_figure(dataset, table, figure_folder)
        if path is not None:
            written.append(path)
    written += figures.image_figures(output_dir, found, figure_folder)
    logger.info("wrote %d report files to %s", len(written), output_dir)
    return written
