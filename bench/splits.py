"""Training, validation and test splits as float32 images in [0, 1].

Kept apart from the training code so that the runner can build the same test
split for the reference rows without importing Keras.
"""

import dataclasses

import numpy as np

from bench.config import VALIDATION_SIZE, Profile


@dataclasses.dataclass(frozen=True)
class Splits:
    """Float32 images in [0, 1], shape (images, 28, 28)."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


def make_splits(x_train: np.ndarray, x_test: np.ndarray, profile: Profile) -> Splits:
    """Hold out the last 5,000 training images for validation and trim to the profile."""
    training_images = x_train[:-VALIDATION_SIZE]
    if profile.train_size is not None:
        training_images = training_images[: profile.train_size]
    test = x_test if profile.test_size is None else x_test[: profile.test_size]
    return Splits(
        train=to_unit_range(training_images),
        validation=to_unit_range(x_train[-VALIDATION_SIZE:]),
        test=to_unit_range(test),
    )
