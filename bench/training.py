"""Training of one autoencoder: data split, optimizer, loss and early stopping.

Optimizer: Adam with the profile's learning rate. Loss: mean squared error
per pixel, the same quantity that the MSE score reports. With early stopping,
training watches the validation loss and restores the weights of the best
epoch; without it (a fixed schedule or an equal budget), the last weights are
kept. An equal budget stops training after a set number of images or seconds,
at the end of a batch.
"""

import logging
import math
import time
from typing import Any

import keras
import numpy as np

from bench.config import Profile
from bench.splits import Splits

logger = logging.getLogger(__name__)


class EpochLog(keras.callbacks.Callback):
    """Log one line per epoch, so the runner can show progress."""

    def __init__(self, epochs: int | None):
        super().__init__()
        self.epochs = epochs
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logger.info(
            "epoch %d%s: loss %.5f, val_loss %.5f (%.1f s)",
            epoch + 1,
            "" if self.epochs is None else f"/{self.epochs}",
            logs.get("loss", math.nan),
            logs.get("val_loss", math.nan),
            time.perf_counter() - self.started,
        )


class BudgetStop(keras.callbacks.Callback):
    """Stop training once a run has used its images or seconds budget.

    Keras calls `on_train_batch_end` once per execution, which may cover
    several batches (`steps_per_execution`). It passes the index of the last
    batch, so the count of images seen comes from that index. The seconds
    budget counts training steps only: the validation passes that `fit` runs
    after each epoch are timed and left out.
    """

    def __init__(self, budget: str, amount: float, batch_size: int, train_images: int):
        super().__init__()
        self.budget = budget
        self.amount = amount
        self.batch_size = batch_size
        self.train_images = train_images
        self.images_seen = 0
        self.before_epoch = 0
        self.started = 0.0
        self.validation_started = 0.0
        self.validation_seconds = 0.0
        self.spent_seconds: float | None = None

    def training_seconds(self) -> float:
        """Seconds since training began, without the validation passes."""
        return time.perf_counter() - self.started - self.validation_seconds

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.before_epoch = self.images_seen

    def on_test_begin(self, logs=None):
        self.validation_started = time.perf_counter()

    def on_test_end(self, logs=None):
        self.validation_seconds += time.perf_counter() - self.validation_started

    def on_train_batch_end(self, batch, logs=None):
        # The last batch of an epoch may be short.
        self.images_seen = self.before_epoch + min((batch + 1) * self.batch_size, self.train_images)
        if self.budget == "images":
            spent = self.images_seen >= self.amount
        else:
            spent = self.training_seconds() >= self.amount
        if spent:
            self.model.stop_training = True
            self.spent_seconds = self.training_seconds()

    def spent(self) -> float:
        """Return what the run used of its budget: images, or training seconds without validation."""
        if self.budget == "images":
            return float(self.images_seen)
        return self.training_seconds() if self.spent_seconds is None else self.spent_seconds


def max_epochs(profile: Profile, architecture: str, train_images: int) -> int:
    """Return the `epochs` argument for `Model.fit` under the profile's budget."""
    if profile.budget == "images":
        return max(1, math.ceil(profile.budget_amount / train_images))
    if profile.budget == "seconds":
        # The callback ends the run; this only bounds a run that is very fast.
        return 100_000
    return profile.epochs_for(architecture)


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


def train(
    model: keras.Model,
    splits: Splits,
    profile: Profile,
    architecture: str,
    extra_callbacks: tuple[keras.callbacks.Callback, ...] = (),
    compile_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compile and fit `model` to reconstruct its input.

    `compile_options` are extra `Model.compile` arguments that change speed
    only, such as a backend plug-in's COMPILE_OPTIONS.

    Returns:
        Wall time, throughput, training images seen, the budget kind, epochs run, the best epoch, the final and best
        losses and the per-epoch history.

    Raises:
        TrainingDiverged: if a loss is not finite; Keras stops at that batch.
    """
    compile_options = dict(compile_options or {})
    if profile.budget == "images":
        # One batch per execution, so the budget stops at its own batch and
        # not up to `steps_per_execution` batches later.
        compile_options.pop("steps_per_execution", None)
    model.compile(optimizer=keras.optimizers.Adam(profile.learning_rate), loss="mse", **compile_options)
    epochs = max_epochs(profile, architecture, len(splits.train))
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    if profile.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=profile.patience, restore_best_weights=True)
        )
    budget_stop = None
    if profile.budget != "epochs":
        budget_stop = BudgetStop(profile.budget, profile.budget_amount, profile.batch_size, len(splits.train))
        callbacks.append(budget_stop)
    callbacks += [EpochLog(None if profile.budget == "seconds" else epochs), *extra_callbacks]
    started = time.perf_counter()
    history = model.fit(
        splits.train,
        splits.train,
        validation_data=(splits.validation, splits.validation),
        batch_size=profile.batch_size,
        epochs=epochs,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    wall_seconds = time.perf_counter() - started

    losses = {name: [float(value) for value in values] for name, values in history.history.items()}
    train_losses = losses.get("loss", [])
    validation_losses = losses.get("val_loss", [])
    if not train_losses or not all(math.isfinite(value) for value in train_losses + validation_losses):
        raise TrainingDiverged(
            f"the loss is not finite after {len(train_losses)} epoch(s): {losses}; "
            f"lower the learning rate (now {profile.learning_rate})"
        )
    best_epoch = int(np.argmin(validation_losses)) + 1
    epochs_run = len(train_losses)
    images_seen = budget_stop.images_seen if budget_stop else epochs_run * len(splits.train)
    return {
        "wall_seconds": wall_seconds,
        "images_per_second": images_seen / wall_seconds,
        "images_seen": images_seen,
        "budget": profile.budget,
        # What an equal budget used: images, or training seconds without validation.
        "budget_spent": budget_stop.spent() if budget_stop else None,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "final_train_loss": train_losses[-1],
        "final_val_loss": validation_losses[-1],
        "best_val_loss": validation_losses[best_epoch - 1],
        "history": losses,
        "compile_options": compile_options,
    }
