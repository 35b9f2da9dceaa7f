"""Classify an image with a zoo ONNX model, using onnxruntime, NumPy and Pillow alone (no TensorFlow, no zoo).

    python classify_onnx.py saved_models/lenet5-mnist/model.onnx digit.png [more.png ...] [--invert | --no-invert]

The model takes raw uint8 images [batch, H, W, C] as `images` and returns `probabilities`;
its metadata holds the class names as JSON under `class_names`. Images are fitted to the model by zoo's rule
(prepare.py, beside this file).
"""

import argparse
import json

import numpy as np
import onnxruntime as ort
from prepare import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
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
    pixels = np.stack([prepare(path, height, width, channels, names, args.invert)[0] for path in args.images])
    for path, probs in zip(args.images, session.run(["probabilities"], {"images": pixels})[0], strict=True):
        if len(args.images) > 1:
            print(path)
        for i in probs.argsort()[::-1][:3]:
            print(f"{names[i]}\t{probs[i]:.4f}")


if __name__ == "__main__":
    main()
