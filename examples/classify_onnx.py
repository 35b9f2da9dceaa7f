"""Classify an image with a zoo ONNX model, using onnxruntime, NumPy and Pillow alone (no TensorFlow, no zoo).

    python classify_onnx.py saved_models/lenet5-mnist/model.onnx digit.png [--invert | --no-invert]

The model takes raw uint8 images [batch, H, W, C] as `images` and returns `probabilities`;
its metadata holds the class names as JSON under `class_names`.
"""

import argparse
import json

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("image")
    parser.add_argument(
        "--invert",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="invert the image (default: when a one-channel model gets a light-background image)",
    )
    args = parser.parse_args()

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    _, height, width, channels = session.get_inputs()[0].shape
    names = json.loads(session.get_modelmeta().custom_metadata_map["class_names"])
    image = Image.open(args.image).convert("L" if channels == 1 else "RGB").resize((width, height))
    # As `zoo predict` does: a one-channel (MNIST-style, light-on-dark) model gets a light-background image inverted.
    invert = args.invert if args.invert is not None else channels == 1 and np.asarray(image).mean() > 127
    if invert:
        image = ImageOps.invert(image)
    pixels = np.asarray(image, np.uint8).reshape(1, height, width, channels)
    probs = session.run(["probabilities"], {"images": pixels})[0][0]
    for i in probs.argsort()[::-1][:3]:
        print(f"{names[i]}\t{probs[i]:.4f}")


if __name__ == "__main__":
    main()
