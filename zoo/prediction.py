"""Image files, PIL images or arrays → the model's input → top-k classes.

The rule for fitting an image to a model, the same in ``zoo predict``, ``zoo serve`` and the examples: convert it
to the model's channels (grayscale ``L`` for one channel, ``RGB`` for three; transparency over white), invert it
where asked (``invert="auto"`` for models trained on MNIST-style data, light on dark: when the image's mean
brightness is over half), then resize the whole image to the model's H×W with Pillow's bilinear filter, which
antialiases when it shrinks (the aspect ratio is not kept). An image of exactly the model's size is used as it is.

A model trained on MNIST gets any other image framed as MNIST's digits were: the ink's bounding box scaled, aspect
kept, to fit a 20×20 box, then placed in the 28×28 image with its centre of mass at the centre, so that a digit
drawn small or off-centre reads as it would in the dataset.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from zoo import pretrained
from zoo.data import normalize
from zoo.errors import ArgumentTypeError, UsageError, ZooError, first_line
from zoo.images import MAX_PIXELS, fit_array

if TYPE_CHECKING:
    from PIL import Image

ImageLike = Union[str, os.PathLike, "Image.Image", np.ndarray, bytes]  # bytes: an encoded file (an upload)
DARK_BACKGROUND_DATASETS = {"mnist", "fashion_mnist"}


@dataclass
class Prediction:
    """The top-k classes for one image, or the reason it could not be read."""

    source: str
    top_k: list[dict[str, Any]] = field(default_factory=list)
    inverted: bool = False
    error: str | None = None


def to_pil(image: ImageLike):
    """Open a path or an encoded file's bytes, or wrap an array (uint8 pixels; floats in [0, 1] are scaled by
    255), as a PIL image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        array = image.squeeze(-1) if image.ndim == 3 and image.shape[-1] == 1 else image
        if array.dtype != np.uint8:
            array = array * 255.0 if array.size and float(array.max()) <= 1.0 else array
            array = np.clip(np.round(array), 0, 255).astype(np.uint8)
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
            raise UsageError(f"an image array must be HxW, HxWx1, HxWx3 or HxWx4, got shape {image.shape}")
        return Image.fromarray(array)
    path: Any = "the upload" if isinstance(image, bytes) else Path(image)  # (an upload's messages name no path)
    source = io.BytesIO(image) if isinstance(image, bytes) else path
    try:
        with warnings.catch_warnings():  # PIL warns past its limit; zoo's own, lower limit refuses below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)  # reads the header only
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise ZooError(
                    f"{path}: {img.width}x{img.height} pixels is over the limit of "
                    f"{MAX_PIXELS // 1_000_000} megapixels (a decompression bomb?)"
                )
            img.load()
            # A camera or phone stores the picture as taken and says in its EXIF how to turn it; browsers and
            # viewers apply that, and so does zoo (a "1" stored sideways is still a 1).
            return ImageOps.exif_transpose(img)
    except FileNotFoundError:
        raise ZooError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ZooError(f"{path}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ZooError(f"{path}: not an image PIL can read (PNG, JPEG, BMP, GIF, ...)") from None
    except Image.DecompressionBombError:  # PIL's own, larger limit, checked as it opens the file
        raise ZooError(
            f"{path}: its header claims more pixels than the limit of {MAX_PIXELS // 1_000_000} "
            "megapixels (a decompression bomb?)"
        ) from None
    except ZooError:
        raise
    except OSError as err:
        raise ZooError(f"{path}: unreadable image ({first_line(err, 120)})") from None
    except Exception as err:  # noqa: BLE001  (PIL's decoders raise many types on a damaged file)
        raise ZooError(f"{path}: unreadable image ({type(err).__name__}: {first_line(err, 120)})") from None


def prepare_image(
    image: ImageLike,
    input_shape: Sequence[int],
    invert: bool | str = "auto",
    dataset: str | None = None,
    fit: bool = False,
) -> tuple[np.ndarray, bool]:
    """One image as the model's uint8 input ``[H, W, C]``, and whether it was inverted (``dataset``: the one the
    model was trained on; ``"mnist"`` frames digits as MNIST did). With ``fit`` (a model trained on a folder or
    with an image size: ``card.fits_images``), the image is fitted as its training images were (:mod:`zoo.images`:
    aspect kept, centre crop); else it is resized to the input size."""

    height, width, channels = input_shape
    img = to_pil(image)
    try:
        if fit:
            array = np.asarray(_opaque(img).convert("RGB"), np.uint8)
            return fit_array(array, (height, width), channels), False
        return _fit(img, height, width, channels, invert, dataset == "mnist")
    except Exception as err:  # noqa: BLE001  (a damaged image can fail as late as its conversion)
        name = (
            "the upload"
            if isinstance(image, bytes)
            else str(image)
            if isinstance(image, (str, os.PathLike))
            else "the image"
        )
        raise ZooError(f"{name}: unreadable image ({type(err).__name__}: {first_line(err, 120)})") from None


def _opaque(img):
    """A transparent image drawn on white (as a browser shows it); any other as it is."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return background
    return img


def _fit(img, height: int, width: int, channels: int, invert: bool | str, digit: bool) -> tuple[np.ndarray, bool]:
    from PIL import ImageOps

    img = _opaque(img).convert("L" if channels == 1 else "RGB")
    flip = bool(np.asarray(img).mean() > 127) if invert == "auto" else bool(invert)
    if flip:
        img = ImageOps.invert(img)
    if img.size != (width, height):
        img = frame_digit(img, height, width) if digit and channels == 1 else img.resize((width, height), BILINEAR)
    array = np.asarray(img, np.uint8)
    return (array[..., None] if channels == 1 else array), flip


BILINEAR = 2  # PIL.Image.Resampling.BILINEAR (antialiased when shrinking)
DIGIT_BOX = 20  # MNIST: each digit scaled to fit 20×20, centred by mass in 28×28


def frame_digit(img, height: int = 28, width: int = 28):
    """A light-on-dark grayscale digit framed as MNIST's: its ink (over a tenth of the brightest pixel) cropped,
    scaled to fit a 20×20 box with its aspect kept, and placed with its centre of mass at the image's centre."""
    from PIL import Image

    pixels = np.asarray(img, np.float32)
    ink = pixels > 0.1 * pixels.max() if pixels.max() > 0 else None
    if ink is None or not ink.any():
        return img.resize((width, height), BILINEAR)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = img.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    box = DIGIT_BOX * min(height, width) / 28
    scale = box / max(crop.size)
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    digit = np.asarray(crop.resize(size, BILINEAR), np.float32)
    total = digit.sum()
    ys, xs = np.indices(digit.shape)
    cy, cx = ((ys * digit).sum() / total, (xs * digit).sum() / total) if total else (size[1] / 2, size[0] / 2)
    top = int(np.clip(round(height / 2 - cy), 0, height - size[1]))
    left = int(np.clip(round(width / 2 - cx), 0, width - size[0]))
    canvas = Image.new("L", (width, height), 0)
    canvas.paste(Image.fromarray(digit.astype(np.uint8)), (left, top))
    return canvas


def predict(
    model_dir: str | os.PathLike,
    images: Sequence[ImageLike] | ImageLike,
    *,
    top_k: int = 3,
    invert: bool | str | None = None,
) -> list[Prediction]:
    """Top-k predictions for each image, in order.

    A batch of files is not lost to one bad file: an image that cannot be read or decoded comes back as a
    ``Prediction`` with ``error`` set (and no ``top_k``) and the others are still predicted; check ``error`` on
    each result. A bad argument or model (``top_k``, a missing model folder) raises as everywhere else.

    ``invert`` defaults to ``"auto"`` for models trained on MNIST-style data and ``False`` otherwise.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise ArgumentTypeError(f"`top_k` must be a whole number of classes, got {top_k!r}")
    if top_k < 1:
        raise UsageError(f"`top_k` must be positive, got {top_k}")
    from PIL import Image

    if isinstance(images, (str, os.PathLike, np.ndarray, Image.Image, bytes)):
        images = [images]
    if not isinstance(images, Sequence) or not images:
        raise ArgumentTypeError(
            f"`images` must be an image (a path, bytes of a file, a PIL image or an array) or a non-empty list of "
            f"them, got {type(images).__name__}"
        )
    model, card = pretrained.load(model_dir)
    if invert is None:
        invert = "auto" if card.dataset in DARK_BACKGROUND_DATASETS else False
    if top_k > card.num_classes:
        raise UsageError(f"`top_k` must be between 1 and {card.num_classes} (the model's classes), got {top_k}")
    names = card.labels
    results: list[Prediction] = []
    batch, slots = [], []
    for i, image in enumerate(images):
        source = str(image) if isinstance(image, (str, os.PathLike)) else f"<{type(image).__name__} #{i}>"
        try:
            array, flipped = prepare_image(image, card.input_shape, invert, card.dataset, card.fits_images)
        except ZooError as err:
            results.append(Prediction(source, error=str(err)))
            continue
        results.append(Prediction(source, inverted=flipped))
        batch.append(array)
        slots.append(len(results) - 1)
    if batch:
        probs = model.predict(normalize(np.stack(batch)), verbose=0)  # pixels / 255, as the loaders give
        for slot, p in zip(slots, probs, strict=True):
            results[slot].top_k = best(p, names, top_k)
    return results


def best(probs: np.ndarray, names: Sequence[str], k: int) -> list[dict[str, Any]]:
    """The ``k`` most probable classes of one image's ``probs``, most probable first: id, name and probability."""
    order = np.argsort(-probs, kind="stable")[: min(k, len(probs))]
    return [{"class_id": int(c), "class_name": names[c], "probability": float(probs[c])} for c in order]
