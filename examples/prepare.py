"""zoo's rule for fitting an image to a model, for apps that do not import zoo (NumPy and Pillow only).

The same rule as `zoo predict` and `zoo serve` (zoo/prediction.py): convert to the model's channels (transparency
over white), invert a one-channel model's light-background image, then resize to the model's size with Pillow's
bilinear filter (antialiased when shrinking; the aspect is not kept). A model whose classes are the ten digits
gets a digit framed as MNIST's were: its ink scaled to fit 20x20, centred by mass in 28x28. An image already of the
model's size is used as it is.
"""

import numpy as np
from PIL import Image, ImageOps

DIGITS = [str(i) for i in range(10)]


def prepare(path: str, height: int, width: int, channels: int, names: list[str], invert: bool | None = None):
    """The image at ``path`` as the model's raw uint8 input [H, W, C], and whether it was inverted."""
    image = ImageOps.exif_transpose(Image.open(path))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = background
    image = image.convert("L" if channels == 1 else "RGB")
    if invert is None:  # MNIST-style models (one channel, light on dark) get a light-background image inverted
        invert = channels == 1 and np.asarray(image).mean() > 127
    if invert:
        image = ImageOps.invert(image)
    if image.size != (width, height):
        digit = channels == 1 and list(names) == DIGITS
        image = frame_digit(image, height, width) if digit else image.resize((width, height), Image.BILINEAR)
    pixels = np.asarray(image, np.uint8)
    return pixels.reshape(height, width, channels), bool(invert)


def frame_digit(image, height: int, width: int):
    """A light-on-dark digit framed as MNIST's: ink cropped, scaled to fit 20x20, centre of mass at the centre."""
    pixels = np.asarray(image, np.float32)
    ink = pixels > 0.1 * pixels.max()
    if pixels.max() == 0 or not ink.any():
        return image.resize((width, height), Image.BILINEAR)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = image.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    scale = 20 * min(height, width) / 28 / max(crop.size)
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    digit = np.asarray(crop.resize(size, Image.BILINEAR), np.float32)
    ys, xs = np.indices(digit.shape)
    total = digit.sum()
    cy, cx = ((ys * digit).sum() / total, (xs * digit).sum() / total) if total else (size[1] / 2, size[0] / 2)
    top = int(np.clip(round(height / 2 - cy), 0, height - size[1]))
    left = int(np.clip(round(width / 2 - cx), 0, width - size[0]))
    canvas = Image.new("L", (width, height), 0)
    canvas.paste(Image.fromarray(digit.astype(np.uint8)), (left, top))
    return canvas
