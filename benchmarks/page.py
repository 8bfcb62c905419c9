"""Write BENCHMARKS.md from the pytest-benchmark JSON files of `tox -e perf`.

    python -m benchmarks.page results/benchmarks BENCHMARKS.md

Every number on the page is read from those files; none is typed in.
"""

import argparse
import json
import pathlib
import statistics
from typing import Any

from bench.config import ARCHITECTURES

KERAS = "keras"
DEFAULTS = "keras defaults"
JIT = "keras jit_compile=True"
COMMANDS = """    tox -e perf

which runs, for each backend in its own process:

    pytest benchmarks --keras-backend tensorflow --benchmark-json results/benchmarks/tensorflow.json
    pytest benchmarks --keras-backend torch --benchmark-json results/benchmarks/torch.json
    python -m benchmarks.profile_fit --keras-backend tensorflow --output results/benchmarks/profile-tensorflow.json
    python -m benchmarks.profile_fit --keras-backend torch --output results/benchmarks/profile-torch.json
    python -m benchmarks.page results/benchmarks BENCHMARKS.md"""


def load_runs(folder: pathlib.Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("profile-"):
            continue
        document = json.loads(path.read_text())
        if "benchmarks" in document:
            document["path"] = str(path)
            runs.append(document)
    if not runs:
        raise SystemExit(f"no pytest-benchmark JSON files in {folder}; run tox -e perf first")
    return runs


def rate(entry: dict[str, Any]) -> float:
    """Images per second over the median round."""
    return entry["extra_info"]["images_per_round"] / entry["stats"]["median"]


def _index(runs) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Return the benchmarks by (kind, backend, architecture, implementation)."""
    found = {}
    for run in runs:
        for entry in run["benchmarks"]:
            info = entry["extra_info"]
            kind = entry["name"].split("[", 1)[0].removeprefix("test_")
            implementation = info["implementation"]
            if implementation.startswith("native"):
                implementation = "native"
            found[(kind, info["backend"], info["architecture"], implementation)] = entry
    return found


def _backends(index) -> list[str]:
    return sorted({key[1] for key in index})


def _machine_lines(runs) -> list[str]:
    lines = ["## Machine", ""]
    for run in runs:
        machine, commit = run["machine_info"], run.get("commit_info") or {}
        cpu = machine.get("cpu") or {}
        aebench = machine.get("aebench") or {}
        versions = ", ".join(f"{name} {version}" for name, version in (aebench.get("versions") or {}).items())
        lines.append(
            f"- `{run['path']}`: {run['datetime'][:19]} UTC, {cpu.get('brand_raw', machine.get('processor', '?'))}, "
            f"{cpu.get('count', '?')} cores, {aebench.get('threads', '?')} thread(s) used, Python "
            f"{machine.get('python_version', '?')}; {versions}; commit {str(commit.get('id', '?'))[:12]}"
            + (" with local changes" if commit.get("dirty") else "")
            + "."
        )
    return lines + [""]


def _weights_note(entry) -> str:
    info = entry["extra_info"]
    note = ""
    if "jit_compile" in info.get("compile_settings", {}) and not info.get("jit_compile_in_effect", True):
        note = ", Keras turned jit_compile off"
    difference = info.get("max_weight_difference_from_keras")
    if difference is not None:
        note += ", same weights" if difference == 0 else f", weights differ by up to {difference:.1g}"
    return note


def _training_lines(index) -> list[str]:
    header = [
        "backend",
        "architecture",
        "Keras, harness settings (images/s)",
        "native (images/s)",
        "Keras / native",
        "harness settings / Keras defaults",
        "jit_compile=True / harness settings",
    ]
    lines = [
        "## Training throughput",
        "",
        "Images per second over the median of 5 rounds, after one warm-up round. The harness",
        "settings are Keras's defaults plus the backend plug-in's COMPILE_OPTIONS",
        "(`steps_per_execution=16` on TensorFlow, nothing on PyTorch). The last two columns are",
        "speed ratios of two Keras settings, with whether the weights after the same steps are equal.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for backend in _backends(index):
        for architecture in ARCHITECTURES:
            harness = index.get(("train_keras", backend, architecture, KERAS))
            native = index.get(("train_native", backend, architecture, "native"))
            if harness is None:
                continue
            defaults = index.get(("train_keras", backend, architecture, DEFAULTS))
            jit = index.get(("train_keras", backend, architecture, JIT))
            cells = [
                backend,
                architecture,
                f"{rate(harness):,.0f}",
                f"{rate(native):,.0f}" if native else "–",
                f"{rate(harness) / rate(native):.2f}" if native else "–",
                f"{rate(harness) / rate(defaults):.2f}x{_weights_note(defaults)}" if defaults else "1 (the same settings)",
                f"{rate(jit) / rate(harness):.2f}x{_weights_note(jit)}" if jit else "–",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _inference_lines(index) -> list[str]:
    header = ["backend", "architecture", "Keras predict (images/s)", "native (images/s)", "Keras / native"]
    lines = ["## Inference throughput", "", "10,000 test images in batches of 1,024, median of 3 rounds.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for backend in _backends(index):
        for architecture in ARCHITECTURES:
            keras_entry = index.get(("inference", backend, architecture, KERAS))
            native = index.get(("inference", backend, architecture, "native"))
            if keras_entry is None or native is None:
                continue
            lines.append(
                f"| {backend} | {architecture} | {rate(keras_entry):,.0f} | {rate(native):,.0f} | "
                f"{rate(keras_entry) / rate(native):.2f} |"
            )
    return lines + [""]


def _scoring_lines(index) -> list[str]:
    header = ["backend", "architecture", "scoring time (s)", "MSE", "SSIM"]
    lines = [
        "## Scoring time",
        "",
        "One pass of the harness's scoring over all 10,000 test images: the predictions for the",
        "plain images and for 4 masks, MSE, PSNR, per-image SSIM and the inpainting scores. The",
        "model was trained for one epoch of 10,000 images first; its scores are shown for scale.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for backend in _backends(index):
        for architecture in ARCHITECTURES:
            entry = index.get(("scoring", backend, architecture, KERAS))
            if entry is None:
                continue
            scores = entry["extra_info"].get("scores_after_one_epoch_of_10000_images", {})
            lines.append(
                f"| {backend} | {architecture} | {entry['stats']['median']:.1f} | "
                f"{scores.get('mse', float('nan')):.4f} | {scores.get('ssim', float('nan')):.3f} |"
            )
    return lines + [""]


def _quality_lines(index) -> list[str]:
    lines = [
        "## Quality after the training benchmark",
        "",
        "MSE on 2,000 test images after the 6 rounds of training steps, to show that both",
        "implementations learn; the last column is the committed quick-profile baseline.",
        "",
        "| backend | architecture | Keras | native | baseline MSE (quick profile) |",
        "|---|---|---|---|---|",
    ]
    for backend in _backends(index):
        for architecture in ARCHITECTURES:
            keras_entry = index.get(("train_keras", backend, architecture, KERAS))
            native = index.get(("train_native", backend, architecture, "native"))
            if keras_entry is None or native is None:
                continue
            baseline = keras_entry["extra_info"].get("baseline_quality", {}).get("mse")
            lines.append(
                f"| {backend} | {architecture} | {keras_entry['extra_info']['test_mse']:.4f} | "
                f"{native['extra_info']['test_mse']:.4f} | {baseline if baseline is not None else '–'} |"
            )
    return lines + [""]


def _profile_lines(folder: pathlib.Path) -> list[str]:
    paths = sorted(folder.glob("profile-*.json"))
    if not paths:
        return []
    lines = [
        "## Where the training time goes",
        "",
        "cProfile over one epoch of the training benchmark's steps (after a warm-up), each",
        "function's own time summed by the package that defines it, as a share of the profiled time.",
        "cProfile sees Python functions and the built-ins they call, so time spent in compiled code",
        "can count toward the Python function that started it; the split is approximate.",
        "",
    ]
    for path in paths:
        for entry in json.loads(path.read_text()):
            shares = ", ".join(f"{name} {100 * share:.0f}%" for name, share in entry["share_of_profiled_time"].items())
            lines.append(f"- {entry['backend']}, {entry['architecture']}: {shares}.")
    return lines + [""]


def _reading_lines(index) -> list[str]:
    lines = ["## What the numbers mean", ""]
    backends = _backends(index)
    for architecture in ARCHITECTURES:
        rates = {
            backend: rate(index[("train_keras", backend, architecture, KERAS)])
            for backend in backends
            if ("train_keras", backend, architecture, KERAS) in index
        }
        if len(rates) < 2:
            continue
        fastest = max(rates, key=rates.get)
        slowest = min(rates, key=rates.get)
        lines.append(
            f"- {architecture}: Keras on {fastest} trains {rates[fastest] / rates[slowest]:.2f}x as fast as on "
            f"{slowest} here ({rates[fastest]:,.0f} vs {rates[slowest]:,.0f} images/s)."
        )
    for backend in backends:
        ratios = [
            rate(index[("train_keras", backend, a, KERAS)]) / rate(index[("train_native", backend, a, "native")])
            for a in ARCHITECTURES
            if ("train_keras", backend, a, KERAS) in index and ("train_native", backend, a, "native") in index
        ]
        if ratios:
            lines.append(
                f"- Keras on {backend} reaches {min(ratios):.2f}x to {max(ratios):.2f}x the training speed of the "
                f"native {backend} loop (geometric mean {statistics.geometric_mean(ratios):.2f}x)."
            )
    lines += _settings_sentences(index)
    return lines + [""]


def _settings_sentences(index) -> list[str]:
    lines = []
    for backend in _backends(index):
        for name, label in ((DEFAULTS, "Keras's defaults"), (JIT, "jit_compile=True")):
            pairs = [
                (index[("train_keras", backend, a, KERAS)], index[("train_keras", backend, a, name)])
                for a in ARCHITECTURES
                if ("train_keras", backend, a, KERAS) in index and ("train_keras", backend, a, name) in index
            ]
            if not pairs:
                continue
            if name == JIT:
                ratios = [rate(other) / rate(harness) for harness, other in pairs]
                subject, reference = label, "the harness's settings"
            else:
                ratios = [rate(harness) / rate(other) for harness, other in pairs]
                subject, reference = "the harness's settings", label
            differences = [other["extra_info"].get("max_weight_difference_from_keras") for _, other in pairs]
            same = all(difference == 0 for difference in differences)
            turned_off = any(
                "jit_compile" in other["extra_info"].get("compile_settings", {})
                and not other["extra_info"].get("jit_compile_in_effect", True)
                for _, other in pairs
            )
            outcome = "with the same weights" if same else "but the weights differ, so the harness does not use it"
            if turned_off:
                outcome = "because Keras turned jit_compile off (op determinism is on), so this only shows the noise"
            lines.append(
                f"- On {backend}, {subject} {'train' if name == DEFAULTS else 'trains'} {min(ratios):.2f}x to {max(ratios):.2f}x as fast as "
                f"{reference} across the architectures, {outcome}."
            )
    return lines


def render(folder: pathlib.Path) -> str:
    runs = load_runs(folder)
    index = _index(runs)
    lines = [
        "# Benchmarks",
        "",
        "Speed of the harness's Keras models per backend and architecture, next to the same",
        "models written in plain PyTorch and plain TensorFlow, measured in the same process.",
        "The training workload is the quick profile's: batch 64, Adam at 2e-3, MNIST images.",
        "",
        "Made with:",
        "",
        COMMANDS,
        "",
    ]
    lines += _machine_lines(runs)
    lines += _reading_lines(index)
    lines += _training_lines(index)
    lines += _inference_lines(index)
    lines += _scoring_lines(index)
    lines += _quality_lines(index)
    lines += _profile_lines(folder)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page", description="Write BENCHMARKS.md from the benchmark JSON files.")
    parser.add_argument("folder", type=pathlib.Path, help="folder with the pytest-benchmark JSON files")
    parser.add_argument("output", type=pathlib.Path, help="Markdown file to write")
    arguments = parser.parse_args()
    arguments.output.write_text(render(arguments.folder))
    print(arguments.output)


if __name__ == "__main__":
    main()
