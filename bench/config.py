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
        patience: epochs without a lower validation loss before early stopping.
        description: one line for the help text.
    """

    name: str
    train_size: int | None
    test_size: int | None
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    "full": Profile(
        name="full",
        train_size=None,
        test_size=None,
        epochs=30,
        batch_size=64,
        learning_rate=1e-3,
        patience=3,
        description="all 55,000 training images, up to 30 epochs with early stopping",
    ),
}


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
        text = json.dumps(settings, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
