"""Re-save shipped model folders of card schema 2 (raw pixels in, a ``rescale`` first layer) as schema 3 (pixels / 255
in, as zoo.data's loaders give): the same weights in the builder's model without the layer, checked to give the same
probabilities (new(x / 255) against old(x), to float round-off) before anything is written. The exports are then
re-made with ``zoo export`` (their parity checks run there), and tags.py takes the new SHA-256s.

    python benchmarks/resave_unit_input.py saved_models/*/ [--data-dir DIR]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from zoo import artifacts, atomic, data, models  # noqa: E402
from zoo.card import SCHEMA_VERSION  # noqa: E402
from zoo.registry import PREPROCESSING  # noqa: E402

TOLERANCE = 1e-5  # max |dprob| between the old model on raw pixels and the new one on pixels / 255


def resave(folder: Path, data_dir: str | None) -> None:
    card = artifacts.read_card(folder)
    if not card.pixels_in_model:
        print(f"{folder}: schema {card.schema_version}, takes [0, 1] already; left as it is")
        return
    old = keras.saving.load_model(folder / artifacts.MODEL_FILE, compile=False, safe_mode=True)
    new = models.create(card.model, input_shape=tuple(card.input_shape), num_classes=card.num_classes)
    new.set_weights(old.get_weights())
    try:
        images, _ = data.load_arrays(card.dataset, "test", data_dir)
        images = images[:2000]
    except Exception:  # noqa: BLE001  (no real data: random pixels still compare the two functions)
        images = np.random.default_rng(0).integers(0, 256, (256, *card.input_shape), dtype=np.uint8)
    gap = float(np.abs(old.predict(images, verbose=0) - new.predict(data.normalize(images), verbose=0)).max())
    if gap > TOLERANCE:
        raise SystemExit(f"{folder}: the re-saved model differs by {gap:.2e} (> {TOLERANCE:g}); nothing written")
    card.preprocessing = dict(PREPROCESSING)
    card.schema_version = SCHEMA_VERSION
    card.exports = {}  # re-made by zoo export, with their parity checks
    extra = {name: (folder / name).read_bytes() for name in ("curves.png",) if (folder / name).is_file()}
    history = artifacts.read_history(folder) if (folder / artifacts.HISTORY_FILE).is_file() else None
    artifacts.save(folder, new, card, history, overwrite=True, extra_files=extra)
    digest = atomic.sha256(folder / artifacts.MODEL_FILE)
    print(f"{folder}: re-saved, max |dprob| {gap:.2e} on {len(images)} images; sha256 {digest}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    for folder in args.folders:
        resave(folder, args.data_dir)


if __name__ == "__main__":
    main()
