"""Where a training step of a zoo model goes: each layer's forward + backward timed alone, then the whole step,
and the whole step under a few settings (zoo's fast ops or Keras' own BatchNorm and GELU, XLA, GELU's tanh
approximation, batch size), side by side in one run.

    python benchmarks/step_profile.py [--model cifar_cnn] [--batch 1024] [--repeats 5] [--save FILE.json]

Each layer is timed as a tf.function computing its output and the gradients of their sum with respect to its
input and its trainable weights, on random inputs of the layer's real shape (BatchNorm in training mode; BatchNorm
and GELU with zoo.fastops, as ``zoo train`` runs them on CPUs). The whole step is ``train_on_batch`` with the
default recipe's optimizer. Medians of ``--repeats`` after a warm-up; the step variants take turns.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from zoo import models
from zoo.bench import machine
from zoo.fastops import use_fast_ops
from zoo.optim import compile_model
from zoo.tags import default_tag


def median_ms(fn, repeats: int) -> float:
    fn()  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def layer_rows(model: keras.Model, batch: int, repeats: int) -> list[dict]:
    """Milliseconds of forward + backward per layer, on inputs of its shape."""
    rows = []
    rng = tf.random.Generator.from_seed(0)
    for layer in model.layers[1:]:
        shape = (batch, *layer.input.shape[1:])
        x = rng.normal(shape)
        weights = layer.trainable_weights

        @tf.function
        def step(x, layer=layer, weights=weights):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(layer(x, training=True))
            return tape.gradient(y, [x, *weights])

        ms = median_ms(lambda step=step, x=x: [g.numpy() for g in step(x) if g is not None], repeats)
        rows.append({"layer": layer.name, "kind": layer.__class__.__name__, "input": list(shape[1:]), "ms": ms})
    return rows


def step_fn(model_name: str, batch: int, jit: bool = False, gelu_tanh: bool = False, fast_ops: bool = True):
    """One ``train_on_batch`` of a fresh ``model_name`` at ``batch``, as a callable (zoo train's fast ops on CPUs by
    default; ``fast_ops=False`` for Keras' own BatchNorm and GELU)."""
    keras.utils.set_random_seed(0)
    model = models.create(model_name)
    if gelu_tanh:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "gelu":
                layer.activation = lambda t: keras.activations.gelu(t, approximate=True)
    if fast_ops:
        use_fast_ops(model)
    compile_model(model, default_tag(model_name).recipe, steps_per_epoch=50, jit=jit)
    x = np.random.default_rng(0).integers(0, 256, (batch, *model.input_shape[1:])).astype(np.float32) / 255
    y = np.arange(batch) % int(model.output_shape[-1])
    return lambda: model.train_on_batch(x, y)


def interleaved_ms(steps: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds of each step, the variants taking turns (so a machine's drift hits them all alike)."""
    for fn in steps.values():
        fn()  # trace and warm up
        fn()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cifar_cnn")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--save")
    args = parser.parse_args()

    model = models.create(args.model)
    use_fast_ops(model)
    layers = layer_rows(model, args.batch, args.repeats)
    total = sum(r["ms"] for r in layers)
    for r in sorted(layers, key=lambda r: -r["ms"]):
        share = 100 * r["ms"] / total
        print(f"{r['layer']:>14} {r['kind']:<19} {str(r['input']):<15} {r['ms']:8.1f} ms  {share:4.1f} %")
    b = args.batch
    steps = {
        f"step, batch {b}": step_fn(args.model, b),
        f"step, batch {b}, Keras' BatchNorm and GELU": step_fn(args.model, b, fast_ops=False),
        f"step, batch {b}, XLA": step_fn(args.model, b, jit=True, fast_ops=False),
        f"step, batch {b}, GELU tanh": step_fn(args.model, b, gelu_tanh=True),
        f"step, batch {b // 2}": step_fn(args.model, b // 2),
    }
    variants = interleaved_ms(steps, args.repeats)
    print(f"sum of the layers alone: {total:.0f} ms")
    for name, ms in variants.items():
        images = int(name.split("batch ")[1].split(",")[0])
        print(f"{name}: {ms:.0f} ms = {1000 * images / ms:.0f} images/s")
    record = {
        "model": args.model,
        "batch": args.batch,
        "layers": layers,
        "steps_ms": variants,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/step_profile.py " + " ".join(sys.argv[1:]),
    }
    if args.save:
        with open(args.save, "w") as f:
            json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
