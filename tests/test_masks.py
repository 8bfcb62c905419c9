import numpy as np
import pytest

from bench import masks


@pytest.mark.parametrize(
    ("name", "hidden_per_image"),
    [("bottom_half", 392), ("right_half", 392), ("center_square", 196), ("random_half", 392)],
)
def test_mask_hidden_pixel_counts(name, hidden_per_image):
    mask = masks.make_masks(50, seed=1)[name]
    assert mask.shape == (50, 28, 28)
    assert mask.dtype == bool
    assert (mask.sum(axis=(1, 2)) == hidden_per_image).all()


def test_bottom_half_geometry():
    mask = masks.make_masks(1, seed=0)["bottom_half"][0]
    assert not mask[:14].any()
    assert mask[14:].all()


def test_right_half_geometry():
    mask = masks.make_masks(1, seed=0)["right_half"][0]
    assert not mask[:, :14].any()
    assert mask[:, 14:].all()


def test_center_square_geometry():
    mask = masks.make_masks(1, seed=0)["center_square"][0]
    assert mask[7:21, 7:21].all()
    assert mask.sum() == mask[7:21, 7:21].sum()


def test_random_half_differs_per_image():
    mask = masks.make_masks(3, seed=5)["random_half"]
    assert not np.array_equal(mask[0], mask[1])
    assert not np.array_equal(mask[1], mask[2])


def test_random_half_repeatable_by_seed():
    first = masks.make_masks(4, seed=7)["random_half"]
    again = masks.make_masks(4, seed=7)["random_half"]
    other = masks.make_masks(4, seed=8)["random_half"]
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_apply_mask_zeroes_hidden_only():
    images = np.random.default_rng(0).uniform(0.1, 1.0, size=(2, 28, 28)).astype(np.float32)
    mask = masks.make_masks(2, seed=0)["random_half"]
    masked = masks.apply_mask(images, mask)
    assert (masked[mask] == 0).all()
    assert np.array_equal(masked[~mask], images[~mask])
    assert masked.dtype == np.float32
