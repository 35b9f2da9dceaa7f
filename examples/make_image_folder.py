"""Write some of a tfds dataset's images as a folder of files, the layout ``zoo train --dataset FOLDER`` reads:
``ROOT/train/<class>/*.png`` and ``ROOT/test/<class>/*.png``. A way to try the folder path with no photos at hand.

    python examples/make_image_folder.py fashion_mnist clothes --per-class 100 [--test-per-class 20]
                                         [--format png|jpg] [--data-dir DIR]

The images are the first ones of each class in the dataset's train and test splits, as they are (no resizing).
An existing ROOT is refused, so nothing of yours is overwritten.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a tfds image-classification dataset: mnist, fashion_mnist, cifar10, ...")
    parser.add_argument("root", type=Path, help="the folder to write (must not exist)")
    parser.add_argument("--per-class", type=int, default=100, help="training images per class (default 100)")
    parser.add_argument("--test-per-class", type=int, default=20, help="test images per class (default 20)")
    parser.add_argument("--format", choices=("png", "jpg"), default="png")
    parser.add_argument("--data-dir", default=None, help="tensorflow-datasets data folder")
    args = parser.parse_args()
    if args.root.exists():
        sys.exit(f"make_image_folder: {args.root} exists; name a new folder")
    from zoo import data

    info = data.dataset_info(args.dataset, args.data_dir)
    names = [name.replace("/", "-") for name in info.class_names]  # "T-shirt/top" is not a folder name
    partial = args.root.with_name(f".{args.root.name}.partial")
    for split, count in (("train", args.per_class), ("test", args.test_per_class)):
        images, labels = data.load_arrays(args.dataset, split, args.data_dir)
        for label, name in enumerate(names):
            folder = partial / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, index in enumerate((labels == label).nonzero()[0][:count]):
                Image.fromarray(images[index].squeeze(-1) if images.shape[-1] == 1 else images[index]).save(
                    folder / f"{i:05d}.{args.format}"
                )
    partial.rename(args.root)  # whole, or not at all
    print(f"Wrote {args.root}: {len(names)} classes, {args.per_class} train and {args.test_per_class} test images each")


if __name__ == "__main__":
    main()
