"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), single tower, with local response normalization.

227×227×3 input: 96-256-384-384-256 filters, FC 4096-4096-classes, dropout 0.5: 62,378,344 parameters
for 1000 classes. Each 3×3/2 max pool is 'valid' (overlapping pooling, as in the paper), except where the
map has shrunk below 3×3 on a small input, where it pads ('same'), so the network builds from 63×63 up.
"""

import keras
import tensorflow as tf
from keras import layers

from zoo.registry import register


@keras.saving.register_keras_serializable(package="zoo")
class LocalResponseNormalization(layers.Layer):
    """Cross-channel normalization b = a / (k + α Σ a²)^β over n neighbouring channels (the course's
    CrossChannelNormalization: k=2, n=5, α=1e-4, β=0.75), computed by ``tf.nn.local_response_normalization``."""

    def __init__(self, k: float = 2.0, n: int = 5, alpha: float = 1e-4, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.k, self.n, self.alpha, self.beta = k, n, alpha, beta

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, depth_radius=self.n // 2, bias=self.k, alpha=self.alpha, beta=self.beta
        )

    def get_config(self):
        return {**super().get_config(), "k": self.k, "n": self.n, "alpha": self.alpha, "beta": self.beta}


def overlapping_pool(x, name: str):
    """3×3 max pooling with stride 2; 'same' only where the map is already smaller than the window."""
    return layers.MaxPooling2D(3, 2, padding="valid" if x.shape[1] >= 3 and x.shape[2] >= 3 else "same", name=name)(x)


@register(
    "alexnet",
    params=62_378_344,
    input_shape=(227, 227, 3),
    num_classes=1000,
    default_dataset="cifar10",
    min_input_size=63,
    description="AlexNet, Krizhevsky et al. 2012, single tower with LRN (ImageNet-sized: 227x227, 1000 classes)",
)
def alexnet(input_shape: tuple[int, int, int], num_classes: int, dropout: float = 0.5) -> keras.Model:
    """conv1 96@11×11/4 → LRN → pool → conv2 256@5×5 → LRN → pool
    → conv3-5 384, 384, 256 @3×3 → pool → FC 4096 → dropout → FC 4096 → dropout → softmax."""
    inputs = keras.Input(shape=input_shape, name="image")  # pixels / 255, in [0, 1] (zoo.data.normalize)
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(inputs)
    x = LocalResponseNormalization(name="lrn1")(x)
    x = overlapping_pool(x, "pool1")
    x = layers.Conv2D(256, 5, padding="same", activation="relu", name="conv2")(x)
    x = LocalResponseNormalization(name="lrn2")(x)
    x = overlapping_pool(x, "pool2")
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = overlapping_pool(x, "pool5")
    x = layers.Flatten()(x)
    x = layers.Dense(4096, activation="relu", name="fc6")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(4096, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="alexnet")
