"""Score a saved model on a labelled test set given as an .npz (uint8 ``x`` [N, H, W, C], int ``y`` [N]).

Made for the CIFAR-10 test images with their original pixels, next to the JPEG-rebuilt copy the models are trained
and scored on: a figure to report, never to select or tune on.

    python benchmarks/original_pixels.py saved_models/cifar_cnn-cifar10 original.npz [--write]

Prints the accuracy without and with test-time augmentation, on the original pixels and, like for like, on the same
images' copies in the dataset's test split (each original matched to its nearest test image, PSNR shown);
``--write`` also records them in the model's card (``metrics.original_pixels_accuracy``,
``original_pixels_copies_accuracy``, each with ``_tta``, and ``examples.original_pixels``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from zoo import artifacts, data
from zoo.evaluation import predict_probs, scores


def match_copies(originals: np.ndarray, split: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each original image, the index of the nearest image of ``split`` (squared error) and its PSNR in dB."""
    a = originals.reshape(len(originals), -1).astype(np.float64)
    b = split.reshape(len(split), -1).astype(np.float64)
    distances = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    nearest = distances.argmin(1)
    mse = np.maximum(distances[np.arange(len(a)), nearest], 1e-9) / a.shape[1]
    return nearest, 10 * np.log10(255**2 / mse)


def score(model_dir: str, npz: str, data_dir: str | None = None) -> dict[str, float]:
    model, card = artifacts.load(model_dir)
    d = np.load(npz)  # plain arrays: np.load refuses pickled objects by default
    x, y = d["x"], d["y"].astype(np.int64)
    copies_x, copies_y = data.load_arrays(card.dataset, "test", data_dir)
    nearest, psnr = match_copies(x, copies_x)
    copies = copies_x[nearest]
    result = {"images": len(y), "labels_agree": float((copies_y[nearest] == y).mean())}
    result.update({"copies_psnr_median": float(np.median(psnr)), "copies_psnr_min": float(psnr.min())})
    for name, images in (("original_pixels", x), ("original_pixels_copies", copies)):
        result[f"{name}_accuracy"] = scores(predict_probs(model, images, y), y)[1]
        result[f"{name}_accuracy_tta"] = scores(predict_probs(model, images, y, tta=True), y)[1]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("npz")
    parser.add_argument("--data-dir", help="tensorflow-datasets data folder (tfds' default if unset)")
    parser.add_argument("--write", action="store_true", help="record the figures in the model's card")
    args = parser.parse_args()
    result = score(args.model_dir, args.npz, args.data_dir)
    print(json.dumps({"model": args.model_dir, **result}))
    if args.write:
        card = artifacts.read_card(args.model_dir)
        images = result["images"]
        card.metrics.update({k: v for k, v in result.items() if k.endswith(("accuracy", "accuracy_tta"))})
        card.examples["original_pixels"] = images
        artifacts.write_card(args.model_dir, card)


if __name__ == "__main__":
    main()
