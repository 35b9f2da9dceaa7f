"""Score a saved model on a labelled test set given as an .npz (uint8 ``x`` [N, H, W, C], int ``y`` [N]).

Made for the CIFAR-10 test images with their original pixels, next to the JPEG-rebuilt copy the models are trained
and scored on: a figure to report, never to select or tune on.

    python benchmarks/original_pixels.py saved_models/cifar_cnn-cifar10 original.npz [--write]

Prints the accuracy without and with test-time augmentation; ``--write`` also records both in the model's card
(``metrics.original_pixels_accuracy`` and ``..._tta``, with ``examples.original_pixels``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from zoo import artifacts
from zoo.evaluation import predict_probs, scores


def score(model_dir: str, npz: str) -> dict[str, float]:
    model, _ = artifacts.load(model_dir)
    d = np.load(npz)  # plain arrays: np.load refuses pickled objects by default
    x, y = d["x"], d["y"].astype(np.int64)
    return {
        "original_pixels_accuracy": scores(predict_probs(model, x, y), y)[1],
        "original_pixels_accuracy_tta": scores(predict_probs(model, x, y, tta=True), y)[1],
        "images": len(y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("npz")
    parser.add_argument("--write", action="store_true", help="record the figures in the model's card")
    args = parser.parse_args()
    result = score(args.model_dir, args.npz)
    print(json.dumps({"model": args.model_dir, **result}))
    if args.write:
        card = artifacts.read_card(args.model_dir)
        images = result.pop("images")
        card.metrics.update(result)
        card.examples["original_pixels"] = images
        artifacts.write_card(args.model_dir, card)


if __name__ == "__main__":
    main()
