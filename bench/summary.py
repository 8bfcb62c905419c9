"""Write `summary.md`: per dataset, the tables and a verdict in plain sentences."""

from collections import Counter
from typing import Any

import pandas as pd

from bench import config, geron, seed_summary, statistics, tables
from bench.data import DISPLAY_NAMES

REFERENCE_LABELS = {
    "mean_image": "reference: mean training image",
    "zero_fill": "reference: hidden pixels left at 0",
    "raw_pixels": "reference: probe on the raw pixels",
    "pca": "reference: probe on PCA with as many components as the codings",
}


PROBE_NOTE = (
    "Test accuracy of a logistic regression (scikit-learn, standardised features) fitted to the codings "
    "of the training images and their labels. The reference rows fit the same probe to the raw pixels "
    "and to PCA of the training images."
)


def _format(value: Any, key: str) -> str:
    # pd.isna also covers the pd.NA of the nullable integer columns.
    if value is None or pd.isna(value):
        return "–"
    if key == "psnr" or key.endswith("seconds"):
        return f"{value:.2f}"
    if key in ("parameters", "macs", "epochs_run", "best_epoch", "images_seen"):
        return f"{int(value):,}"
    return f"{value:.4f}"


def _best_values(scores: pd.DataFrame) -> dict[str, float]:
    best = {}
    for metric in tables.METRICS:
        if metric.key in scores and scores[metric.key].notna().any():
            column = scores[metric.key]
            best[metric.key] = column.min() if metric.lower_is_better else column.max()
    return best


