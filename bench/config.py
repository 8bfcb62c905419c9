"""Typed run configuration: training profiles and the specification of one run.

Nothing here imports Keras, so the command line and the runner can build and
check a grid before any backend is loaded.
"""

import dataclasses
import hashlib
import json
from typing import Any

ARCHITECTURES = ("stacked", "conv", "recurrent")
DEFAULT_BACKENDS = ("tensorflow", "torch")
# Rough order of training cost per image, highest first (the LSTM model is
# several times slower than the conv model, which is slower than the dense
# one). Runs start in this order, so the longest ones do not finish last.
ARCHITECTURES_BY_COST = ("recurrent", "conv", "stacked")
DEFAULT_CODINGS_SIZE = 30
VALIDATION_SIZE = 5_000
# The random inpainting mask is drawn from its own seed, so every model, seed
# and backend is scored on exactly the same hidden pixels.
DEFAULT_MASK_SEED = 2024
# Kinds of training budget. "epochs": each architecture trains for its
# profile's epochs, stopped early when the validation loss stalls. "images":
# every run trains on the same number of images. "seconds": every run trains
# for the same time.
BUDGETS = ("epochs", "images", "seconds")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Training and scoring budget shared by every run of a grid.

    Attributes:
        name: profile name used on the command line.
        train_size: number of training images used, taken from the start of
            the 55,000 images left after the validation hold-out; None uses all.
        test_size: number of test images scored; None scores all 10,000.
        epochs: maximum number of epochs.
        batch_size: images per gradient step.
        learning_rate: Adam learning rate.
        patience: epochs without a lower validation loss before early stopping
            restores the best epoch's weights; None trains every epoch and
            keeps the last weights.
        description: one line for the help text.
        architecture_epochs: epochs per architecture that replace `epochs`
            for the architectures named; None gives every one `epochs`.
        budget: one of BUDGETS; "images" and "seconds" turn early stopping off
            so that every run spends the same budget.
        budget_amount: training images per run ("images") or seconds of
            training per run ("seconds"); None for "epochs".
    """

    name: str
    train_size: int | None
    test_size: int | None
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int | None
    description: str
    architecture_epochs: dict[str, int] | None = None
    budget: str = "epochs"
    budget_amount: float | None = None

    def __post_init__(self):
        if self.budget not in BUDGETS:
            raise ValueError(f"unknown budget {self.budget!r}; use one of: {', '.join(BUDGETS)}")
        if (self.budget == "epochs") != (self.budget_amount is None):
            raise ValueError(
                f"budget {self.budget!r} with amount {self.budget_amount!r}: "
                "the images and seconds budgets need an amount, the epochs budget takes none"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def epochs_for(self, architecture: str) -> int:
        """Return the most epochs a run of `architecture` may train."""
        if self.architecture_epochs and architecture in self.architecture_epochs:
            return self.architecture_epochs[architecture]
        return self.epochs

    @property
    def early_stopping(self) -> bool:
        """Whether runs stop when the validation loss stalls."""
        return self.budget == "epochs" and self.patience is not None

    def describe_budget(self, architectures: tuple[str, ...] = ARCHITECTURES) -> str:
        """Return one sentence that states how much training each run got."""
        if self.budget == "images":
            return (
                f"equal images: every run stopped at the end of the first batch that reached "
                f"{int(self.budget_amount):,} training images, with no early stopping (the last weights are kept)"
            )
        if self.budget == "seconds":
            return (
                f"equal training time: every run stopped at the end of the first step after {self.budget_amount:g} s "
                "of training, not counting validation passes, with no early stopping (the last weights are kept)"
            )
        epochs = ", ".join(f"{name} {self.epochs_for(name)}" for name in architectures)
        if self.early_stopping:
            plural = "epoch" if self.patience == 1 else "epochs"
            return f"epochs per architecture ({epochs}), stopped early after {self.patience} {plural} without a lower validation loss"
        return f"epochs per architecture ({epochs}), no early stopping"


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        train_size=512,
        test_size=1_000,
        epochs=1,
        batch_size=128,
        learning_rate=3e-3,
        patience=1,
        description="512 training images, 1 epoch, 1,000 test images: checks the plumbing only",
    ),
    "quick": Profile(
        name="quick",
        train_size=20_000,
        test_size=None,
        epochs=6,
        batch_size=64,
        learning_rate=2e-3,
        patience=2,
        description="20,000 training images, up to 6 epochs, the full test set",
    ),
    # Géron's schedule (Hands-On Machine Learning, 3rd edition, chapter 17):
    # 20 epochs for the stacked model and 10 for the other two, no early
    # stopping, so the validation MSE can be set beside his.
    # NOTE: he trains with Nadam and batches of 32; batches of 64 with Adam
    # halve the steps, which keeps the three-seed grid within a few hours on
    # two CPU cores.
    "full": Profile(
        name="full",
        train_size=None,
        test_size=None,
        epochs=20,
        batch_size=64,
        learning_rate=1e-3,
        patience=None,
        description="all 55,000 training images; Géron's epochs: stacked 20, conv 10, recurrent 10",
        architecture_epochs={"stacked": 20, "conv": 10, "recurrent": 10},
    ),
}


LATER_PROFILE_FIELDS = {"architecture_epochs": None, "budget": "epochs", "budget_amount": None}


def make_run_id(dataset: str, architecture: str, backend: str, seed: int) -> str:
    """Return the readable, unique name of a run inside one output folder."""
    return f"{dataset}-{architecture}-{backend}-seed{seed}"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training-and-scoring run.

    A grid is a list of these; an executor may run them in any order and in
    any process, because each one is self-contained.
    """

    dataset: str
    architecture: str
    backend: str
    seed: int
    profile: Profile
    codings_size: int = DEFAULT_CODINGS_SIZE
    mask_seed: int = DEFAULT_MASK_SEED
    data_dir: str | None = None
    threads: int | None = None

    @property
    def run_id(self) -> str:
        """Readable, unique name of the run inside one output folder."""
        return make_run_id(self.dataset, self.architecture, self.backend, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunSpec":
        values = dict(values)
        values["profile"] = Profile(**values["profile"])
        return cls(**values)

    def fingerprint(self) -> str:
        """Return a short hash of the settings that change the results."""
        settings = self.to_dict()
        # Where the data came from and how many threads ran do not change what
        # is computed; the data checksums are recorded separately.
        settings.pop("data_dir")
        settings.pop("threads")
        # Profile fields added later are left out while they hold their
        # defaults, so older output folders still resume.
        for name, default in LATER_PROFILE_FIELDS.items():
            if settings["profile"].get(name) == default:
                settings["profile"].pop(name)
        text = json.dumps(settings, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
