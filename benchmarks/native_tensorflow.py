"""The three autoencoders written in plain TensorFlow (variables and `tf.nn` ops, no Keras).

Layer for layer as in `bench.architectures`, with the per-pixel MSE loss and
a hand-written Adam, so the comparison measures what Keras adds on top of
TensorFlow. Each training step is one `tf.function` call, as in `model.fit`.
"""

import math

import tensorflow as tf

IMAGE_SIZE = 28


class Parameters(tf.Module):
    """Glorot-uniform weights and zero biases, created in a fixed order from one seed."""

    def __init__(self, seed: int):
        super().__init__()
        self.generator = tf.random.Generator.from_seed(seed)
        self.variables_in_order: list[tf.Variable] = []

    def weight(self, shape, fan_in: int, fan_out: int) -> tf.Variable:
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        variable = tf.Variable(self.generator.uniform(shape, -limit, limit))
        self.variables_in_order.append(variable)
        return variable

    def bias(self, size: int) -> tf.Variable:
        variable = tf.Variable(tf.zeros([size]))
        self.variables_in_order.append(variable)
        return variable


def dense(parameters: Parameters, inputs: int, outputs: int):
    kernel, bias = parameters.weight([inputs, outputs], inputs, outputs), parameters.bias(outputs)
    return lambda x: tf.matmul(x, kernel) + bias


def conv(parameters: Parameters, inputs: int, outputs: int):
    kernel = parameters.weight([3, 3, inputs, outputs], 9 * inputs, 9 * outputs)
    bias = parameters.bias(outputs)
    return lambda x: tf.nn.conv2d(x, kernel, 1, "SAME") + bias


def conv_transpose(parameters: Parameters, inputs: int, outputs: int, size: int, padding: str):
    kernel = parameters.weight([3, 3, outputs, inputs], 9 * inputs, 9 * outputs)
    bias = parameters.bias(outputs)

    def apply(x):
        shape = tf.stack([tf.shape(x)[0], size, size, outputs])
        return tf.nn.conv2d_transpose(x, kernel, shape, 2, padding) + bias

    return apply


def lstm(parameters: Parameters, inputs: int, units: int, return_sequences: bool):
    """Build an LSTM with Keras's gate order (input, forget, cell, output) and one bias vector."""
    kernel = parameters.weight([inputs, 4 * units], inputs, 4 * units)
    recurrent = parameters.weight([units, 4 * units], units, 4 * units)
    bias = parameters.bias(4 * units)

    def apply(sequence):
        batch = tf.shape(sequence)[0]
        hidden = tf.zeros([batch, units])
        cell = tf.zeros([batch, units])
        projected = tf.einsum("bti,ig->btg", sequence, kernel) + bias
        outputs = []
        for step in range(sequence.shape[1]):
            gates = projected[:, step] + tf.matmul(hidden, recurrent)
            input_gate, forget_gate, candidate, output_gate = tf.split(gates, 4, axis=1)
            cell = tf.sigmoid(forget_gate) * cell + tf.sigmoid(input_gate) * tf.tanh(candidate)
            hidden = tf.sigmoid(output_gate) * tf.tanh(cell)
            outputs.append(hidden)
        return tf.stack(outputs, axis=1) if return_sequences else hidden

    return apply


def build_stacked(parameters: Parameters, codings_size: int):
    layers = [
        dense(parameters, IMAGE_SIZE * IMAGE_SIZE, 100),
        dense(parameters, 100, codings_size),
        dense(parameters, codings_size, 100),
        dense(parameters, 100, IMAGE_SIZE * IMAGE_SIZE),
    ]

    def forward(images):
        x = tf.reshape(images, [-1, IMAGE_SIZE * IMAGE_SIZE])
        for layer in layers[:-1]:
            x = tf.nn.relu(layer(x))
        return tf.reshape(tf.sigmoid(layers[-1](x)), [-1, IMAGE_SIZE, IMAGE_SIZE])

    return forward


