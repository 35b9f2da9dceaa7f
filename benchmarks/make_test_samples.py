"""Write tests/data/real_samples.npz: the first 200 test images of MNIST, Fashion-MNIST and CIFAR-10 with their labels,
so that a hermetic test can check each shipped model's accuracy on real images against its card's figure.

    python benchmarks/make_test_samples.py [--data-dir DIR]
The first 200 of each test split, as tfds orders them: none is chosen by how a model does on it.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoo import data  # noqa: E402

COUNT = 200
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "real_samples.npz"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    arrays = {}
    for name in ("mnist", "fashion_mnist", "cifar10"):
        images, labels = data.load_arrays(name, "test", args.data_dir)
        arrays[f"{name}_images"], arrays[f"{name}_labels"] = images[:COUNT], labels[:COUNT].astype(np.uint8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"{OUT}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
