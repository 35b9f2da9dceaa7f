"""Check that `zoo data import` gives the same dataset as a tfds download (counts and pixels).

python benchmarks/compare_import.py IMPORTED_DATA_DIR [REFERENCE_DATA_DIR] [NAME ...]
"""

import sys

import numpy as np

from zoo.data import load_arrays

imported, reference = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
for name in sys.argv[3:] or ["mnist", "fashion_mnist"]:
    for split in ("train", "test"):
        xa, ya = load_arrays(name, split, imported)
        xb, yb = load_arrays(name, split, reference)
        order_a, order_b = np.lexsort((ya,)), np.lexsort((yb,))
        same_order = np.array_equal(xa, xb) and np.array_equal(ya, yb)
        # Independent of record order: sort both by (label, pixel bytes) and compare.
        key = lambda x, y: sorted(zip(y.tolist(), (img.tobytes() for img in x), strict=True))  # noqa: E731
        same_set = key(xa, ya) == key(xb, yb)
        print(
            f"{name} {split}: {len(ya)} vs {len(yb)} examples; identical in order: {same_order}; "
            f"same (label, pixels) multiset: {same_set}"
        )
