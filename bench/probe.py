"""Linear probe: how well a logistic regression reads the class off a representation.

Reconstruction scores do not show whether the codings are useful. The
probe fits a multinomial logistic regression (scikit-learn, on standardised
features) to the training images' representations and their labels, and
reports its accuracy on the test images. The same probe on the raw pixels,
and on PCA with as many components as the codings, gives the scale.
"""

import dataclasses
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MAX_ITERATIONS = 1000
METRIC_KEY = "probe_accuracy"


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """Test accuracy of the probe, with what it was fitted on."""

    accuracy: float
    features: int
    train_images: int
    test_images: int
    converged: bool
    seconds: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def flatten(images: np.ndarray) -> np.ndarray:
    """Return one row of features per image."""
    return images.reshape(len(images), -1)


def fit_probe(
    train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray, test_labels: np.ndarray
) -> ProbeResult:
    """Fit the logistic regression on the training features and return its test accuracy."""
    started = time.perf_counter()
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITERATIONS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(flatten(train_features), train_labels)
    converged = not any(issubclass(warning.category, ConvergenceWarning) for warning in caught)
    accuracy = float(classifier.score(flatten(test_features), test_labels))
    return ProbeResult(
        accuracy=accuracy,
        features=flatten(train_features).shape[1],
        train_images=len(train_features),
        test_images=len(test_features),
        converged=converged,
        seconds=time.perf_counter() - started,
    )


def pca_features(train_images: np.ndarray, test_images: np.ndarray, components: int, seed: int = 0):
    """Project the images on the first `components` principal components of the training images."""
    pca = PCA(n_components=components, random_state=seed)
    return pca.fit_transform(flatten(train_images)), pca.transform(flatten(test_images))
