"""Image files, PIL images or arrays → the model's input → top-k classes.

The rule for fitting an image to a model: convert it to the model's channels (grayscale ``L`` for one
channel, ``RGB`` for three; alpha is dropped), then resize the whole image to the model's H×W with
bilinear filtering (the aspect ratio is not kept). Models trained on MNIST-style data (light digits on a
dark background) get white-background images inverted: ``invert="auto"`` does so when the image's mean
brightness is over half, ``True``/``False`` force it.
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
from zoo.errors import UsageError, ZooError

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


MAX_PIXELS = 50_000_000  # an image larger than this is refused before it is decoded


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
    except OSError as err:
        raise ZooError(f"{path}: unreadable image ({err})") from None


def prepare_image(image: ImageLike, input_shape: Sequence[int], invert: bool | str = "auto") -> tuple[np.ndarray, bool]:
    """One image as the model's uint8 input ``[H, W, C]``, and whether it was inverted."""
    from PIL import Image, ImageOps

    height, width, channels = input_shape
    img = to_pil(image)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        img = background
    img = img.convert("L" if channels == 1 else "RGB")
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    flip = bool(np.asarray(img).mean() > 127) if invert == "auto" else bool(invert)
    if flip:
        img = ImageOps.invert(img)
    array = np.asarray(img, np.uint8)
    return (array[..., None] if channels == 1 else array), flip


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
    if top_k < 1:
        raise UsageError(f"`top_k` must be positive, got {top_k}")
    from PIL import Image

    if isinstance(images, (str, os.PathLike, np.ndarray, Image.Image)):
        images = [images]
    model, card = pretrained.load(model_dir)
    if invert is None:
        invert = "auto" if card.dataset in DARK_BACKGROUND_DATASETS else False
    if top_k > card.num_classes:
        raise UsageError(f"`top_k` must be between 1 and {card.num_classes} (the model's classes), got {top_k}")
    names = card.class_names or [str(i) for i in range(card.num_classes)]
    results: list[Prediction] = []
    batch, slots = [], []
    for i, image in enumerate(images):
        source = str(image) if isinstance(image, (str, os.PathLike)) else f"<{type(image).__name__} #{i}>"
        try:
            array, flipped = prepare_image(image, card.input_shape, invert)
        except ZooError as err:
            results.append(Prediction(source, error=str(err)))
            continue
        results.append(Prediction(source, inverted=flipped))
        batch.append(array)
        slots.append(len(results) - 1)
    if batch:
        probs = model.predict(np.stack(batch), verbose=0)  # raw uint8 pixels: the model rescales them
        k = min(top_k, probs.shape[1])
        for slot, p in zip(slots, probs, strict=True):
            order = np.argsort(-p)[:k]
            results[slot].top_k = [
                {"class_id": int(c), "class_name": names[c], "probability": float(p[c])} for c in order
            ]
    return results
