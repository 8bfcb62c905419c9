"""Command line: `aebench` or `python -m bench`.

    aebench [run] [options]     train and score a grid, then write the report
    aebench report FOLDER       rewrite the tables and figures of a finished grid
    aebench ray-resources       print this machine's resources for `ray start`

and the quality-gate commands in `bench.cli_gate` (compare, tolerances,
refresh-baseline).
"""

import argparse
import dataclasses
import datetime
import json
import logging
import os
import pathlib
import shutil
import sys

import backends
from bench import cli_gate, config, data, ray_executor
from bench.arguments import non_negative_int, positive_float, positive_int
from bench.lock import OutputLock, OutputLocked

logger = logging.getLogger("bench")

DEFAULT_RESULTS_ROOT = pathlib.Path("results") / "runs"
EXECUTORS = ("local", "ray")




def run_parser() -> argparse.ArgumentParser:
    profiles = "; ".join(f"{p.name}: {p.description}{'' if p.early_stopping else ', no early stopping'}" for p in config.PROFILES.values())
    parser = argparse.ArgumentParser(
        prog="aebench",
        description=(
            "Train stacked, convolutional and recurrent Keras autoencoders on MNIST and "
            "Fashion-MNIST over several backends, score them on the test set (MSE, PSNR, "
            "SSIM, inpainting) and write tables and figures that compare them."
        ),
        epilog=(
            "Other commands: aebench report FOLDER (rebuild the tables and figures), aebench compare FOLDER "
            "(quality gate), aebench tolerances FOLDER... (measure the gate's tolerances), aebench "
            "refresh-baseline FOLDER --reason TEXT (replace the baseline), aebench ray-resources (the --resources value "
            "for `ray start` on a node of a Ray cluster). Exit status: 0 done, 1 a run "
            f"failed or the data is invalid, 2 invalid options or an unreadable baseline, "
            f"{cli_gate.EXIT_REGRESSION} quality worse than the baseline, 130 interrupted."
        ),
    )

    # What to run.
    parser.add_argument("--profile", choices=config.PROFILES, default="quick", help=f"training budget ({profiles}); default: quick")
    parser.add_argument("--datasets", nargs="+", choices=data.DATASETS, default=list(data.DATASETS), metavar="NAME", help=f"datasets to use, from: {', '.join(data.DATASETS)}; default: all")
    parser.add_argument("--architectures", nargs="+", choices=config.ARCHITECTURES, default=list(config.ARCHITECTURES), metavar="NAME", help=f"architectures to train, from: {', '.join(config.ARCHITECTURES)}; default: all")
    parser.add_argument("--backends", nargs="+", choices=backends.BACKENDS, default=list(config.DEFAULT_BACKENDS), metavar="NAME", help=f"Keras backends, from: {', '.join(backends.BACKENDS)}; default: {' '.join(config.DEFAULT_BACKENDS)}. A backend that is not installed is reported as skipped")
    parser.add_argument("--seeds", nargs="+", type=non_negative_int, default=[0], metavar="SEED", help="random seeds for weight initialisation and shuffling; one run per seed; default: 0")
    parser.add_argument("--codings-size", type=positive_int, default=config.DEFAULT_CODINGS_SIZE, help=f"size of the codings shared by all architectures; default: {config.DEFAULT_CODINGS_SIZE}")

    # Changes to the profile.
    parser.add_argument("--epochs", type=positive_int, help="give every architecture this many epochs (the most, when the profile stops early), in place of the profile's")
    parser.add_argument("--batch-size", type=positive_int, help="override the profile's batch size (images per step)")
    parser.add_argument("--learning-rate", type=positive_float, help="override the profile's Adam learning rate")
    parser.add_argument(
        "--budget-images",
        type=positive_int,
        metavar="N",
        help=(
            "equal budget: every run stops at the end of the first batch that reaches N training images "
            "(with --profile full, 1100000 is 20 epochs of 55,000), with no early stopping; the summary "
            "states the budget and the images each run saw"
        ),
    )
    parser.add_argument(
        "--budget-seconds",
        type=positive_float,
        metavar="S",
        help=(
            "equal budget: every run stops at the end of the first step after S seconds of training "
            "(compilation counts, validation passes do not), with no early stopping; results then depend "
            "on the machine's speed and load"
        ),
    )

    # Data, output and execution.
    parser.add_argument("--data-dir", default=data.default_data_dir(), help=f"folder containing mnist/ and fashion-mnist/ with the IDX files; default: ${data.DATA_DIR_ENV}, then the Keras cache, then Debian's {data.DEBIAN_FASHION_MNIST_DIR} (Fashion-MNIST only), then a download")
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading when no local copy of the data is found")
    parser.add_argument("--output", type=pathlib.Path, help=f"output folder; default: a new timestamped folder under {DEFAULT_RESULTS_ROOT}/")
    parser.add_argument("--resume", action="store_true", help="continue the grid in --output: keep the runs that finished with the same settings and run the rest")
    parser.add_argument(
        "--baseline",
        type=pathlib.Path,
        help=(
            "after the grid, compare its scores with the baseline in this folder (for example "
            f"{cli_gate.DEFAULT_BASELINE}) and exit with status {cli_gate.EXIT_REGRESSION} if any got worse "
            "beyond its tolerance; default: no comparison"
        ),
    )
    parser.add_argument("--tolerances", type=pathlib.Path, help="tolerances file for --baseline; default: tolerances.json in the baseline folder")
    parser.add_argument(
        "--jobs",
        type=positive_int,
        help="local executor: runs at the same time, each in its own process with (CPU cores / jobs) threads; default: the number of CPU cores",
    )

    # Where the runs happen.
    parser.add_argument("--executor", choices=EXECUTORS, default="local", help="local: worker processes on this machine; ray: one task per run on a Ray cluster (needs pip install 'aebench[ray]'); default: local")
    parser.add_argument("--ray-address", metavar="HOST:PORT", help="Ray cluster to use with --executor ray, as printed by `ray start --head`; default: $RAY_ADDRESS, else a private Ray instance on this machine")
    parser.add_argument("--ray-cpus-per-run", type=positive_int, metavar="N", help=f"CPUs Ray reserves for each run, which is also the run's thread count; default: {ray_executor.DEFAULT_CPUS_PER_RUN}")
    parser.add_argument("--ray-max-retries", type=non_negative_int, metavar="N", help=f"times Ray reruns a run whose node or worker process died before the run counts as failed; default: {ray_executor.DEFAULT_MAX_RETRIES}")
    return parser


