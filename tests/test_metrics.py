import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from bench import metrics, scoring


def random_images(count=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(count, 28, 28)).astype(np.float32)


def reference_ssim(first: np.ndarray, second: np.ndarray) -> float:
    """SSIM written from its definition: 7x7 uniform window, sample (co)variances.

    Only windows that lie fully inside the image are used, which is also the
    region scikit-image averages over, so no border handling is needed.
    """
    first = first.astype(np.float64)
    second = second.astype(np.float64)
    c1 = (0.01 * 1.0) ** 2
    c2 = (0.03 * 1.0) ** 2
    values = []
    for row in range(3, 25):
        for column in range(3, 25):
            a = first[row - 3 : row + 4, column - 3 : column + 4].ravel()
            b = second[row - 3 : row + 4, column - 3 : column + 4].ravel()
            mean_a, mean_b = a.mean(), b.mean()
            var_a, var_b = a.var(ddof=1), b.var(ddof=1)
            covariance = np.cov(a, b, ddof=1)[0, 1]
            numerator = (2 * mean_a * mean_b + c1) * (2 * covariance + c2)
            denominator = (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
            values.append(numerator / denominator)
    return float(np.mean(values))


def test_mse_hand_computed():
    reference = np.zeros((2, 28, 28), dtype=np.float32)
    prediction = np.zeros((2, 28, 28), dtype=np.float32)
    prediction[0, 0, 0] = 1.0  # one pixel off by 1 among 2 * 784 pixels
    prediction[1, :, :] = 0.5  # every pixel of the second image off by 0.5
    expected = (1.0 + 784 * 0.25) / (2 * 784)
    assert metrics.mean_squared_error(reference, prediction) == pytest.approx(expected)


def test_mse_clips_predictions():
    reference = np.ones((1, 28, 28), dtype=np.float32)
    prediction = np.full((1, 28, 28), 3.0, dtype=np.float32)
    assert metrics.mean_squared_error(reference, prediction) == 0.0


def test_psnr_hand_computed():
    assert metrics.psnr_from_mse(0.01) == pytest.approx(20.0)
    assert metrics.psnr_from_mse(0.001) == pytest.approx(30.0)
    assert metrics.psnr_from_mse(0.0) == math.inf


def test_psnr_rejects_negative_mse():
    with pytest.raises(ValueError, match="negative"):
        metrics.psnr_from_mse(-1.0)


def test_ssim_identical_is_one():
    images = random_images()
    assert metrics.mean_ssim(images, images) == pytest.approx(1.0)


def test_ssim_matches_scikit_image():
    images = random_images(seed=1)
    noisy = np.clip(images + np.random.default_rng(2).normal(0, 0.1, images.shape), 0, 1)
    direct = [structural_similarity(a, b, data_range=1.0) for a, b in zip(images.astype(np.float64), noisy)]
    assert metrics.mean_ssim(images, noisy) == pytest.approx(float(np.mean(direct)), abs=1e-6)


def test_ssim_matches_definition():
    images = random_images(count=2, seed=3)
    noisy = np.clip(images + np.random.default_rng(4).normal(0, 0.2, images.shape), 0, 1)
    expected = np.mean([reference_ssim(a, b) for a, b in zip(images, noisy)])
    assert metrics.mean_ssim(images, noisy) == pytest.approx(expected, abs=1e-5)


def test_ssim_is_mean_of_per_image_values():
    images = random_images(count=2, seed=5)
    prediction = images.copy()
    prediction[1] = 1.0 - prediction[1]
    values = metrics.per_image_ssim(images, prediction)
    assert values[0] == pytest.approx(1.0)
    assert values[1] < 0.5
    assert metrics.mean_ssim(images, prediction) == pytest.approx(values.mean())


def test_hidden_mse_ignores_visible_pixels():
    reference = np.zeros((1, 28, 28), dtype=np.float32)
    prediction = np.ones((1, 28, 28), dtype=np.float32)
    mask = np.zeros((1, 28, 28), dtype=bool)
    mask[0, :2, :2] = True
    prediction[0, :2, :2] = 0.5  # hidden pixels off by 0.5; visible ones off by 1
    assert metrics.hidden_pixel_mse(reference, prediction, mask) == pytest.approx(0.25)


def test_hidden_mse_rejects_empty_mask():
    images = random_images(count=1)
    with pytest.raises(ValueError, match="no pixel"):
        metrics.hidden_pixel_mse(images, images, np.zeros_like(images, dtype=bool))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 28, 28\) and \(3, 28, 28\)"):
        metrics.mean_squared_error(random_images(2), random_images(3))


def test_paste_visible_keeps_known_pixels():
    reference = random_images(count=1)
    prediction = np.zeros_like(reference)
    mask = np.zeros_like(reference, dtype=bool)
    mask[0, 14:] = True
    restored = metrics.paste_visible(reference, prediction, mask)
    assert np.array_equal(restored[0, :14], reference[0, :14])
    assert (restored[0, 14:] == 0).all()


def test_mean_image_reference_scores():
    train = random_images(count=10, seed=6)
    test = random_images(count=4, seed=7)
    masks = {"bottom_half": np.zeros((4, 28, 28), dtype=bool)}
    masks["bottom_half"][:, 14:] = True
    predict = scoring.mean_image_predictor(train)
    scores, outputs, diagnostics = scoring.score(predict, test, masks, samples=np.array([0, 2]))
    mean_image = train.mean(axis=0)
    expected_mse = float(np.mean((test.astype(np.float64) - mean_image) ** 2))
    assert scores["mse"] == pytest.approx(expected_mse, rel=1e-5)
    assert outputs["reconstruction"].shape == (2, 28, 28)
    assert outputs["inpaint_bottom_half"].shape == (2, 28, 28)
    assert np.allclose(outputs["inpaint_bottom_half"][:, :14], test[[0, 2], :14])
    assert diagnostics["collapsed"]
    assert diagnostics["output_spread"] == pytest.approx(0.0, abs=1e-6)


def test_zero_fill_reference_skips_reconstruction():
    test = random_images(count=2, seed=8)
    masks = {"right_half": np.zeros((2, 28, 28), dtype=bool)}
    masks["right_half"][:, :, 14:] = True
    scores, outputs, diagnostics = scoring.score(
        scoring.zero_fill_predictor, test, masks, np.array([0]), reconstruction=False
    )
    assert "mse" not in scores
    expected = float(np.mean(test[:, :, 14:].astype(np.float64) ** 2))
    assert scores["inpaint_right_half_hidden_mse"] == pytest.approx(expected, rel=1e-5)
    assert "reconstruction" not in outputs
    assert diagnostics == {}


def test_sample_indices_first_of_each_class():
    labels = np.array([3, 1, 3, 0, 2, 1, 0])
    assert scoring.sample_indices(labels).tolist() == [3, 1, 4, 0]


def test_collapse_check_identity_not_collapsed():
    images = random_images(count=20, seed=9)
    diagnostics = scoring.collapse_check(images, images)
    assert not diagnostics["collapsed"]
    assert diagnostics["output_spread"] == pytest.approx(diagnostics["input_spread"])


def test_collapse_check_near_constant_collapsed():
    images = random_images(count=20, seed=10)
    nearly_constant = 0.5 + 0.01 * (images - 0.5)
    assert scoring.collapse_check(images, nearly_constant)["collapsed"]
