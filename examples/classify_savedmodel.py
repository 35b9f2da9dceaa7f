"""Classify images with a zoo SavedModel, using TensorFlow, NumPy and Pillow (no zoo import).

    python classify_savedmodel.py saved_models/lenet5-mnist/savedmodel digit.png [more.png ...] [--invert | --no-invert]

The SavedModel's serving_default takes raw uint8 images [batch, H, W, C] and returns probabilities,
class_id and class_name; its class_names signature lists every class. Images are fitted to the model by zoo's rule
(prepare.py, beside this file).
"""

import argparse

import numpy as np
import tensorflow as tf
from prepare import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("savedmodel")
    parser.add_argument("images", nargs="+")
    parser.add_argument(
        "--invert",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="invert the image (default: when a one-channel model gets a light-background image)",
    )
    args = parser.parse_args()

    loaded = tf.saved_model.load(args.savedmodel)
    serve = loaded.signatures["serving_default"]
    _, height, width, channels = serve.structured_input_signature[1]["images"].shape
    names = [n.decode() for n in loaded.signatures["class_names"]()["class_names"].numpy()]
    pixels = np.stack([prepare(path, height, width, channels, names, args.invert)[0] for path in args.images])
    for path, probs in zip(args.images, serve(images=tf.constant(pixels))["probabilities"].numpy(), strict=True):
        if len(args.images) > 1:
            print(path)
        for i in probs.argsort()[::-1][:3]:
            print(f"{names[i]}\t{probs[i]:.4f}")


if __name__ == "__main__":
    main()
