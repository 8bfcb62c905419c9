"""The HTML report: its Markdown conversion, and the committed baseline's page in headless Chromium."""

import os
import pathlib
import shutil

import pytest

from bench import cli, html_report, records, report
from tests.browser import HeadlessChromium, find_chromium

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The committed folders with a report: the gate's quick baseline, the full
# profile with three seeds that decides the comparison, and its one-seed check
# at Géron's batch size.
COMMITTED = ("baseline", "full", "full-batch32")
# CI sets this, so a missing browser fails the test there instead of skipping it.
REQUIRE_BROWSER = os.environ.get("AEBENCH_REQUIRE_BROWSER") == "1"

# Runs in the page once it has loaded: what a reader would see.
PAGE_CHECK = """
(() => ({
  images: Array.from(document.images).map(image => ({
    src: image.getAttribute('src'),
    loaded: image.complete && image.naturalWidth > 0,
  })),
  sections: Array.from(document.querySelectorAll('section')).map(section => ({
    id: section.id,
    headings: Array.from(section.querySelectorAll('h3')).map(heading => heading.textContent),
    tables: section.querySelectorAll('table').length,
    emptyTables: Array.from(section.querySelectorAll('table')).filter(table => table.querySelectorAll('tbody tr').length === 0).length,
  })),
  text: document.body.innerText,
}))()
"""


def test_markdown_table_becomes_html_table():
    converted = html_report.markdown_to_html("| a | b |\n|---|---|\n| **1** | `x<y` |\n")
    assert "<thead><tr><th>a</th><th>b</th></tr></thead>" in converted
    assert "<td><strong>1</strong></td>" in converted
    assert "<td><code>x&lt;y</code></td>" in converted


def test_markdown_headings_lists_and_paragraphs():
    converted = html_report.markdown_to_html("## Title\n\nOne line\nand the next.\n\n- first\n- second\n")
    assert "<h2>Title</h2>" in converted
    assert "<p>One line and the next.</p>" in converted
    assert "<ul>\n<li>first</li>\n<li>second</li>\n</ul>" in converted


@pytest.fixture(scope="module", params=COMMITTED)
def committed_copy(request, tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path]:
    """Return a committed results folder and a copy of it with its report written again by the code under test."""
    committed = REPO_ROOT / "results" / request.param
    assert (committed / report.SUMMARY_NAME).is_file(), f"{committed} has no summary; it is part of the repository"
    folder = tmp_path_factory.mktemp("report") / request.param
    shutil.copytree(committed, folder)
    assert cli.main(["report", str(folder)]) == 0
    return committed, folder


def test_report_html_links_only_local_figures(committed_copy):
    _, copy = committed_copy
    page = (copy / html_report.REPORT_NAME).read_text()
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    figures = sorted(path.name for path in (copy / report.FIGURES_FOLDER).glob("*.png"))
    for name in figures:
        assert f'src="{report.FIGURES_FOLDER}/{name}"' in page, name


def test_committed_report_is_current(committed_copy):
    # The committed page must be the one the code writes from the committed records.
    committed, copy = committed_copy
    for name in (html_report.REPORT_NAME, report.SUMMARY_NAME):
        assert (copy / name).read_text() == (committed / name).read_text(), name


def test_report_opens_in_headless_chromium(committed_copy):
    _, copy = committed_copy
    executable = find_chromium()
    if executable is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    with HeadlessChromium(executable) as browser:
        page, requests = browser.open(copy / html_report.REPORT_NAME, PAGE_CHECK)

    figures = sorted((copy / report.FIGURES_FOLDER).glob("*.png"))
    assert len(page["images"]) == len(figures)
    broken = [image["src"] for image in page["images"] if not image["loaded"]]
    assert broken == []
    assert all(url.startswith("file://") for url in requests), requests

    sections = {section["id"]: section for section in page["sections"]}
    assert set(sections) == {"mnist", "fashion_mnist", "provenance"}
    expected_headings = ["Mean per architecture", "Reconstruction, per run", "Inpainting, per run", "Figures"]
    # The parity table needs two backends; the batch-size check has one.
    backends = {record["backend"] for record in records.load_records(copy) if record["kind"] == "model"}
    if len(backends) > 1:
        expected_headings.append("Backend parity")
    for dataset in ("mnist", "fashion_mnist"):
        headings = sections[dataset]["headings"]
        for expected in expected_headings:
            assert expected in headings, (dataset, expected)
        assert sections[dataset]["tables"] >= 4, dataset
        assert sections[dataset]["emptyTables"] == 0, dataset
    assert "Against the published numbers" in sections["fashion_mnist"]["headings"]
    assert "Which architecture suits which dataset" in page["text"]
    assert sections["provenance"]["tables"] == 1
    assert "data SHA-256" in page["text"]


@pytest.mark.parametrize(
    ("folder", "profile", "runs_per_architecture", "records"),
    [("full", "full", 6, 36), ("full-batch32", "full[batch_size=32]", 6, 36)],
)
def test_full_results_seeds_and_intervals(folder, profile, runs_per_architecture, records):
    # The committed comparisons: the full profile, three seeds, both datasets, with intervals and verdicts.
    summary = (REPO_ROOT / "results" / folder / report.SUMMARY_NAME).read_text()
    budget = f"Training budget ({profile}): epochs per architecture (stacked 20, conv 10, recurrent 10), no early stopping."
    assert budget in summary
    # The conv and recurrent models were still learning after Géron's 10 epochs.
    assert "Still learning (a fall of 1% or more): " in summary
    header = " | ".join(f"{name} ({runs_per_architecture} runs)" for name in ("conv", "recurrent", "stacked"))
    for dataset in ("MNIST", "Fashion-MNIST"):
        section = summary.split(f"\n## {dataset}\n", 1)[1].split("\n## ", 1)[0]
        assert f"| metric | {header} |" in section, dataset
        assert " ± " in section
        assert "### Beyond the noise" in section
        assert "beyond the seed noise" in section
    record_paths = list((REPO_ROOT / "results" / folder / "runs").glob("*-seed*/record.json"))
    assert len(record_paths) == records
