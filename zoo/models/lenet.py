"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998), in the layer order of the paper.

Modern choices, and why:
- ReLU instead of the scaled tanh: it trains faster with Adam and does not saturate; ``activation="tanh"``
  gives the classic one.
- Max pooling instead of LeCun's subsampling (average × trainable coefficient + bias): it is the common
  modern choice and adds no parameters, which is why the count is 61,706 on MNIST; ``pooling="average"``
  gives plain average pooling.
- C1 uses 'same' padding on 28×28 inputs, as LeCun padded MNIST digits to 32×32 before a 'valid' C1.
- C5 is a Dense(120) after Flatten; on 28×28 inputs it equals the paper's 5×5 convolution over a 5×5 map
  (same 48,120 parameters) and it also works for other input sizes.
- F6 feeds a softmax output instead of Euclidean RBF units.
"""

import keras
from keras import layers

from zoo.registry import register


@register(
    "lenet5",
    params=61_706,
    input_shape=(28, 28, 1),
    default_dataset="mnist",
    min_input_size=12,
    description="LeNet-5, LeCun et al. 1998",
)
def lenet5(
    input_shape: tuple[int, int, int],
    num_classes: int,
    activation: str = "relu",
    pooling: str = "max",
) -> keras.Model:
    """C1 6@5×5 → S2 pool → C3 16@5×5 → S4 pool → C5 120 → F6 84 → output."""
    pool = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D}[pooling]
    inputs = keras.Input(shape=input_shape, name="image")  # pixels / 255, in [0, 1] (zoo.data.normalize)
    x = layers.Conv2D(6, 5, padding="same", activation=activation, name="c1")(inputs)
    x = pool(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = pool(2, name="s4")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation=activation, name="c5")(x)
    x = layers.Dense(84, activation=activation, name="f6")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="lenet5")
