"""The multilayer perceptron baseline: 784-800-400-10 (Simard et al. 2003 used 800 hidden units)."""

import keras
from keras import layers

from zoo.models import Tag, register, register_tags
from zoo.recipes import Recipe


@register(
    "mlp",
    input_shape=(28, 28, 1),
    default_dataset="mnist",
    description="MLP 784-800-400-10 baseline (952,410 params on MNIST)",
)
def mlp(input_shape: tuple[int, int, int], num_classes: int, dropout: float = 0.0) -> keras.Model:
    """rescale (x / 255) → Flatten → Dense(800, relu) → Dense(400, relu) → Dense(classes, softmax).

    ``dropout`` (default 0, off) adds Dropout after each hidden layer; it adds no parameters.
    """
    inputs = keras.Input(shape=input_shape, name="image")  # raw pixels, 0-255
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Flatten()(x)
    x = layers.Dense(800, activation="relu", name="fc1")(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    x = layers.Dense(400, activation="relu", name="fc2")(x)
    x = layers.Dropout(dropout)(x) if dropout else x
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mlp")


register_tags(
    Tag(
        "mlp",
        "mnist",
        Recipe(epochs=20),
        target=0.984,
        reference="Simard et al. 2003, 800 hidden units: 1.6 % error",
        weights="mlp-mnist",
        sha256="6704e88a33ad2b5d37a37e4b6864fb4b148df4c3d310c6ae74f49767a2d7f0a2",
    ),
    Tag(
        "mlp",
        "fashion_mnist",
        Recipe(epochs=30),
        target=0.895,
        weights="mlp-fashion_mnist",
        sha256="f41f7eece30d62734de2614b4a120354184df18324183d5a6411e4c5f3c1143f",
    ),
)
