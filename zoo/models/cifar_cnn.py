"""A VGG-style CIFAR-10 CNN: three stages of two Conv–BatchNorm–ReLU blocks, max pooling and Dropout.

Widths 64-128-256 with batch norm and rising dropout is the classic design that reaches 90 %+ on
CIFAR-10 with flip-and-shift augmentation (about 2.3 M parameters); ``width`` scales every stage.
"""

import keras
from keras import layers

from zoo.models import register


def conv_bn_relu(x, filters: int, name: str):
    """3×3 convolution (no bias: batch norm supplies it) → BatchNorm → ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


@register("cifar_cnn", input_shape=(32, 32, 3), default_dataset="cifar10", min_input_size=8,
          description="VGG-style CNN with BatchNorm and Dropout for CIFAR-10")
def cifar_cnn(input_shape: tuple[int, int, int], num_classes: int, width: int = 64) -> keras.Model:
    """[conv-bn-relu ×2 → maxpool → dropout] × 3 stages → global max pool → dropout → softmax."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for stage, (filters, rate) in enumerate([(width, 0.2), (2 * width, 0.3), (4 * width, 0.4)], start=1):
        x = conv_bn_relu(x, filters, name=f"block{stage}a")
        x = conv_bn_relu(x, filters, name=f"block{stage}b")
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        x = layers.Dropout(rate, name=f"drop{stage}")(x)
    x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    x = layers.Dropout(0.5, name="drop_head")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cifar_cnn")
