"""Where a cifar_cnn int8 export loses its agreement: each quantized tensor's error, then the worst kept in float.

    python benchmarks/int8_layers.py saved_models/cifar_cnn-cifar10 [--keep 0 1 2 3 4 6]

The model is folded as ``zoo export --quantize int8`` folds it and calibrated on the same 500 train images. LiteRT's
quantization debugger prints each quantized tensor's RMSE over its quantization scale (uniform rounding alone gives
1/sqrt(12) = 0.29); then, for each K, the K tensors with the largest error are kept in float and the top-1 agreement
with Keras is measured on test images 5,000-6,999 (not the first 1,000 the export's parity check uses).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile

import keras
import numpy as np
import tensorflow as tf

from zoo import artifacts, data
from zoo.export import tflite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--keep", type=int, nargs="+", default=[0, 1, 2, 3, 4, 6])
    args = parser.parse_args()
    model = keras.saving.load_model(f"{args.model_dir}/model.keras", compile=False, safe_mode=True)
    images, _ = data.load_arrays("cifar10", "test", None)
    test = images[5000:7000]
    reference = model.predict(data.normalize(test), batch_size=500, verbose=0).argmax(1)  # model.keras: pixels / 255
    card = artifacts.read_card(args.model_dir)
    calibration = tflite.calibration_images(card)  # the export's own 500

    def samples(count: int):
        return lambda: ([image[None].astype(np.float32)] for image in calibration[:count])

    with tflite.quantizing_converters(model, card) as converter:
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter(), debug_dataset=samples(100))
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
        dump.seek(0)
        rows = list(csv.DictReader(dump))
        for row in rows:
            scale = float(row["scale"])
            row["error"] = float(row["mean_squared_error"]) ** 0.5 / scale if scale else 0.0
        rows.sort(key=lambda row: -row["error"])
        for row in rows:
            print(f"{row['error']:.3f} {row['op_name']} {row['tensor_name'].split(';')[0]}")
        results = {}
        for k in args.keep:
            in_float = [r["tensor_name"] for r in rows[:k]]
            options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=in_float)
            model_bytes = tf.lite.experimental.QuantizationDebugger(
                converter=converter(), debug_dataset=samples(10), debug_options=options
            ).get_nondebug_quantized_model()
            with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
                f.write(model_bytes)
                f.flush()
                agreement = float((tflite.run_tflite(f.name)(test).argmax(1) == reference).mean())
            results[k] = {"agreement": agreement, "in_float": [name.split(";")[0] for name in in_float]}
            print(k, f"{100 * agreement:.2f} %", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
