"""Reconstruction and inpainting scores.

All functions take float images with values in [0, 1] and shape
(images, 28, 28). Predictions are clipped to [0, 1] before scoring, so a model
is never rewarded or punished for values outside the image range.

SSIM is scikit-image's `structural_similarity` with `data_range=1.0`, a 7x7
uniform window (`win_size=7`, `gaussian_weights=False`, the library's
defaults) and K1 = 0.01, K2 = 0.03. It is computed on each image on its own
and then averaged, not as one 3-D SSIM over the batch.
"""

import math

import numpy as np
from skimage.metrics import structural_similarity

DATA_RANGE = 1.0
SSIM_WINDOW = 7
SSIM_SETTINGS = {
    "data_range": DATA_RANGE,
    "win_size": SSIM_WINDOW,
    "gaussian_weights": False,
    "K1": 0.01,
    "K2": 0.03,
}


def _check_pair(reference: np.ndarray, prediction: np.ndarray) -> None:
    if reference.shape != prediction.shape:
        raise ValueError(
            f"Expected images and predictions of the same shape, "
            f"received {reference.shape} and {prediction.shape}."
        )
    if reference.ndim != 3:
        raise ValueError(
            f"Expected a batch of 2-D images (images, height, width), "
            f"received shape {reference.shape}."
        )


def clip(prediction: np.ndarray) -> np.ndarray:
    """Clip predictions to the image range [0, 1] as float32."""
    return np.clip(np.asarray(prediction, dtype=np.float32), 0.0, DATA_RANGE)


def mean_squared_error(reference: np.ndarray, prediction: np.ndarray) -> float:
    """Return the MSE per pixel, averaged over every pixel of every image."""
    _check_pair(reference, prediction)
    difference = reference.astype(np.float64) - clip(prediction)
    return float(np.mean(difference**2))


def psnr_from_mse(mse: float) -> float:
    """Return the peak signal-to-noise ratio in dB for a data range of 1.

    PSNR = 10 * log10(1 / MSE), computed from the MSE over the whole test set,
    so it is a monotone restatement of that MSE; infinite when MSE is 0.
    """
    if mse < 0:
        raise ValueError(f"MSE must not be negative, received {mse}.")
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(DATA_RANGE**2 / mse)


def per_image_ssim(reference: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Return the SSIM of each image pair, shape (images,)."""
    _check_pair(reference, prediction)
    reference = reference.astype(np.float64)
    prediction = clip(prediction).astype(np.float64)
    return np.array(
        [
            structural_similarity(original, restored, **SSIM_SETTINGS)
            for original, restored in zip(reference, prediction)
        ]
    )


def mean_ssim(reference: np.ndarray, prediction: np.ndarray) -> float:
    """Return the mean over images of the per-image SSIM."""
    return float(np.mean(per_image_ssim(reference, prediction)))


def hidden_pixel_mse(reference: np.ndarray, prediction: np.ndarray, mask: np.ndarray) -> float:
    """Return the MSE over the hidden pixels only (True in `mask`)."""
    _check_pair(reference, prediction)
    if mask.shape != reference.shape:
        raise ValueError(
            f"Expected a mask of shape {reference.shape}, received {mask.shape}."
        )
    if not mask.any():
        raise ValueError("The mask hides no pixel, so there is nothing to score.")
    difference = reference.astype(np.float64)[mask] - clip(prediction)[mask]
    return float(np.mean(difference**2))


def paste_visible(reference: np.ndarray, prediction: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the prediction on hidden pixels and the known input elsewhere."""
    return np.where(mask, clip(prediction), reference.astype(np.float32))


def reconstruction_scores(reference: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Score a reconstruction: MSE, PSNR (dB) and mean SSIM."""
    mse = mean_squared_error(reference, prediction)
    return {
        "mse": mse,
        "psnr": psnr_from_mse(mse),
        "ssim": mean_ssim(reference, prediction),
    }


def inpainting_scores(
    mask_name: str, reference: np.ndarray, prediction: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    """Score one mask: MSE on the hidden pixels and SSIM after pasting back.

    `prediction` is the model's output for the masked input. The visible
    pixels are pasted back over it before the SSIM is taken, because a user of
    an inpainting model keeps what was known.
    """
    restored = paste_visible(reference, prediction, mask)
    return {
        f"inpaint_{mask_name}_hidden_mse": hidden_pixel_mse(reference, prediction, mask),
        f"inpaint_{mask_name}_ssim": mean_ssim(reference, restored),
    }
