"""How far int8 activation ranges should be clipped (percentile calibration): top-1 agreement with Keras per quantile.

    python benchmarks/int8_clip.py saved_models/cifar_cnn-cifar10 [--quantiles 0 1e-4 3e-5 1e-5 3e-6 1e-6]
                                   [--save benchmarks/results/int8_clip_cifar_cnn.json]

Each quantile is written as ``zoo export --quantize int8`` writes it (``tflite.INT8_CLIP_QUANTILE`` set to it; 0 is
LiteRT's own min/max calibration) and scored on 5,000 train images outside the 500 calibration ones (where the
quantile is chosen: agreement needs no labels) and on test images 5,000-6,999; the export's own parity check, on
the first 1,000 test images, is left to ``zoo export``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import keras

from zoo import artifacts, data
from zoo.device import cpu_name, vector_isa
from zoo.export import tflite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--quantiles", type=float, nargs="+", default=[0.0, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6])
    parser.add_argument("--save", help="also write the figures to this JSON file")
    args = parser.parse_args()
    model = keras.saving.load_model(f"{args.model_dir}/model.keras", compile=False, safe_mode=True)
    card = artifacts.read_card(args.model_dir)
    test, _ = data.load_arrays(card.dataset, "test", None)
    # The export calibrates on the first 500 train images of calibration_images' order: the next 5,000 never were.
    sets = {"train_held_out": tflite.calibration_images(card, count=5500)[500:], "test_5000_6999": test[5000:7000]}
    reference = {k: model.predict(data.normalize(v), batch_size=500, verbose=0).argmax(1) for k, v in sets.items()}
    rows = []
    for quantile in args.quantiles:
        tflite.INT8_CLIP_QUANTILE = quantile
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model_int8.tflite"
            tflite.write_tflite_int8(model, card, path)
            run = tflite.run_tflite(path)
            agree = {k: float((run(v).argmax(1) == reference[k]).mean()) for k, v in sets.items()}
        row = {"quantile": quantile, **agree}
        rows.append(row)
        print(f"quantile {quantile:g}: " + ", ".join(f"{k} {100 * row[k]:.2f} %" for k in sets), flush=True)
    result = {
        "model": card.model,
        "sets": {"train_held_out": "5,000 held-out train images", "test_5000_6999": "test images 5,000-6,999"},
        "quantiles": rows,
        "cpu": f"{cpu_name()} ({vector_isa()})",
        "command": "python benchmarks/int8_clip.py " + " ".join(sys.argv[1:]),
    }
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