def report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aebench report",
        description="Rewrite results.csv, summary.md and the figures of an output folder from its records, without training.",
    )
    parser.add_argument("folder", type=pathlib.Path, help="an output folder written by aebench")
    return parser


def setup_logging(log_file: pathlib.Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        handlers=handlers,
        force=True,
    )


def check_output(parser: argparse.ArgumentParser, output: pathlib.Path) -> None:
    if output.exists() and not output.is_dir():
        parser.error(f"--output {output} is a file; give a folder path instead")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot create the output folder {output}: {error.strerror}; choose a writable path")
    if not os.access(output, os.W_OK):
        parser.error(f"the output folder {output} is not writable; choose a writable path")


def first_missing_folder(path: pathlib.Path) -> pathlib.Path | None:
    """Return the outermost folder of `path` that does not exist yet, or None."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def remove_empty_output(output: pathlib.Path, created: pathlib.Path) -> None:
    """Delete the folders this command created for `output` if no run was written."""
    if (output / "runs").exists():
        return
    logging.shutdown()  # close aebench.log before deleting it
    shutil.rmtree(created, ignore_errors=True)


def run_command(argv: list[str]) -> int:
    parser = run_parser()
    arguments = parser.parse_args(argv)
    profile = config.PROFILES[arguments.profile]
    overrides = {}
    if arguments.epochs is not None:
        overrides["epochs"] = arguments.epochs
    if arguments.batch_size is not None:
        overrides["batch_size"] = arguments.batch_size
    if arguments.learning_rate is not None:
        overrides["learning_rate"] = arguments.learning_rate
    if arguments.budget_images is not None and arguments.budget_seconds is not None:
        parser.error("--budget-images and --budget-seconds are two different equal budgets; choose one of them")
    if arguments.epochs is not None and (arguments.budget_images or arguments.budget_seconds):
        parser.error("--epochs cannot be combined with --budget-images or --budget-seconds, which set the training length themselves; leave one out")
    if arguments.budget_images is not None:
        overrides.update(budget="images", budget_amount=arguments.budget_images)
    if arguments.budget_seconds is not None:
        overrides.update(budget="seconds", budget_amount=arguments.budget_seconds)
    if overrides:
        if "epochs" in overrides:
            # One epoch count for every architecture replaces a per-architecture schedule.
            overrides["architecture_epochs"] = None
        # The name says the profile was changed, so tables never pass it off as the standard one.
        named = {key: value for key, value in overrides.items() if value is not None and key != "budget_amount"}
        if "budget" in named:
            named["budget"] = f"{named['budget']}:{overrides['budget_amount']:g}"
        changes = ",".join(f"{key}={value}" for key, value in named.items())
        profile = dataclasses.replace(profile, name=f"{profile.name}[{changes}]", **overrides)

    if arguments.tolerances is not None and arguments.baseline is None:
        parser.error("--tolerances needs --baseline")
    if arguments.baseline is not None:
        # Check before training, so a missing baseline does not cost a whole grid.
        problem = cli_gate.check_baseline(arguments.baseline, arguments.tolerances)
        if problem is not None:
            parser.error(f"--baseline: {problem}")

    output = arguments.output
    if arguments.resume and (output is None or not output.is_dir()):
        parser.error("--resume needs --output pointing at the folder of the grid to continue")
    if output is None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        output = DEFAULT_RESULTS_ROOT / f"{stamp}-{profile.name}"
    # Connect before anything is written, so a wrong address leaves no folder behind.
    executor = make_executor(parser, arguments, output)
    try:
        created = first_missing_folder(output.absolute())
        check_output(parser, output)
        lock = OutputLock(output)
        try:
            lock.acquire()
        except OutputLocked as error:
            setup_logging(None)
            logger.error("%s", error)
            return 2
        try:
            return run_grid_command(arguments, profile, output, created, executor)
        finally:
            lock.release()
    finally:
        if executor is not None:
            executor.close()


def make_executor(parser: argparse.ArgumentParser, arguments: argparse.Namespace, output: pathlib.Path):
    """Return the Ray executor, connected, if the options ask for it; None means the local one."""
    ray_options = {
        "--ray-address": arguments.ray_address,
        "--ray-cpus-per-run": arguments.ray_cpus_per_run,
        "--ray-max-retries": arguments.ray_max_retries,
    }
    if arguments.executor != "ray":
        given = [name for name, value in ray_options.items() if value is not None]
        if given:
            parser.error(f"{', '.join(given)} can only be used with --executor ray; add --executor ray or leave them out")
        return None
    if arguments.jobs is not None:
        parser.error("--jobs sets the local executor's parallel runs; with --executor ray, Ray places the runs, so leave --jobs out (see --ray-cpus-per-run)")
    executor = ray_executor.RayExecutor(
        output,
        address=arguments.ray_address or os.environ.get("RAY_ADDRESS") or None,
        cpus_per_run=arguments.ray_cpus_per_run or ray_executor.DEFAULT_CPUS_PER_RUN,
        max_retries=(
            ray_executor.DEFAULT_MAX_RETRIES if arguments.ray_max_retries is None else arguments.ray_max_retries
        ),
    )
    setup_logging(None)
    try:
        executor.connect()
    except ray_executor.RayExecutorError as error:
        parser.error(str(error))
    return executor


def run_grid_command(
    arguments: argparse.Namespace,
    profile: config.Profile,
    output: pathlib.Path,
    created: pathlib.Path | None,
    executor=None,
) -> int:
    """Run the grid that the parsed arguments describe; the caller holds the output lock.

    `created` is the outermost folder that this command made for `output`;
    `executor` None means the local one.
    """
    from bench import runner

    setup_logging(output / "aebench.log")

    settings = runner.GridSettings(
        datasets=tuple(dict.fromkeys(arguments.datasets)),
        architectures=tuple(dict.fromkeys(arguments.architectures)),
        backends=tuple(dict.fromkeys(arguments.backends)),
        seeds=tuple(dict.fromkeys(arguments.seeds)),
        profile=profile,
        output_dir=output,
        data_dir=arguments.data_dir,
        codings_size=arguments.codings_size,
        jobs=arguments.jobs or os.cpu_count() or 1,
        allow_download=not arguments.no_download,
        resume=arguments.resume,
    )
    try:
        found = runner.run_grid(settings, executor)
    except (runner.GridError, OutputLocked) as error:
        logger.error("%s", error)
        return 2
    except data.DataError as error:
        logger.error("%s", error)
        if created is not None:
            remove_empty_output(output, created)
        return 1
    except KeyboardInterrupt:
        logger.error(
            "interrupted; finished runs are kept in %s; continue with the same options and: --resume --output %s",
            output,
            output,
        )
        return 130

    status = grid_status(found)
    logger.info("summary: %s", output / "summary.md")
    trained = any(record["kind"] == "model" and record["status"] == "ok" for record in found)
    if arguments.baseline is not None and trained:
        gate_status = cli_gate.run_gate(output, arguments.baseline, arguments.tolerances)
        # Failed runs decide the status first; the gate's table is printed either way.
        status = status or gate_status
    return status


def grid_status(found: list[dict]) -> int:
    """Log the runs that failed or were skipped; return 1 if any failed or none was trained."""
    failed = [record["run_id"] for record in found if record["status"] == "failed"]
    skipped = [record["run_id"] for record in found if record["status"] == "skipped"]
    if skipped:
        logger.warning("%d run(s) skipped: %s", len(skipped), ", ".join(skipped))
    if failed:
        logger.error("%d run(s) failed: %s; see their worker.log", len(failed), ", ".join(failed))
        return 1
    if not any(record["kind"] == "model" and record["status"] == "ok" for record in found):
        logger.error("no model was trained: every run was skipped; see the reasons above")
        return 1
    return 0


def report_command(argv: list[str]) -> int:
    from bench import report

    parser = report_parser()
    arguments = parser.parse_args(argv)
    if not arguments.folder.is_dir():
        parser.error(f"{arguments.folder} is not a folder; give an output folder written by aebench")
    setup_logging(None)
    try:
        written = report.write_report(arguments.folder)
    except FileNotFoundError as error:
        logger.error("%s", error)
        return 1
    for path in written:
        print(path)
    return 0


def ray_resources_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="aebench ray-resources",
        description=(
            "Print the Ray resources this machine offers as a node of an aebench cluster: one per installed "
            "Keras backend. Use it as: ray start ... --resources \"$(aebench ray-resources)\""
        ),
    )
    parser.parse_args(argv)
    print(json.dumps(ray_executor.node_resources()))
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["report"]:
        return report_command(arguments[1:])
    if arguments[:1] == ["ray-resources"]:
        return ray_resources_command(arguments[1:])
    if arguments[:1] and arguments[0] in cli_gate.COMMANDS:
        setup_logging(None)
        return cli_gate.COMMANDS[arguments[0]](arguments[1:])
    if arguments[:1] == ["run"]:
        arguments = arguments[1:]
    return run_command(arguments)
