"""The course's CIFAR-10 CNN, made compute-efficient: Conv–BatchNorm–activation blocks, pooling, Dropout.

Its shape follows airbench94 (Keller Jordan, KellerJordan/cifar10-airbench), the fastest known way to 94 %:

- pixels / 255 in (from zoo.data's loaders, as in every zoo model), normalized first with
  CIFAR-10's channel means and standard deviations (``normalize``, constants, as airbench does);
- a 2×2 **patch-whitening** convolution first, its kernel frozen (computed from training images by
  :func:`init_whitening`, before training: the eigenvectors of the 2×2×3 patch covariance and their negatives,
  scaled by 1/sqrt(λ + 5e-4)), so the first learned layer sees decorrelated inputs; its bias trains for the
  recipe's first ``whiten_bias_epochs`` (airbench: 3), then freezes;
- three blocks of conv → max-pool → BatchNorm → GELU → conv → BatchNorm → GELU (widths 64/256/256 by default);
  pooling right after the first conv makes the second conv of each block 4× cheaper;
- convolutions without bias (BatchNorm supplies it), **dirac-initialized**: each conv starts as the identity on
  its first input channels plus a random part on the rest (uniform ±1/sqrt(fan-in), PyTorch's default, which
  airbench's numbers rest on; Keras' Glorot default is up to 2.4× wider), so the net starts close to a shallow one;
- BatchNorm with a frozen scale (``scale=False``), momentum 0.6 (fast-moving statistics for short runs), ε 1e-12;
- head: max-pool → Dropout → linear (no bias) → ×1/9 (keeps the logits small early) → softmax.

Everything is a stock Keras layer (the whitening kernel and dirac start are weights, not custom classes), so
``model.keras`` loads in plain Keras (where the whitening kernel is trainable again: freezing it is part of
training). About 1.97 M parameters and 118 M multiply-adds per 32×32 image.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from zoo.registry import register

WHITEN_SIZE = 2  # the whitening conv's kernel: 2×2 patches
WHITEN_EPS = 5e-4  # added to the patch covariance's eigenvalues before 1/sqrt
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per channel, of pixels scaled to 0-1 (airbench's constants)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
BN_EPSILON = 1e-12  # airbench's; float32 keeps it (the batch variances here are far above it)
# PyTorch's default for convolutions and linear layers, uniform ±1/sqrt(fan_in)
TORCH_INIT = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


def conv(filters: int, name: str) -> layers.Conv2D:
    """A 3×3 'same' convolution without bias (BatchNorm supplies it), PyTorch-initialized."""
    return layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=TORCH_INIT, name=name)


def conv_block(x, filters: int, name: str, bn_momentum: float):
    """conv → max-pool → BN → GELU → conv → BN → GELU."""
    x = conv(filters, f"{name}_conv1")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=BN_EPSILON, scale=False, name=f"{name}_bn1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu1")(x)
    x = conv(filters, f"{name}_conv2")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=BN_EPSILON, scale=False, name=f"{name}_bn2")(x)
    return layers.Activation("gelu", name=f"{name}_gelu2")(x)


def dirac_init(conv: layers.Conv2D) -> None:
    """Make the first min(in, out) output channels of ``conv`` the identity on the matching input channel
    (centre tap 1, the rest 0); the other output channels keep their random initialization."""
    kernel = conv.kernel.numpy()
    k, c_in, c_out = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    n = min(c_in, c_out)
    kernel[:, :, :, :n] = 0.0
    kernel[k // 2, k // 2, np.arange(n), np.arange(n)] = 1.0
    conv.kernel.assign(kernel)


def init_whitening(model: keras.Model, images: np.ndarray) -> None:
    """Compute the frozen ``whiten`` layer's kernel from ``images`` (as the model takes them: pixels / 255 in [0, 1],
    [N, H, W, C]), as that layer sees them: after the model's layers before it (``normalize``).

    Every 2×2×C patch of the images is a vector; the kernel holds the eigenvectors of their covariance, each
    scaled by 1/sqrt(eigenvalue + 5e-4), and their negatives (so the GELU after it passes both signs).
    """
    layer = model.get_layer("whiten")
    x = keras.ops.convert_to_numpy(keras.Model(model.input, layer.input)(np.asarray(images, np.float32)))
    k, c = WHITEN_SIZE, x.shape[-1]
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    patches = np.stack([x[:, i : i + h, j : j + w, :] for i in range(k) for j in range(k)], axis=3)  # [N,h,w,k*k,C]
    patches = patches.reshape(-1, k * k * c).astype(np.float64)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
    order = np.argsort(eigenvalues)[::-1]
    scaled = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + WHITEN_EPS)  # columns: [k*k*C] each
    kernel = np.concatenate([scaled, -scaled], axis=1).reshape(k, k, c, 2 * k * k * c)
    layer.kernel.assign(kernel.astype(np.float32))


# what both widths register with: CIFAR-10's images, and the whitening computed from them before training
CIFAR = dict(input_shape=(32, 32, 3), default_dataset="cifar10", min_input_size=16, init_from_data=init_whitening)


@register(
    "cifar_cnn",
    params=1_973_944,
    description="compute-efficient CIFAR-10 CNN (whitening, Conv-BN-GELU, Dropout; airbench-style)",
    **CIFAR,
)
def cifar_cnn(
    input_shape: tuple[int, int, int],
    num_classes: int,
    widths: tuple[int, int, int] = (64, 256, 256),
    dropout: float = 0.1,
    bn_momentum: float = 0.6,
    name: str = "cifar_cnn",
) -> keras.Model:
    """normalize → whiten 2×2 → GELU → [conv-pool-BN-GELU-conv-BN-GELU] × 3 → max-pool → Dropout → linear ×1/9
    → softmax."""
    channels = input_shape[-1]
    inputs = keras.Input(shape=input_shape, name="image")  # pixels / 255, in [0, 1] (zoo.data.normalize)
    x = inputs
    if channels == len(CIFAR10_MEAN):  # (x - mean) / std per channel, as a Rescaling: constants in the graph, so
        # every export format keeps them (tf2onnx turns Normalization's captured tensors into missing inputs)
        scale = [1 / s for s in CIFAR10_STD]
        offset = [-m / s for m, s in zip(CIFAR10_MEAN, CIFAR10_STD, strict=True)]
        x = layers.Rescaling(scale, offset, name="normalize")(x)
    whiten = layers.Conv2D(2 * channels * WHITEN_SIZE**2, WHITEN_SIZE, name="whiten")
    x = whiten(x)
    x = layers.Activation("gelu", name="whiten_gelu")(x)
    for i, width in enumerate(widths, start=1):
        x = conv_block(x, width, f"block{i}", bn_momentum)
    x = layers.GlobalMaxPooling2D(name="pool_head")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, use_bias=False, kernel_initializer=TORCH_INIT, name="logits")(x)
    x = layers.Rescaling(1 / 9, name="logit_scale")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    model = keras.Model(inputs, outputs, name=name)
    whiten.kernel.trainable = False  # computed from the data (init_whitening); its bias trains (whiten_bias_epochs)
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D) and layer.name != "whiten":
            dirac_init(layer)
    return model


@register(
    "cifar_cnn_small",
    params=498_680,
    description="cifar_cnn at half width (32/128/128): 3x the training speed, for a CIFAR-10 run in 15 minutes",
    **CIFAR,
)
def cifar_cnn_small(input_shape: tuple[int, int, int], num_classes: int, **kwargs) -> keras.Model:
    """:func:`cifar_cnn` with widths 32/128/128: 33 M multiply-adds per image (28 % of its 118 M)."""
    return cifar_cnn(input_shape, num_classes, **{"widths": (32, 128, 128), "name": "cifar_cnn_small", **kwargs})
