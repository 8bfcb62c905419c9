"""Score any image-to-image predictor on the test set.

The same code scores the trained autoencoders and the reference predictors
(the mean training image, and leaving hidden pixels at 0), so every row of a
results table is measured the same way.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from bench import masks as masks_module
from bench import metrics

Predictor = Callable[[np.ndarray], np.ndarray]


def sample_indices(labels: np.ndarray) -> np.ndarray:
    """Return the index of the first test image of each class, in class order.

    Every figure shows these images, so all models are compared on the same
    digits or garments.
    """
    classes = np.unique(labels)
    return np.array([int(np.argmax(labels == label)) for label in classes])


# A model whose reconstructions vary across test images less than this
# fraction of the test images' own variation ignores its input: it has
# collapsed to (nearly) one output, such as the mean image.
COLLAPSE_SPREAD_RATIO = 0.1


def collapse_check(images: np.ndarray, prediction: np.ndarray) -> dict[str, Any]:
    """Compare how much the predictions and the images vary from image to image.

    The spread is the standard deviation over images of each pixel, averaged
    over pixels. It is 0 for a model that returns the same image every time.
    """
    input_spread = float(images.std(axis=0).mean())
    output_spread = float(prediction.std(axis=0).mean())
    return {
        "input_spread": input_spread,
        "output_spread": output_spread,
        "collapsed": output_spread < COLLAPSE_SPREAD_RATIO * input_spread,
    }


def score(
    predict: Predictor,
    images: np.ndarray,
    masks: dict[str, np.ndarray],
    samples: np.ndarray,
    reconstruction: bool = True,
) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, Any]]:
    """Score reconstruction and inpainting for one predictor.

    Args:
        predict: maps float32 images (n, 28, 28) in [0, 1] to predictions of
            the same shape.
        images: test images, float32 (n, 28, 28) in [0, 1].
        masks: mask name to boolean array (n, 28, 28); True is hidden.
        samples: indices of the images to keep for the figures.
        reconstruction: False skips the plain reconstruction scores, for a
            predictor that only makes sense on masked input.

    Returns:
        The metrics by name; the sample outputs by name, "reconstruction" and
        "inpaint_<mask>" (visible pixels pasted back), each (samples, 28, 28);
        and the `collapse_check` of the reconstructions (empty without them).
    """
    scores: dict[str, float] = {}
    outputs: dict[str, np.ndarray] = {}
    diagnostics: dict[str, Any] = {}
    if reconstruction:
        prediction = metrics.clip(predict(images))
        scores.update(metrics.reconstruction_scores(images, prediction))
        outputs["reconstruction"] = prediction[samples]
        diagnostics = collapse_check(images, prediction)
    for mask_name, mask in masks.items():
        prediction = metrics.clip(predict(masks_module.apply_mask(images, mask)))
        scores.update(metrics.inpainting_scores(mask_name, images, prediction, mask))
        restored = metrics.paste_visible(images, prediction, mask)
        outputs[f"inpaint_{mask_name}"] = restored[samples]
    return scores, outputs, diagnostics


def mean_image_predictor(train_images: np.ndarray) -> Predictor:
    """Return a predictor that outputs the mean training image for any input."""
    mean_image = train_images.mean(axis=0, dtype=np.float64).astype(np.float32)

    def predict(images: np.ndarray) -> np.ndarray:
        return np.broadcast_to(mean_image, images.shape).copy()

    return predict


def zero_fill_predictor(images: np.ndarray) -> np.ndarray:
    """Return the masked input unchanged, so hidden pixels stay 0."""
    return images