def _metric_table(
    scores: pd.DataFrame, references: pd.DataFrame, metrics: tuple, extra: tuple[str, ...]
) -> list[str]:
    extra_labels = {
        "parameters": "parameters",
        "macs": "MACs per image",
        "epochs_run": "epochs (best)",
        "images_seen": "images seen",
        "train_seconds": "training s",
    }
    header = ["architecture", "backend", "seed", *(extra_labels[key] for key in extra), *(m.label for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    best = _best_values(tables.ranked(scores))
    collapsed_rows = tables.collapsed_mask(scores)
    for index, row in scores.iterrows():
        collapsed = bool(collapsed_rows[index])
        architecture = f"{row['architecture']} (collapsed)" if collapsed else row["architecture"]
        cells = [architecture, row["backend"], str(int(row["seed"]))]
        for key in extra:
            cell = _format(row[key], key)
            if key == "epochs_run":
                cell += f" ({_format(row['best_epoch'], 'best_epoch')})"
            cells.append(cell)
        for metric in metrics:
            value = row.get(metric.key)
            cell = _format(value, metric.key)
            # Compare as printed, so rows that tie after rounding are all marked.
            if metric.key in best and cell == _format(best[metric.key], metric.key) and not collapsed:
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    for _, row in references.iterrows():
        values = [row.get(metric.key) for metric in metrics]
        if all(value is None or pd.isna(value) for value in values):
            continue  # this reference does not apply to these metrics
        cells = [REFERENCE_LABELS.get(row["architecture"], row["architecture"]), "–", "–"]
        cells += ["–"] * len(extra)
        cells += [_format(row.get(metric.key), metric.key) for metric in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _join_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _worse_than_reference(winners: dict[str, tuple[str, float]], references: pd.DataFrame) -> list[str]:
    mean_image = references[references["architecture"] == "mean_image"]
    if mean_image.empty:
        return []
    reference = mean_image.iloc[0]
    labels = []
    for key, (_, value) in winners.items():
        metric = tables.METRICS_BY_KEY[key]
        if key not in reference or pd.isna(reference[key]):
            continue
        beaten = value < reference[key] if metric.lower_is_better else value > reference[key]
        if not beaten:
            labels.append(metric.in_sentence)
    return labels


def _verdict(dataset: str, scores: pd.DataFrame, references: pd.DataFrame) -> str:
    winners = tables.best_architectures(scores)
    if not winners:
        return f"No model has usable scores on {DISPLAY_NAMES[dataset]}, so there is no verdict."
    backends = ", ".join(sorted(scores["backend"].unique()))
    sentences = [
        f"Scores on {DISPLAY_NAMES[dataset]} are averaged per architecture over the backends "
        f"({backends}) and seeds, as in the first table below."
    ]

    ranked = tables.ranked(scores)
    rankings = {metric.key: statistics.rank_architectures(ranked, metric) for metric in tables.METRICS}
    rankable = sorted(ranked["architecture"].unique()) if not ranked.empty else []
    if len(rankable) == 1:
        sentences.append(f"Only the {rankable[0]} model can be ranked, so no architectures are compared.")

    clear: dict[str, list[str]] = {}
    ties: dict[tuple[str, ...], list[str]] = {}
    ahead: dict[str, list[str]] = {}
    for metric in tables.RECONSTRUCTION_METRICS:
        ranking = rankings.get(metric.key)
        if ranking is None:
            continue
        if not ranking.tested:
            ahead.setdefault(ranking.best, []).append(metric.in_sentence)
        elif ranking.winner is not None:
            clear.setdefault(ranking.winner, []).append(metric.in_sentence)
        else:
            ties.setdefault((ranking.best, *ranking.tied_with), []).append(metric.in_sentence)
    parts = [f"the {name} model is best on {_join_words(labels)}" for name, labels in clear.items()]
    for names, labels in ties.items():
        part = f"{_join_words(list(names))} tie on {_join_words(labels)}"
        # The first name is the best by mean; it beats the rest beyond the noise.
        behind = [name for name in rankable if name not in names]
        if behind:
            part += f", where {names[0]} beats {_join_words(behind)}"
        parts.append(part)
    if parts:
        sentences.append(f"For reconstruction, beyond {seed_summary.noise_name(ranked)}: {'; '.join(parts)}.")
    if ahead:
        ahead_parts = [f"the {name} model is ahead on {_join_words(labels)}" for name, labels in ahead.items()]
        sentences.append(
            f"For reconstruction, with one run per architecture no gap can be tested; by single runs, {'; '.join(ahead_parts)}."
        )

    inpainting = [rankings[m.key] for m in tables.INPAINTING_METRICS if rankings.get(m.key) is not None]
    wins: dict[str, int] = {}
    for ranking in inpainting:
        if ranking.winner is not None:
            wins[ranking.winner] = wins.get(ranking.winner, 0) + 1
    if inpainting and not any(ranking.tested for ranking in inpainting):
        leads = Counter(ranking.best for ranking in inpainting).most_common()
        sentences.append(
            f"For inpainting, the {len(inpainting)} scores cannot be tested with one run each; by single runs "
            f"{_join_words([f'the {name} model leads {count}' for name, count in leads])}."
        )
    elif inpainting:
        ordered = sorted(wins.items(), key=lambda item: -item[1])
        parts = [f"the {name} model wins {count}" for name, count in ordered]
        tied = len(inpainting) - sum(wins.values())
        if tied:
            parts.append(f"{tied} {'is a tie' if tied == 1 else 'are ties'}")
        if not wins:
            sentences.append(f"For inpainting, all {len(inpainting)} scores are ties.")
        else:
            sentences.append(f"For inpainting, of the {len(inpainting)} scores {_join_words(parts)}.")
    probe_sentence = _probe_verdict(rankings.get(tables.PROBE_METRICS[0].key), scores, references)
    if probe_sentence:
        sentences.append(probe_sentence)
    if any(ranking is not None and ranking.tested for ranking in rankings.values()):
        sentences.append("The section Beyond the noise below gives the differences, intervals and p-values.")
    elif any(ranking is not None for ranking in rankings.values()):
        sentences.append("The section Beyond the noise below gives the gaps between the single runs.")

    not_beaten = _worse_than_reference(winners, references)
    if not_beaten:
        sentences.append(
            f"The mean training image beats every model on {_join_words(not_beaten)}."
        )
    collapsed = scores[tables.collapsed_mask(scores)]
    if not collapsed.empty:
        names = ", ".join(f"{row.architecture} on {row.backend} (seed {row.seed})" for row in collapsed.itertuples())
        sentences.append(f"Not ranked because the model collapsed to nearly the same output for every image: {names}.")
    return " ".join(sentences)


def _interval_caveat(scores: pd.DataFrame) -> str:
    """Return what the intervals of the mean table measure when they are not the seed noise."""
    if scores["seed"].nunique() >= 2:
        return ""
    if scores["backend"].nunique() >= 2:
        return " With one seed, each interval is the spread between the backends, not between seeds."
    return " With one backend and one seed, each mean is a single run and has no interval."


def _probe_verdict(ranking, scores: pd.DataFrame, references: pd.DataFrame) -> str:
    """Return the sentence on the linear probe: which codings it reads best, against the references."""
    key = tables.PROBE_METRICS[0].key
    if ranking is None or key not in scores:
        return ""
    mean = tables.ranked(scores).groupby("architecture")[key].mean()
    if not ranking.tested:
        sentence = (
            f"A linear probe scores highest on the {ranking.best} codings (accuracy {mean[ranking.best]:.4f}), "
            "one run each and so untested"
        )
    elif ranking.winner is not None:
        sentence = f"A linear probe reads the class best from the {ranking.winner} codings (accuracy {mean[ranking.winner]:.4f})"
    else:
        names = _join_words([ranking.best, *ranking.tied_with])
        sentence = f"A linear probe reads the class about equally well from the {names} codings (best mean {mean[ranking.best]:.4f})"
    found = {}
    if key in references:
        for name, label in (("raw_pixels", "the raw pixels"), ("pca", "PCA with as many components")):
            row = references[references["architecture"] == name]
            if not row.empty and not pd.isna(row.iloc[0][key]):
                found[label] = float(row.iloc[0][key])
    if found:
        sentence += "; the same probe scores " + _join_words([f"{value:.4f} on {label}" for label, value in found.items()])
    return sentence + "."


def _problems(records: list[dict[str, Any]], dataset: str) -> list[str]:
    lines = []
    for record in records:
        if record["dataset"] == dataset and record["status"] != "ok":
            reason = (record.get("reason") or "no reason recorded").splitlines()[0]
            lines.append(f"- `{record['run_id']}` {record['status']}: {reason}")
    return lines


def budget_sentences(records: list[dict[str, Any]]) -> list[str]:
    """Return one sentence per profile in `records` that states how much training each run got."""
    architectures = tuple(name for name in config.ARCHITECTURES if any(r.get("architecture") == name for r in records))
    profiles: dict[str, config.Profile] = {}
    spent: dict[str, list[float]] = {}
    for record in records:
        values = (record.get("spec") or {}).get("profile")
        if record.get("kind") != "model" or not values:
            continue
        profiles[values["name"]] = config.Profile(**values)
        used = (record.get("training") or {}).get("budget_spent")
        if used is not None:
            spent.setdefault(values["name"], []).append(used)
    sentences = []
    for name, profile in profiles.items():
        sentence = f"Training budget ({name}): {profile.describe_budget(architectures)}."
        used = spent.get(name)
        if used and profile.budget == "images":
            sentence += f" Images seen per run: {int(min(used)):,} to {int(max(used)):,}."
        elif used and profile.budget == "seconds":
            sentence += f" Training time used per run, without validation: {min(used):.1f} to {max(used):.1f} s."
        sentences.append(sentence)
    return sentences


def _preamble(records: list[dict[str, Any]]) -> list[str]:
    profiles = sorted({record.get("profile") for record in records if record.get("profile")})
    lines = [
        "# Autoencoder comparison",
        "",
        f"Profile: {', '.join(profiles)}. Scores are on the test set; predictions are clipped to [0, 1].",
        "MSE is per pixel; PSNR = 10·log10(1 / MSE) in dB; SSIM is the mean over images of scikit-image's",
        "`structural_similarity` with `data_range=1.0` and a 7x7 uniform window. Inpainting hides part of",
        "each image (set to 0): hidden MSE is measured on the hidden pixels only, SSIM on the whole image",
        "after the visible pixels are pasted back. Bold marks the best value in each column.",
        "Lower is better for MSE, higher for PSNR and SSIM.",
    ]
    budgets = budget_sentences(records)
    if budgets:
        lines += ["", *budgets]

    threads = sorted({(record.get("spec") or {}).get("threads") for record in records} - {None})
    if threads:
        lines += [
            "",
            f"Threads per run: {', '.join(map(str, threads))}; runs may have shared the machine, "
            "so times are indicative.",
        ]

    worker_seconds: dict[str, float] = {}
    for record in records:
        if record.get("worker_seconds") is not None:
            backend = record["backend"]
            worker_seconds[backend] = worker_seconds.get(backend, 0.0) + record["worker_seconds"]
    if worker_seconds:
        per_backend = ", ".join(f"{backend} {seconds / 60:.1f} min" for backend, seconds in sorted(worker_seconds.items()))
        lines += ["", f"Time in worker processes (start-up, training and scoring), per backend: {per_backend}."]
    return lines


def summary_markdown(records: list[dict[str, Any]], table: pd.DataFrame, missing: list[str] = ()) -> str:
    """Return the Markdown summary of a grid; `missing` lists planned runs that have no record."""
    scores = tables.model_scores(table)
    references = table[(table["kind"] == "reference") & (table["status"] == "ok")]
    reference_scores = (
        references.pivot_table(index=["dataset", "architecture"], columns="metric", values="value", aggfunc="first")
        .reset_index()
        if not references.empty
        else pd.DataFrame(columns=["dataset", "architecture"])
    )

    lines = _preamble(records)
    suitability = geron.suitability_lines(scores) if not scores.empty else []
    if suitability:
        intro = (
            "The view under test: the convolutional model suits Fashion-MNIST and the recurrent model suits "
            "digits. Each claim is answered on that dataset's test MSE, with the paired comparisons of the "
            "section Beyond the noise."
        )
        if scores["seed"].nunique() < 2:
            intro += (
                " These runs have one seed, so the noise is only the difference between backends; the answer "
                "needs several seeds (the full profile uses three)."
            )
        lines += ["", "## Which architecture suits which dataset", "", intro, "", *suitability]
        settling = geron.settling_line(records)
        if settling:
            lines += ["", settling]
    codings_sizes = {
        (record.get("spec") or {}).get("codings_size") for record in records if record.get("kind") == "model"
    } - {None}
    profiles = {
        record["dataset"]: config.Profile(**record["spec"]["profile"])
        for record in records
        if record.get("kind") == "model" and (record.get("spec") or {}).get("profile")
    }
    datasets = [name for name in DISPLAY_NAMES if name in set(table["dataset"])]
    for dataset in datasets:
        dataset_scores = scores[scores["dataset"] == dataset] if not scores.empty else scores
        dataset_references = reference_scores[reference_scores["dataset"] == dataset]
        lines += ["", f"## {DISPLAY_NAMES[dataset]}", "", _verdict(dataset, dataset_scores, dataset_references), ""]
        if not dataset_scores.empty:
            averages = seed_summary.interval_table(dataset_scores)
            if averages:
                lines += [
                    "### Mean per architecture",
                    "",
                    "Mean over backends and seeds ± the half-width of its 95% confidence interval (Student's t). "
                    "Bold marks an architecture that beats both others beyond the noise."
                    + _interval_caveat(dataset_scores),
                    "",
                    *averages,
                    "",
                ]
            comparisons = seed_summary.comparison_lines(dataset_scores)
            if comparisons:
                lines += ["### Beyond the noise", "", *comparisons, ""]
            parity = seed_summary.parity_lines(dataset_scores)
            if parity:
                lines += ["### Backend parity", "", *parity, ""]
            published = (
                geron.comparison_lines(dataset_scores, profiles[dataset], codings_sizes)
                if dataset == geron.DATASET and dataset in profiles
                else []
            )
            if published:
                lines += ["### Against the published numbers", "", *published, ""]
            lines += ["### Reconstruction, per run", ""]
            lines += _metric_table(
                dataset_scores,
                dataset_references,
                tables.RECONSTRUCTION_METRICS,
                ("parameters", "macs", "epochs_run", "images_seen", "train_seconds"),
            )
            lines += ["", "### Inpainting, per run", ""]
            lines += _metric_table(dataset_scores, dataset_references, tables.INPAINTING_METRICS, ())
            if tables.PROBE_METRICS[0].key in dataset_scores:
                lines += ["", "### Codings probe, per run", "", PROBE_NOTE, ""]
                lines += _metric_table(dataset_scores, dataset_references, tables.PROBE_METRICS, ())
        problems = _problems(records, dataset)
        problems += [f"- `{run_id}` not run: the grid stopped before it" for run_id in missing if run_id.startswith(f"{dataset}-")]
        if problems:
            lines += ["", "### Runs without scores", "", *problems]
    return "\n".join(lines) + "\n"