def build_conv(parameters: Parameters, codings_size: int):
    encoder = [conv(parameters, 1, 16), conv(parameters, 16, 32), conv(parameters, 32, 64)]
    last = conv(parameters, 64, codings_size)
    expand = dense(parameters, codings_size, 3 * 3 * 16)
    decoder = [
        conv_transpose(parameters, 16, 32, 7, "VALID"),
        conv_transpose(parameters, 32, 16, 14, "SAME"),
    ]
    output = conv_transpose(parameters, 16, 1, 28, "SAME")

    def forward(images):
        x = images[..., tf.newaxis]
        for layer in encoder:
            x = tf.nn.max_pool2d(tf.nn.relu(layer(x)), 2, 2, "VALID")
        codings = tf.reduce_mean(tf.nn.relu(last(x)), axis=[1, 2])
        x = tf.reshape(tf.nn.relu(expand(codings)), [-1, 3, 3, 16])
        for layer in decoder:
            x = tf.nn.relu(layer(x))
        return tf.sigmoid(output(x))[..., 0]

    return forward


def build_recurrent(parameters: Parameters, codings_size: int):
    rows = lstm(parameters, IMAGE_SIZE, 100, return_sequences=True)
    codings_layer = lstm(parameters, 100, codings_size, return_sequences=False)
    decoder_rows = lstm(parameters, codings_size, 100, return_sequences=True)
    output_row = dense(parameters, 100, IMAGE_SIZE)

    def forward(images):
        codings = codings_layer(rows(images))
        repeated = tf.repeat(codings[:, tf.newaxis, :], IMAGE_SIZE, axis=1)
        return tf.sigmoid(output_row(decoder_rows(repeated)))

    return forward


BUILDERS = {"stacked": build_stacked, "conv": build_conv, "recurrent": build_recurrent}


class NativeTrainer:
    """Adam (Keras defaults: beta 0.9 and 0.999, epsilon 1e-7) on the per-pixel MSE."""

    def __init__(self, architecture: str, codings_size: int, learning_rate: float, seed: int = 0):
        self.parameters = Parameters(seed)
        self.forward = BUILDERS[architecture](self.parameters, codings_size)
        self.weights = self.parameters.variables_in_order
        self.first_moments = [tf.Variable(tf.zeros_like(w)) for w in self.weights]
        self.second_moments = [tf.Variable(tf.zeros_like(w)) for w in self.weights]
        self.iterations = tf.Variable(0.0)
        self.learning_rate = learning_rate
        self._step = tf.function(self._train_step)
        self._predict = tf.function(self.forward)

    def parameter_count(self) -> int:
        return sum(int(tf.size(weight)) for weight in self.weights)

    def _train_step(self, batch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.forward(batch) - batch))
        gradients = tape.gradient(loss, self.weights)
        self.iterations.assign_add(1.0)
        step_size = self.learning_rate * tf.sqrt(1 - 0.999**self.iterations) / (1 - 0.9**self.iterations)
        for weight, gradient, first, second in zip(self.weights, gradients, self.first_moments, self.second_moments):
            first.assign(0.9 * first + 0.1 * gradient)
            second.assign(0.999 * second + 0.001 * tf.square(gradient))
            weight.assign_sub(step_size * first / (tf.sqrt(second) + 1e-7))
        return loss

    def train_steps(self, images, batch_size: int) -> float:
        """Run one step per batch of `images` (a numpy array); return the last loss."""
        data = tf.constant(images)
        loss = tf.constant(float("nan"))
        for start in range(0, len(images), batch_size):
            loss = self._step(data[start : start + batch_size])
        return float(loss)

    def predict(self, images, batch_size: int):
        data = tf.constant(images)
        outputs = [self._predict(data[start : start + batch_size]) for start in range(0, len(images), batch_size)]
        return tf.concat(outputs, axis=0).numpy()
