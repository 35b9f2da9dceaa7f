"""Fold a trained chain model's affine layers into its convolutions, for integer quantization.

Every separately quantized layer adds a rounding step in an int8 model. At inference, BatchNorm (a per-channel
``x·s + t``), the input's scaling and normalization, and a constant logit scale are affine maps next to a
convolution or dense layer, so they can be multiplied into its kernel and bias instead:

- ``Rescaling`` layers straight before a convolution (the input's ``/255`` and channel normalization): into the
  convolution's kernel (per input channel) and bias, where its padding is 'valid' or the rescaling has no offset
  (zero padding would see an offset differently at the border);
- ``BatchNormalization`` after a convolution, or after a convolution and a max-pool where every channel's scale is
  positive (max-pooling commutes with ``x·s + t`` for ``s > 0``): into the convolution, which gains a bias;
- ``Dropout``: dropped (the identity at inference);
- a ``Rescaling`` with no offset after a ``Dense``: into its kernel (and bias).

What cannot be folded exactly stays as it was.

The folded model computes the same function as the original (up to float rounding; tested) and is used only for
the int8 TFLite export; model.keras and the float exports keep the trained layers as they are.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


def _chain(model: keras.Model) -> list[layers.Layer]:
    """The model's layers after its input, checked to form a single chain (each takes the one before's output)."""
    chain = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    previous = model.inputs[0] if len(model.inputs) == 1 else None
    for layer in chain:
        if previous is None or layer.input is not previous:
            raise ValueError(f"{model.name} is not a chain of layers at {layer.name}: it cannot be folded")
        previous = layer.output
    return chain


def _affine(layer: layers.Rescaling, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A Rescaling as per-channel (scale, offset)."""
    scale = np.broadcast_to(np.asarray(layer.scale, np.float64), (channels,))
    offset = np.broadcast_to(np.asarray(layer.offset, np.float64), (channels,))
    return scale, offset


def _bn_affine(bn: layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    """BatchNorm at inference as per-channel (scale, shift)."""
    mean, var = (np.asarray(w, np.float64) for w in (bn.moving_mean, bn.moving_variance))
    scale = 1 / np.sqrt(var + bn.epsilon)
    if bn.scale:
        scale = scale * np.asarray(bn.gamma, np.float64)
    shift = -mean * scale + (np.asarray(bn.beta, np.float64) if bn.center else 0.0)
    return scale, shift


def _linear(layer: layers.Layer) -> bool:
    """Whether ``layer`` has no activation of its own (an affine map after it then folds into its weights)."""
    return layer.get_config().get("activation") == "linear"


def _clone(layer: layers.Layer, **changes) -> layers.Layer:
    return layer.__class__.from_config({**layer.get_config(), **changes})


def _emit_pending(x, pending):
    """Apply a per-channel (scale, offset) that no layer absorbed, as one Rescaling."""
    if pending is None:
        return x
    return layers.Rescaling(pending[0].astype(np.float32).tolist(), pending[1].astype(np.float32).tolist())(x)


def _weights(layer: layers.Layer) -> tuple[np.ndarray, np.ndarray]:
    """A convolution's or dense layer's kernel and bias (zeros where it has none), in float64."""
    kernel = np.asarray(layer.kernel, np.float64)
    return kernel, np.asarray(layer.bias, np.float64) if layer.use_bias else np.zeros(kernel.shape[-1])


def _dense_like(layer: layers.Layer, x, kernel: np.ndarray, bias: np.ndarray):
    """``layer`` rebuilt with a bias and the given weights, applied to ``x``."""
    new = _clone(layer, use_bias=True, kernel_initializer="zeros", bias_initializer="zeros")
    y = new(x)
    new.kernel.assign(kernel.astype(np.float32))
    new.bias.assign(bias.astype(np.float32))
    return y


def fold(model: keras.Model) -> keras.Model:
    """A model computing the same as ``model`` with the affine layers folded in where that is exact (see the
    module docstring); the rest is kept as it is. Raises ValueError for a model that is not a chain of layers."""
    chain = _chain(model)
    x = inputs = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype, name=model.inputs[0].name)
    pending = None  # a per-channel (scale, offset) still to apply, from Rescaling layers before a convolution
    i = 0
    while i < len(chain):
        layer, after = chain[i], chain[i + 1 : i + 3]
        channels = x.shape[-1]
        if isinstance(layer, layers.Dropout):
            i += 1
        elif isinstance(layer, layers.Rescaling):
            scale, offset = _affine(layer, channels)
            if pending is not None:  # a·(s·x + o) + c
                scale, offset = pending[0] * scale, pending[1] * scale + offset
            pending = (scale, offset)
            i += 1
        elif isinstance(layer, layers.Conv2D):
            kernel, bias = _weights(layer)  # kernel [kh, kw, in, out]
            if pending is not None and (layer.padding == "valid" or not np.any(pending[1])):
                # zero padding stays zero under a pure scale; an offset would shift the border taps
                bias = bias + np.einsum("hwio,i->o", kernel, pending[1])
                kernel = kernel * pending[0][None, None, :, None]
                pending = None
            x = _emit_pending(x, pending)
            pending = None
            pool = after[0] if after and isinstance(after[0], layers.MaxPooling2D) else None
            bn = after[1 if pool else 0] if len(after) > (1 if pool else 0) else None
            folds = isinstance(bn, layers.BatchNormalization) and _linear(layer)
            if folds:
                scale, shift = _bn_affine(bn)
                folds = pool is None or bool((scale > 0).all())  # max-pool commutes with x·s + t only for s > 0
            if folds:
                kernel, bias = kernel * scale, bias * scale + shift
            x = _dense_like(layer, x, kernel, bias)
            if folds and pool is not None:
                x = _clone(pool)(x)
            i += 1 + (2 if folds and pool is not None else 1 if folds else 0)
        elif isinstance(layer, layers.Dense) and pending is None:
            kernel, bias = _weights(layer)
            logit_scale = after[0] if after and isinstance(after[0], layers.Rescaling) else None
            if logit_scale is not None and not np.any(logit_scale.offset) and _linear(layer):
                scale, _ = _affine(logit_scale, kernel.shape[-1])
                kernel, bias = kernel * scale, bias * scale
                i += 1
            x = _dense_like(layer, x, kernel, bias)
            i += 1
        else:
            x = _emit_pending(x, pending)
            pending = None
            new = _clone(layer)
            x = new(x)
            new.set_weights(layer.get_weights())
            i += 1
    return keras.Model(inputs, _emit_pending(x, pending), name=f"{model.name}_folded")
