"""Autoencoder architectures, written once against Keras 3.

Each builder returns an encoder, a decoder and the joined autoencoder. Every
model maps a batch of images of shape (batch, 28, 28) with values in [0, 1] to
a reconstruction of the same shape. The decoders end in a sigmoid, so outputs
already lie in [0, 1]; the scoring code still clips them as a guard.

The layouts follow the stacked, convolutional and recurrent autoencoders of
Aurélien Géron, "Hands-On Machine Learning with Scikit-Learn, Keras and
TensorFlow", 3rd edition, chapter 17, with one shared codings size so that the
comparison is fair. Only `keras` layers are used, so the same code runs on
every backend.
"""

import dataclasses
from collections.abc import Callable

import keras

from bench import macs
from bench.config import ARCHITECTURES, DEFAULT_CODINGS_SIZE

IMAGE_SHAPE = (28, 28)


@dataclasses.dataclass(frozen=True)
class Autoencoder:
    """An encoder, a decoder and the model that chains them."""

    encoder: keras.Model
    decoder: keras.Model
    autoencoder: keras.Model

    def parameter_counts(self) -> dict[str, int]:
        """Return the number of weights in each part and in the whole model."""
        return {
            "encoder": int(self.encoder.count_params()),
            "decoder": int(self.decoder.count_params()),
            "total": int(self.autoencoder.count_params()),
        }

    def macs_per_image(self) -> dict[str, int]:
        """Return the multiply-accumulate operations of one image's forward pass, per part and in all."""
        return {
            "encoder": macs.model_macs(self.encoder),
            "decoder": macs.model_macs(self.decoder),
            "total": macs.model_macs(self.autoencoder),
        }


def _join(name: str, encoder: keras.Model, decoder: keras.Model) -> Autoencoder:
    inputs = keras.Input(shape=IMAGE_SHAPE, name="images")
    outputs = decoder(encoder(inputs))
    autoencoder = keras.Model(inputs, outputs, name=f"{name}_autoencoder")
    return Autoencoder(encoder=encoder, decoder=decoder, autoencoder=autoencoder)


def build_stacked(codings_size: int = DEFAULT_CODINGS_SIZE) -> Autoencoder:
    """Build a dense autoencoder: 784 -> 100 -> codings, mirrored."""
    encoder = keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            keras.layers.Flatten(),  # (batch, 784)
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(codings_size, activation="relu"),
        ],
        name="stacked_encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(codings_size,)),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1], activation="sigmoid"),
            keras.layers.Reshape(IMAGE_SHAPE),
        ],
        name="stacked_decoder",
    )
    return _join("stacked", encoder, decoder)


def build_conv(codings_size: int = DEFAULT_CODINGS_SIZE) -> Autoencoder:
    """Build a convolutional autoencoder.

    The encoder halves the image three times with max pooling
    (28 -> 14 -> 7 -> 3) and averages the last feature maps into the codings.
    The decoder grows a 3x3 map back with strided transposed convolutions
    (3 -> 7 -> 14 -> 28), so the output is exactly 28x28 on every backend.
    """
    encoder = keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            keras.layers.Reshape((*IMAGE_SHAPE, 1)),  # (batch, 28, 28, 1)
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(pool_size=2),  # (batch, 14, 14, 16)
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(pool_size=2),  # (batch, 7, 7, 32)
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(pool_size=2),  # (batch, 3, 3, 64)
            keras.layers.Conv2D(codings_size, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),  # (batch, codings)
        ],
        name="conv_encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(codings_size,)),
            keras.layers.Dense(3 * 3 * 16, activation="relu"),
            keras.layers.Reshape((3, 3, 16)),
            # "valid" padding: (3 - 1) * 2 + 3 = 7.
            keras.layers.Conv2DTranspose(
                32, 3, strides=2, padding="valid", activation="relu"
            ),
            keras.layers.Conv2DTranspose(
                16, 3, strides=2, padding="same", activation="relu"
            ),  # (batch, 14, 14, 16)
            keras.layers.Conv2DTranspose(
                1, 3, strides=2, padding="same", activation="sigmoid"
            ),  # (batch, 28, 28, 1)
            keras.layers.Reshape(IMAGE_SHAPE),
        ],
        name="conv_decoder",
    )
    return _join("conv", encoder, decoder)


def build_recurrent(codings_size: int = DEFAULT_CODINGS_SIZE) -> Autoencoder:
    """Build a recurrent autoencoder that reads each image row as one time step."""
    rows, columns = IMAGE_SHAPE
    encoder = keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),  # (batch, 28 steps, 28 features)
            keras.layers.LSTM(100, return_sequences=True),
            keras.layers.LSTM(codings_size),  # (batch, codings)
        ],
        name="recurrent_encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(codings_size,)),
            keras.layers.RepeatVector(rows),  # (batch, 28, codings)
            keras.layers.LSTM(100, return_sequences=True),
            # A Dense layer on a 3-D input applies to every time step.
            keras.layers.Dense(columns, activation="sigmoid"),  # (batch, 28, 28)
        ],
        name="recurrent_decoder",
    )
    return _join("recurrent", encoder, decoder)


BUILDERS: dict[str, Callable[[int], Autoencoder]] = {
    "stacked": build_stacked,
    "conv": build_conv,
    "recurrent": build_recurrent,
}
assert tuple(BUILDERS) == ARCHITECTURES, "every architecture name needs a builder"


def build_autoencoder(name: str, codings_size: int = DEFAULT_CODINGS_SIZE) -> Autoencoder:
    """Build the named architecture.

    Raises:
        ValueError: if `name` is not one of `ARCHITECTURES` or the codings
            size is not positive.
    """
    if name not in BUILDERS:
        raise ValueError(
            f"Unknown architecture {name!r}: expected one of {', '.join(ARCHITECTURES)}."
        )
    if codings_size < 1:
        raise ValueError(f"Codings size must be a positive integer, received {codings_size}.")
    return BUILDERS[name](codings_size)
