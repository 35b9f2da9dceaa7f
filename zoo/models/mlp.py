"""The multilayer perceptron baseline: 784-800-400-10 (Simard et al. 2003 used 800 hidden units)."""

import keras
from keras import layers

from zoo.registry import register


@register(
    "mlp",
    params=952_410,
    input_shape=(28, 28, 1),
    default_dataset="mnist",
    description="MLP 784-800-400-10 baseline, after Simard et al. 2003",
)
def mlp(input_shape: tuple[int, int, int], num_classes: int, dropout: float = 0.0) -> keras.Model:
    """Flatten → Dense(800, relu) → Dense(400, relu) → Dense(classes, softmax).

    ``dropout`` (default 0, off) adds Dropout after each hidden layer; it adds no parameters.
    """
    inputs = keras.Input(shape=input_shape, name="image")  # pixels / 255, in [0, 1] (zoo.data.normalize)
    x = layers.Flatten()(inputs)
    x = layers.Dense(800, activation="relu", name="fc1")(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    x = layers.Dense(400, activation="relu", name="fc2")(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mlp")
