"""Classify an image with a zoo SavedModel, using TensorFlow alone (no zoo import).

    python classify_savedmodel.py saved_models/lenet5-mnist/savedmodel digit.png [--invert | --no-invert]

The SavedModel's serving_default takes raw uint8 images [batch, H, W, C] and returns probabilities,
class_id and class_name; its class_names signature lists every class.
"""

import argparse

import tensorflow as tf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("savedmodel")
    parser.add_argument("image")
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
    image = tf.io.decode_image(tf.io.read_file(args.image), channels=3, expand_animations=False)
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    image = tf.cast(tf.round(tf.image.resize(image, (height, width))), tf.uint8)
    # As `zoo predict` does: a one-channel (MNIST-style, light-on-dark) model gets a light-background image inverted.
    mean = float(tf.reduce_mean(tf.cast(image, tf.float32)))
    invert = args.invert if args.invert is not None else channels == 1 and mean > 127
    if invert:
        image = 255 - image
    out = serve(images=image[None])
    probs = out["probabilities"][0].numpy()
    names = [n.decode() for n in loaded.signatures["class_names"]()["class_names"].numpy()]
    for i in probs.argsort()[::-1][:3]:
        print(f"{names[i]}\t{probs[i]:.4f}")


if __name__ == "__main__":
    main()
