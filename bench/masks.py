"""Masks that hide part of each image for the inpainting test.

A mask is a boolean array of shape (images, 28, 28) in which True marks a
hidden pixel. Hidden pixels are set to 0 in the model's input, which is also
the background value of both datasets.
"""

from collections.abc import Callable

import numpy as np

IMAGE_SIDE = 28


def bottom_half(count: int, rng: np.random.Generator) -> np.ndarray:
    """Hide rows 14 to 27: 392 pixels per image."""
    mask = np.zeros((count, IMAGE_SIDE, IMAGE_SIDE), dtype=bool)
    mask[:, IMAGE_SIDE // 2 :, :] = True
    return mask


def right_half(count: int, rng: np.random.Generator) -> np.ndarray:
    """Hide columns 14 to 27: 392 pixels per image."""
    mask = np.zeros((count, IMAGE_SIDE, IMAGE_SIDE), dtype=bool)
    mask[:, :, IMAGE_SIDE // 2 :] = True
    return mask


def center_square(count: int, rng: np.random.Generator) -> np.ndarray:
    """Hide the centred 14x14 square, rows and columns 7 to 20: 196 pixels."""
    mask = np.zeros((count, IMAGE_SIDE, IMAGE_SIDE), dtype=bool)
    start = IMAGE_SIDE // 4
    stop = start + IMAGE_SIDE // 2
    mask[:, start:stop, start:stop] = True
    return mask


def random_half(count: int, rng: np.random.Generator) -> np.ndarray:
    """Hide exactly half of the pixels of each image, chosen independently per image."""
    pixels = IMAGE_SIDE * IMAGE_SIDE
    # Ranking uniform noise gives each image its own random permutation in
    # one vectorised call; the lowest half of the ranks is hidden.
    ranks = rng.random((count, pixels)).argsort(axis=1).argsort(axis=1)
    mask = ranks < pixels // 2
    return mask.reshape(count, IMAGE_SIDE, IMAGE_SIDE)


MASKS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "bottom_half": bottom_half,
    "right_half": right_half,
    "center_square": center_square,
    "random_half": random_half,
}


def make_masks(count: int, seed: int) -> dict[str, np.ndarray]:
    """Build every mask for `count` images; the same seed gives the same masks."""
    rng = np.random.default_rng(seed)
    return {name: build(count, rng) for name, build in MASKS.items()}


def apply_mask(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return a copy of `images` with the hidden pixels set to 0."""
    return np.where(mask, np.zeros((), dtype=images.dtype), images)
