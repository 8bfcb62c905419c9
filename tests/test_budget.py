"""Training budgets: Géron's schedule in the full profile, and the equal images and seconds budgets."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

import backends
from bench import config, summary
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent

# Trains the stacked model on 256 synthetic images in batches of 64 under a
# profile given as JSON, with the compile options a backend plug-in could add,
# and prints what training.train reports.
TRAIN_PROBE = """
import json, sys
import numpy as np
import keras
from bench import architectures, training
from bench.config import Profile
from bench.splits import Splits

profile = Profile(**json.loads(sys.argv[1]))
compile_options = json.loads(sys.argv[2])
rng = np.random.default_rng(0)
splits = Splits(
    train=rng.random((256, 28, 28), dtype=np.float32),
    validation=rng.random((64, 28, 28), dtype=np.float32),
    test=rng.random((64, 28, 28), dtype=np.float32),
)
keras.utils.set_random_seed(0)
model = architectures.build_autoencoder("stacked", 8)
result = training.train(model.autoencoder, splits, profile, "stacked", (), compile_options)
print(json.dumps({key: result[key] for key in ("images_seen", "epochs_run", "budget", "budget_spent", "compile_options")}))
"""


def small_profile(**changes) -> config.Profile:
    values = dict(
        name="test", train_size=None, test_size=None, epochs=3, batch_size=64, learning_rate=1e-3, patience=None, description=""
    )
    values.update(changes)
    return config.Profile(**values)


def train_probe(profile: config.Profile, compile_options: dict, backend: str) -> dict:
    code = f"import sys; sys.argv[1:] = {[json.dumps(profile.to_dict()), json.dumps(compile_options)]!r}\n" + TRAIN_PROBE
    return helpers.run_python(code, backend)


def test_full_profile_uses_geron_epochs():
    full = config.PROFILES["full"]
    assert {name: full.epochs_for(name) for name in config.ARCHITECTURES} == {"stacked": 20, "conv": 10, "recurrent": 10}
    assert not full.early_stopping
    assert full.describe_budget() == "epochs per architecture (stacked 20, conv 10, recurrent 10), no early stopping"


def test_quick_profile_keeps_early_stopping():
    quick = config.PROFILES["quick"]
    assert quick.early_stopping
    assert quick.epochs_for("recurrent") == quick.epochs
    assert "stopped early after 2 epochs" in quick.describe_budget()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"budget": "flops"}, "unknown budget 'flops'"),
        ({"budget": "images"}, "need an amount"),
        ({"budget_amount": 5.0}, "takes none"),
    ],
)
def test_profile_rejects_a_bad_budget(changes, message):
    with pytest.raises(ValueError, match=message):
        small_profile(**changes)


def test_fingerprint_of_older_records_is_kept():
    # The committed baseline was written before the budget fields existed;
    # their defaults must not change its fingerprints, or --resume would rerun it.
    record = json.loads((ROOT / "results/baseline/runs/mnist-conv-torch-seed0/record.json").read_text())
    assert "budget" not in record["spec"]["profile"]
    spec = config.RunSpec.from_dict(record["spec"])
    assert spec.fingerprint() == record["fingerprint"]
    changed = dataclasses.replace(spec, profile=dataclasses.replace(spec.profile, budget="images", budget_amount=1000))
    assert changed.fingerprint() != record["fingerprint"]


@pytest.mark.parametrize("backend", helpers.backend_params())
def test_images_budget_stops_at_its_batch(backend):
    # 300 images in batches of 64 ends after the 5th batch (320 images), in
    # the second epoch, even when the plug-in sets 4 batches per execution.
    profile = small_profile(budget="images", budget_amount=300)
    found = train_probe(profile, {"steps_per_execution": 4}, backend)
    assert found["images_seen"] == 320
    assert found["budget_spent"] == 320
    assert found["epochs_run"] == 2
    assert found["budget"] == "images"
    assert "steps_per_execution" not in found["compile_options"]


@pytest.mark.parametrize("backend", helpers.backend_params())
def test_seconds_budget_stops_after_the_first_execution(backend):
    # A budget far below one step's time ends training after the first
    # execution, which covers the plug-in's steps_per_execution batches of 64.
    options = dict(backends.get_backend(backend).COMPILE_OPTIONS)
    steps = options.get("steps_per_execution", 1)
    profile = small_profile(budget="seconds", budget_amount=1e-6)
    found = train_probe(profile, options, backend)
    assert found["images_seen"] == min(steps * 64, 256)
    assert found["budget_spent"] > 0
    assert found["epochs_run"] == 1
    assert found["compile_options"] == options


# Drives the callback with a clock the test sets, so no real time passes.
CLOCK_PROBE = """
import json
from bench import training

now = [100.0]
training.time.perf_counter = lambda: now[0]


class Model:
    stop_training = False


stop = training.BudgetStop("seconds", 10.0, 64, 256)
stop.set_model(Model())
stop.on_train_begin()
stop.on_epoch_begin(0)
seen = []
for clock, event in [(106, "batch"), (106, "test_begin"), (126, "test_end"), (127, "batch"), (131, "batch")]:
    now[0] = clock
    if event == "batch":
        stop.on_train_batch_end(len(seen))
        seen.append(stop.model.stop_training)
    else:
        getattr(stop, "on_" + event)()
print(json.dumps({"stopped": seen, "spent": stop.spent(), "validation": stop.validation_seconds}))
"""


def test_seconds_budget_leaves_validation_out():
    # 6 s of training, a 20 s validation pass, then 1 s and 4 s more: the
    # budget of 10 s is spent at 11 s of training, not at 27 s of wall time.
    found = helpers.run_python(CLOCK_PROBE, helpers.INSTALLED_BACKENDS[0])
    assert found == {"stopped": [False, False, True], "spent": 11.0, "validation": 20.0}


def test_fixed_schedule_trains_every_epoch():
    found = train_probe(small_profile(epochs=3, patience=None), {}, helpers.INSTALLED_BACKENDS[0])
    assert found["epochs_run"] == 3
    assert found["images_seen"] == 3 * 256
    assert found["budget"] == "epochs"
    assert found["budget_spent"] is None


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *arguments], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_budget_options_exclude_each_other():
    completed = run_cli("--budget-images", "1000", "--budget-seconds", "5")
    assert completed.returncode == 2
    assert "--budget-images and --budget-seconds are two different equal budgets; choose one of them" in completed.stderr


def test_budget_with_epochs_is_a_usage_error():
    completed = run_cli("--budget-images", "1000", "--epochs", "3")
    assert completed.returncode == 2
    assert "--epochs cannot be combined with --budget-images" in completed.stderr


def test_summary_states_the_budget_and_what_runs_used():
    profile = small_profile(name="quick[budget=images:700]", budget="images", budget_amount=700)
    records = [
        {"kind": "model", "architecture": name, "spec": {"profile": profile.to_dict()}, "training": {"budget_spent": spent}}
        for name, spent in (("stacked", 768), ("conv", 768))
    ]
    (sentence,) = summary.budget_sentences(records)
    assert sentence == (
        "Training budget (quick[budget=images:700]): equal images: every run stopped at the end of the first batch "
        "that reached 700 training images, with no early stopping (the last weights are kept). "
        "Images seen per run: 768 to 768."
    )
