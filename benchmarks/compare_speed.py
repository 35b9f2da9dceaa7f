"""zoo's default LeNet-5 MNIST training side by side with a plain Keras script and a PyTorch loop, in one run.

    python benchmarks/compare_speed.py [--torch-python PATH] [--save benchmarks/results/compare_lenet5_mnist.json]

Runs one after another, each in its own process, on the same machine and the same MNIST arrays (prepared tfds
data): keras_baseline.py, torch_baseline.py (with a Python that has torch: ``pip install torch==2.13.0``), and
``zoo train lenet5 --dataset mnist`` for a few epochs. Each is timed by the median of its epochs after the first
(which absorbs tracing and warm-up); the table gives the ratios to plain Keras. With ``--profile`` it also
times the training step's main TensorFlow ops, to show where the time goes. Absolute times vary by machine;
compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_json(cmd: list[str]) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def zoo_run(epochs: int, workdir: Path) -> dict:
    out = workdir / "zoo-lenet5"
    cmd = [sys.executable, "-m", "cli.main", "train", "lenet5", "--dataset", "mnist", "--epochs", str(epochs),
           "--device", "cpu", "--output", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if proc.returncode != 0:
        raise SystemExit(f"zoo train failed:\n{proc.stderr[-2000:]}")
    card = json.loads((out / "card.json").read_text())
    seconds = card["epoch_seconds"]
    return {"name": "zoo train lenet5 (default recipe)", "params": card["params"], "epoch_seconds": seconds,
            "train_images": card["examples"]["train"],
            "test_accuracy": card["metrics"]["test_accuracy"], "epochs": epochs,
            "augment": card["recipe"]["augment"]}


def profile_ops(batch: int = 128, repeats: int = 100) -> list[tuple[str, float]]:
    """Milliseconds per training step spent in LeNet-5's main ops (forward + backward), timed one by one."""
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(0)
    x = rng.uniform((batch, 28, 28, 1))
    w1, w2 = tf.Variable(rng.normal((5, 5, 1, 6))), tf.Variable(rng.normal((5, 5, 6, 16)))
    h1, p1, h2 = rng.uniform((batch, 28, 28, 6)), rng.uniform((batch, 14, 14, 6)), rng.uniform((batch, 10, 10, 16))
    dense = [tf.Variable(rng.normal(s)) for s in ((400, 120), (120, 84), (84, 10))]
    flat = rng.uniform((batch, 400))

    def grad_of(f, *watch):
        @tf.function
        def step(inp):
            with tf.GradientTape() as tape:
                tape.watch(inp)
                y = tf.reduce_sum(f(inp))
            return tape.gradient(y, [inp, *watch])
        return step

    ops = {
        "C1 conv 5x5, 1→6 (28x28)": (grad_of(lambda t: tf.nn.conv2d(t, w1, 1, "SAME"), w1), x),
        "S2 max pool (28x28x6)": (grad_of(lambda t: tf.nn.max_pool2d(t, 2, 2, "VALID")), h1),
        "ReLU after C1": (grad_of(tf.nn.relu), h1),
        "C3 conv 5x5, 6→16 (14x14)": (grad_of(lambda t: tf.nn.conv2d(t, w2, 1, "VALID"), w2), p1),
        "S4 max pool (10x10x16)": (grad_of(lambda t: tf.nn.max_pool2d(t, 2, 2, "VALID")), h2),
        "C5+F6+output dense": (grad_of(lambda t: t @ dense[0] @ dense[1] @ dense[2], *dense), flat),
    }
    rows = []
    for name, (fn, arg) in ops.items():
        fn(arg)
        start = time.perf_counter()
        for _ in range(repeats):
            result = fn(arg)
        _ = [r.numpy() for r in result]
        rows.append((name, 1000 * (time.perf_counter() - start) / repeats))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the median after the first is timed)")
    parser.add_argument("--torch-python", default=None, help="a Python with torch installed (default: skip torch)")
    parser.add_argument("--profile", action="store_true", help="also time the training step's main ops")
    parser.add_argument("--save", default=None, help="write the comparison as JSON (for `zoo results`)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from zoo.data import load_arrays
    from zoo.device import cpu_name, gpu_names

    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "mnist.npz"
        x_train, y_train = load_arrays("mnist", "train", args.data_dir)
        x_test, y_test = load_arrays("mnist", "test", args.data_dir)
        np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        runs = [run_json([sys.executable, str(HERE / "keras_baseline.py"), str(npz), "--epochs", str(args.epochs)])]
        if args.torch_python:
            runs.append(run_json([args.torch_python, str(HERE / "torch_baseline.py"), str(npz),
                                  "--epochs", str(args.epochs)]))
        runs.append(zoo_run(args.epochs, Path(tmp)))
    for r in runs:  # the median of the epochs after the first (which includes tracing and warm-up)
        r["seconds_per_epoch"] = statistics.median(r["epoch_seconds"][1:])
        r["images_per_s"] = r["train_images"] / r["seconds_per_epoch"]
    baseline = runs[0]
    print(f"{'run':<42} {'s/epoch':>8} {'images/s':>9} {'vs Keras':>9}  epochs (s)")
    for r in runs:
        print(f"{r['name']:<42} {r['seconds_per_epoch']:>8.1f} {r['images_per_s']:>9,.0f} "
              f"{r['images_per_s'] / baseline['images_per_s']:>8.2f}x  "
              + " ".join(f"{s:.1f}" for s in r["epoch_seconds"]))
    record = {
        "title": "LeNet-5 on MNIST, training speed",
        "setup": (f"Each trains on the same 54,000 MNIST images (batch 128, Adam) for {args.epochs} epochs, "
                  "one after another; the median epoch after the first is timed (Keras and zoo epochs include "
                  "validating on 6,000 images, the PyTorch loop's do not). zoo runs its default recipe "
                  "(with its augmentation) through `zoo train`."),
        "baseline": baseline["name"],
        "runs": runs,
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, GPU: {', '.join(gpu_names()) or 'none'}",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/compare_speed.py " + " ".join(sys.argv[1:]),
    }
    if args.profile:
        record["profile"] = profile_ops()
        total = sum(ms for _, ms in record["profile"])
        print("\nwhere a training step's time goes (ms per step of batch 128):")
        for name, ms in record["profile"]:
            print(f"  {name:<32} {ms:7.2f}  ({100 * ms / total:.0f} %)")
        print(f"  median epoch of zoo = {statistics.median(runs[-1]['epoch_seconds']):.1f} s")
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(record, indent=2) + "\n")
        print(f"saved {args.save}")


if __name__ == "__main__":
    main()
