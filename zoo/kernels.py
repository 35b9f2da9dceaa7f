"""The classic 3×3 image kernels of the course, applied with ``tf.nn.conv2d`` (cross-correlation, as in CNNs)."""

from __future__ import annotations

import numpy as np

from zoo.atomic import atomic_file
from zoo.errors import UnknownNameError, UsageError
from zoo.prediction import to_pil

KERNELS: dict[str, np.ndarray] = {
    "blur": np.full((3, 3), 1 / 9),
    "edge": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]]),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "sobel-x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel-y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
}


def get_kernel(name: str) -> np.ndarray:
    if name not in KERNELS:
        raise UnknownNameError("kernel", name, list(KERNELS))
    return KERNELS[name]


def convolve(image: np.ndarray, kernel: np.ndarray, padding: str = "VALID") -> np.ndarray:
    """Slide ``kernel`` over a 2-D ``image`` (no flip, stride 1) with ``tf.nn.conv2d``; float64 in and out."""
    import tensorflow as tf

    image, kernel = np.asarray(image, np.float64), np.asarray(kernel, np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise UsageError(f"convolve takes a 2-D image and kernel, got {image.shape} and {kernel.shape}")
    out = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], strides=1, padding=padding)
    return out.numpy()[0, :, :, 0]


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def max_pool(image: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling of a 2-D array with ``tf.nn.max_pool2d``."""
    import tensorflow as tf

    image = np.asarray(image, np.float64)
    return tf.nn.max_pool2d(image[None, :, :, None], size, stride, "VALID").numpy()[0, :, :, 0]


def filter_image(path: str, kernel: str, output: str) -> tuple[int, int]:
    """Apply a named kernel to an image file (as grayscale, 'same' size, zero padded) and save a PNG.

    Blur and sharpen are clipped to 0..255; edge and Sobel responses are shown as their absolute value.
    """
    from PIL import Image

    k = get_kernel(kernel)
    gray = np.asarray(to_pil(path).convert("L"), np.float64)
    out = convolve(gray, k, padding="SAME")
    if kernel not in ("blur", "sharpen"):
        out = np.abs(out)
    pixels = np.clip(np.round(out), 0, 255).astype(np.uint8)
    with atomic_file(output) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")
    return pixels.shape
