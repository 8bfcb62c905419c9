"""Count the multiply-accumulate operations (MACs) of one forward pass per image.

The count is computed from each layer's configuration and its input and
output shapes, so it is the same on every backend. It covers the layers that
multiply by weights (Dense, Conv2D, Conv2DTranspose, LSTM). Activations,
pooling, reshapes and biases cost far less and count as zero. FLOPs are about
twice the MACs.
"""

import math

import keras


def _shape(tensor) -> tuple[int, ...]:
    # Drop the batch axis.
    return tuple(int(size) for size in tensor.shape[1:])


def layer_macs(layer) -> int:
    """Return the MACs of one layer for one image."""
    if isinstance(layer, keras.Model):
        return sum(layer_macs(inner) for inner in layer.layers)
    if isinstance(layer, keras.layers.Dense):
        inputs = _shape(layer.input)
        # A Dense layer applies to the last axis of every position before it.
        return math.prod(inputs[:-1]) * inputs[-1] * layer.units
    if isinstance(layer, keras.layers.Conv2DTranspose):
        height, width, channels = _shape(layer.input)
        kernel_height, kernel_width = layer.kernel_size
        # Every input pixel adds one kernel per output channel.
        return height * width * kernel_height * kernel_width * channels * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        channels = _shape(layer.input)[-1]
        height, width, _ = _shape(layer.output)
        kernel_height, kernel_width = layer.kernel_size
        return height * width * kernel_height * kernel_width * (channels // layer.groups) * layer.filters
    if isinstance(layer, keras.layers.LSTM):
        steps, features = _shape(layer.input)
        # Four gates, each a product with the input and with the last state, at every step.
        return steps * 4 * layer.units * (features + layer.units)
    return 0


def model_macs(model: keras.Model) -> int:
    """Return the MACs of one forward pass of `model` for one image."""
    return sum(layer_macs(layer) for layer in model.layers)
