"""Faster training arithmetic for two stock Keras layers on TensorFlow CPUs: the same results, fewer passes.

Keras 3 computes BatchNormalization in training from separate ops (mean, variance, normalize: several passes
over the activations forward and more backward) and differentiates exact GELU through its formula. TensorFlow
has one fused kernel for the first (``FusedBatchNormV3``, oneDNN's on CPUs), and GELU's derivative has a closed
form, ``Φ(x) + x φ(x)``, one pass. :func:`use_fast_ops` switches a built model's layers to them for training:
each layer's ``call`` is replaced on that instance only, so its class, config and weights stay stock and a model
saved from it loads in plain Keras as before. On 2 CPU cores this makes a cifar_cnn step 1.04–1.09× faster
(``benchmarks/step_profile.py``). Results agree with the stock layers to float32 round-off (tests compare
outputs, gradients and moving statistics).
"""

from __future__ import annotations

import math

# The Keras major versions whose BatchNormalization training update this reproduces (measured on 3.15;
# tests/test_fastops.py compares the two, so a Keras that changes it fails there).
TESTED_KERAS = (3,)


def _tf():
    import tensorflow as tf

    return tf


def fused_batch_norm_call(layer):
    """``layer.call`` (a Keras BatchNormalization over the last axis) with TensorFlow's fused kernel in
    training; inference and anything unusual (a mask, a frozen layer) go to the stock call."""
    stock = type(layer).call.__get__(layer)
    tf = _tf()

    def call(inputs, training=None, mask=None):
        if not (training and layer.trainable) or mask is not None:
            return stock(inputs, training=training, mask=mask)
        x, channels = inputs, inputs.shape[-1]
        scale = layer.gamma if layer.scale else tf.ones([channels])
        offset = layer.beta if layer.center else tf.zeros([channels])
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, epsilon=layer.epsilon, data_format="NHWC", is_training=True
        )
        # The kernel returns the unbiased variance (n - 1); Keras' moving variance averages the biased one.
        n = tf.cast(tf.size(x) // channels, "float32")
        variance = variance * ((n - 1.0) / n)
        momentum = layer.momentum
        layer.moving_mean.assign(layer.moving_mean * momentum + mean * (1.0 - momentum))
        layer.moving_variance.assign(layer.moving_variance * momentum + variance * (1.0 - momentum))
        return y

    call.fast_op = True
    return call


def gelu_call(inputs):
    """An exact-GELU Activation layer's ``call`` with :func:`gelu_exact`."""
    return gelu_exact(inputs)


gelu_call.fast_op = True


def gelu_exact(x):
    """Exact GELU, x Φ(x), with its derivative Φ(x) + x φ(x) computed in one expression."""
    tf = _tf()

    @tf.custom_gradient
    def gelu(x):
        cdf = 0.5 * (1.0 + tf.math.erf(x * (1 / math.sqrt(2))))

        def grad(dy):
            pdf = tf.exp(-0.5 * tf.square(x)) * (1 / math.sqrt(2 * math.pi))
            return dy * (cdf + x * pdf)

        return x * cdf, grad

    return gelu(x)


def _fusable_batch_norm(layer) -> bool:
    import keras

    if type(layer) is not keras.layers.BatchNormalization or layer.renorm or layer.synchronized:
        return False
    try:
        rank = len(layer.input.shape)
    except (AttributeError, ValueError):  # not called yet, or called on several inputs
        return False
    return rank == 4 and layer.axis in (-1, 3)


def _exact_gelu(layer) -> bool:
    import keras

    return type(layer) is keras.layers.Activation and layer.get_config()["activation"] == "gelu"


def use_fast_ops(model) -> int:
    """Switch ``model``'s float32 4-D BatchNormalization layers (channels last) to the fused kernel and its
    exact-GELU Activation layers to the one-pass derivative, in place; returns how many layers were switched (none
    where Keras' backend is not TensorFlow or its major version is untested)."""
    import keras

    if keras.backend.backend() != "tensorflow" or int(keras.__version__.split(".")[0]) not in TESTED_KERAS:
        return 0
    switched = 0
    for layer in model.layers:
        if layer.compute_dtype != "float32":  # measured equal in float32 only (mixed precision keeps Keras' own)
            continue
        if _fusable_batch_norm(layer):
            layer.call = fused_batch_norm_call(layer)
        elif _exact_gelu(layer):
            layer.call = gelu_call
        else:
            continue
        switched += 1
    return switched


def in_use(model) -> bool:
    """Whether any of ``model``'s layers trains with these kernels."""
    return any(getattr(layer.call, "fast_op", False) for layer in model.layers)
