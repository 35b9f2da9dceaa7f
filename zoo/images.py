"""Images of any size and colour made into what a model takes: one rule, used by training, ``predict`` and ``serve``.

A dataset trained with an image size (``--image-size H,W``, or images of mixed sizes) reaches the model through
:func:`fit_image`: scaled with its aspect kept until it covers H x W (bilinear, antialiased when shrinking), then
cropped at the centre, so nothing is stretched and a little of the longer side is cut. Colour is converted by
:func:`to_channels`: grey to RGB repeats the channel, RGB to grey is the luma (0.299 R + 0.587 G + 0.114 B).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

MAX_PIXELS = 50_000_000  # an image larger than this is refused by its header, before it is decoded
RESIZE_RULE = "aspect kept, scaled to cover (bilinear, antialiased), centre crop"
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what a folder dataset reads (case-insensitive)


def to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """uint8 ``[H, W, C]`` (C of 1, 2, 3 or 4; alpha dropped) → uint8 ``[H, W, channels]`` (1 or 3)."""
    import tensorflow as tf

    have = image.shape[-1]
    if have in (2, 4):
        image, have = image[..., : have - 1], have - 1
    if have == channels:
        return image
    if channels == 3:
        return tf.tile(image, [1, 1, 3])
    grey = tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))
    return tf.cast(tf.clip_by_value(tf.round(grey), 0, 255), tf.uint8)


def fit_image(image: tf.Tensor, size: Sequence[int]) -> tf.Tensor:
    """uint8 ``[h, w, C]`` of any size → uint8 ``[H, W, C]`` by :data:`RESIZE_RULE`; an image of that size
    already is returned as it is."""
    import tensorflow as tf

    height, width = int(size[0]), int(size[1])
    shape = tf.shape(image)

    def resized():
        h, w = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
        scale = tf.maximum(height / h, width / w)
        new_h = tf.maximum(height, tf.cast(tf.math.round(h * scale), tf.int32))
        new_w = tf.maximum(width, tf.cast(tf.math.round(w * scale), tf.int32))
        big = tf.image.resize(image, tf.stack([new_h, new_w]), method="bilinear", antialias=True)
        top, left = (new_h - height) // 2, (new_w - width) // 2
        crop = big[top : top + height, left : left + width]
        return tf.cast(tf.clip_by_value(tf.round(crop), 0, 255), tf.uint8)

    same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
    out = tf.cond(same, lambda: image, resized)
    return tf.ensure_shape(out, [height, width, image.shape[-1]])


def fit_array(image: np.ndarray, size: Sequence[int], channels: int) -> np.ndarray:
    """A uint8 NumPy image ``[h, w]`` or ``[h, w, C]`` through :func:`to_channels` and :func:`fit_image`."""
    import tensorflow as tf

    array = image[..., None] if image.ndim == 2 else image
    return fit_image(to_channels(tf.constant(array, tf.uint8), channels), size).numpy()


def decode(contents: tf.Tensor, channels: int, size: Sequence[int]) -> tf.Tensor:
    """An encoded PNG, JPEG, BMP or GIF (first frame) → uint8 ``[H, W, channels]`` by the rules above."""
    import tensorflow as tf

    image = tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False)
    image = tf.ensure_shape(image, [None, None, 3])
    return fit_image(to_channels(image, channels), size)
