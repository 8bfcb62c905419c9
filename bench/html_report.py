"""Write `report.html`: the summary, the figures and the provenance of a grid on one page.

The page is built from the same Markdown as `summary.md`, so the two never
disagree, with each dataset's figures after its tables. It links only to the
PNG files in `figures/` beside it, by relative path, and has no script, so it
opens from disk with no server and no network.
"""

import html
import pathlib
import re
from typing import Any

from bench.data import DISPLAY_NAMES
from bench.masks import MASKS
from bench.tables import MASK_LABELS

REPORT_NAME = "report.html"

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 78rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
code { background: #f4f4f4; padding: 0 0.2rem; }
nav a { margin-right: 1rem; }
"""


def _inline(text: str) -> str:
    """Convert the inline Markdown of the summary (bold, code) to HTML, escaping the rest."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _table(rows: list[str]) -> str:
    cells = [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]
    header, body = cells[0], cells[2:]
    parts = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(cell)}</th>" for cell in header) + "</tr></thead>", "<tbody>"]
    parts += ["<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in body]
    parts += ["</tbody>", "</table>"]
    return "\n".join(parts)


def markdown_to_html(text: str) -> str:
    """Convert the Markdown that `summary.md` uses (headings, paragraphs, lists, tables) to HTML."""
    blocks = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            index += 1
        elif line.startswith("|"):
            end = index
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            blocks.append(_table(lines[index:end]))
            index = end
        elif line.startswith("- "):
            items = []
            while index < len(lines) and lines[index].startswith("- "):
                items.append(f"<li>{_inline(lines[index][2:])}</li>")
                index += 1
            blocks.append("<ul>\n" + "\n".join(items) + "\n</ul>")
        else:
            paragraph = []
            while index < len(lines) and lines[index].strip() and not lines[index].startswith(("#", "|", "- ")):
                paragraph.append(lines[index].strip())
                index += 1
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    return "\n".join(blocks)


def dataset_figures(dataset: str, figure_folder: pathlib.Path) -> list[tuple[str, str]]:
    """Return (relative path, caption) of each figure of `dataset` that exists, in reading order."""
    name = DISPLAY_NAMES[dataset]
    candidates = [(f"{dataset}_metrics.png", f"{name}: every score by architecture and backend; error bars are 95% confidence intervals over seeds")]
    candidates += [
        (path.name, f"{name}: reconstructions of the {path.name[len(dataset) + 1:].split('_')[0]} model")
        for path in sorted(figure_folder.glob(f"{dataset}_*_reconstructions.png"))
    ]
    candidates += [
        (f"{dataset}_inpainting_{mask}.png", f"{name}: inpainting with the {MASK_LABELS[mask]} hidden")
        for mask in MASKS
    ]
    return [(f"{figure_folder.name}/{file}", caption) for file, caption in candidates if (figure_folder / file).exists()]


def _figure_html(source: str, caption: str) -> str:
    return (
        f'<figure><img src="{html.escape(source)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _provenance_html(records: list[dict[str, Any]]) -> str:
    """Return tables of the commits, versions, machines and data checksums found in the records."""
    rows: dict[tuple[str, str], set[str]] = {}
    checksums: dict[tuple[str, str], str] = {}
    for record in records:
        provenance = record.get("provenance") or {}
        commit = provenance.get("commit")
        if commit:
            rows.setdefault(("commit", "code"), set()).add(f"{commit}{' (uncommitted changes)' if provenance.get('dirty') else ''}")
        for package, version in (provenance.get("versions") or {}).items():
            rows.setdefault(("version", package), set()).add(str(version))
        machine = provenance.get("machine") or {}
        labels = {"cpu_model": "{}", "cpu_count": "{} CPUs", "platform": "{}", "python": "Python {}"}
        description = ", ".join(
            label.format(machine[key]) for key, label in labels.items() if machine.get(key) is not None
        )
        if description:
            rows.setdefault(("machine", machine.get("hostname", "")), set()).add(description)
        data = record.get("data") or {}
        for file, digest in (data.get("checksums") or {}).items():
            checksums[(DISPLAY_NAMES.get(record["dataset"], record["dataset"]), file)] = digest

    lines = ["| what | name | value |", "|---|---|---|"]
    lines += [f"| {kind} | {name} | {'; '.join(sorted(values))} |" for (kind, name), values in sorted(rows.items())]
    lines += [f"| data SHA-256 | {dataset} `{file}` | `{digest}` |" for (dataset, file), digest in sorted(checksums.items())]
    return _table(lines)


def report_html(output_dir: pathlib.Path, summary: str, records: list[dict[str, Any]], figure_folder: pathlib.Path) -> str:
    """Return the HTML page for `output_dir` from its summary Markdown, figures and records."""
    sections = re.split(r"(?m)^(?=## )", summary)
    names = {display: key for key, display in DISPLAY_NAMES.items()}
    body = []
    navigation = []
    for section in sections:
        heading = section.splitlines()[0][3:].strip() if section.startswith("## ") else None
        dataset = names.get(heading)
        if dataset is None:
            body.append(markdown_to_html(section))
            continue
        navigation.append(f'<a href="#{dataset}">{html.escape(heading)}</a>')
        figures = [_figure_html(source, caption) for source, caption in dataset_figures(dataset, figure_folder)]
        body.append(f'<section id="{dataset}">\n{markdown_to_html(section)}\n<h3>Figures</h3>\n' + "\n".join(figures) + "\n</section>")
    navigation.append('<a href="#provenance">Provenance</a>')
    body.append(
        '<section id="provenance">\n<h2>Provenance</h2>\n'
        "<p>Every commit, package version, machine and data checksum recorded by the runs of this folder.</p>\n"
        f"{_provenance_html(records)}\n</section>"
    )
    title = f"aebench report: {html.escape(output_dir.name)}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            f'<head>\n<meta charset="utf-8">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>',
            "<body>",
            f"<nav>{''.join(navigation)}</nav>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )
