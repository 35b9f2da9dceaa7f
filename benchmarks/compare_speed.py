"""zoo's default LeNet-5 MNIST training side by side with a plain Keras script and a PyTorch loop, in one run.

    python benchmarks/compare_speed.py [--torch-python PATH] [--rounds 2] [--save FILE.json]

Each peer runs in its own process, on the same machine and the same MNIST arrays (prepared tfds data), in
``--rounds`` interleaved rounds: keras_baseline.py with TensorFlow's oneDNN kernels off (what TensorFlow does by
itself on CPUs without AVX-512 VNNI/BF16 or AMX, i.e. most laptops) and on, torch_baseline.py (with a Python that
has torch: ``pip install torch==2.13.0``), and ``zoo train lenet5`` with its default recipe, without its
augmentation, and at the plain script's batch 128. Each is timed by the median of its epochs after the first
(which absorbs tracing and warm-up) over all rounds. With ``--profile`` it also times the training step's main
TensorFlow ops. Absolute times vary by machine; compare ratios.
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

PLAIN_OFF = "plain Keras script, oneDNN off (TensorFlow's default on AVX2 CPUs)"
PLAIN_ON = "plain Keras script, TF_ENABLE_ONEDNN_OPTS=1"
TORCH = "hand-written PyTorch loop"
ZOO_DEFAULT = "zoo train lenet5 (default recipe)"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _env(onednn: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)})
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    return env


def run_json(cmd: list[str], name: str, onednn: str | None = None) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(onednn))
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "name": name}


def zoo_run(name: str, epochs: int, workdir: Path, *flags: str) -> dict:
    """``zoo train lenet5`` as a user runs it (zoo picks the kernels: no TF_ENABLE_ONEDNN_OPTS set)."""
    out = workdir / "zoo-lenet5"
    train = f"train lenet5 --dataset mnist --epochs {epochs} --device cpu --overwrite --restart --output"
    cmd = [sys.executable, "-m", "zoo", *train.split(), str(out), *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(None), cwd=workdir)
    if proc.returncode != 0:
        raise SystemExit(f"zoo train failed:\n{proc.stderr[-2000:]}")
    card = json.loads((out / "card.json").read_text())
    recipe = card["recipe"]
    return {
        "name": name,
        "params": card["params"],
        "epoch_seconds": card["epoch_seconds"],
        "train_images": card["examples"]["train"],
        "test_accuracy": card["metrics"]["test_accuracy"],
        "epochs": epochs,
        "augment": recipe["augment"],
        "batch_size": recipe["batch_size"],
        "onednn": card["runtime"].get("onednn"),
    }


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


def profile_stream(batch: int = 256, batches: int = 300, data_dir: str | None = None) -> dict[str, float]:
    """Milliseconds per batch of the training input stream alone (gather, augmentation), with and without the
    default recipe's augmentation: the part of an epoch around the step."""
    from zoo import data
    from zoo.tags import get_recipe

    x, y = data.load_arrays("mnist", "train", data_dir)
    result = {}
    for name, augment in (("with augmentation", get_recipe("lenet5", "mnist").augment), ("without", ())):
        it = iter(data.make_epoch_stream(x[:54000], y[:54000], batch, seed=0, first_epoch=0, epochs=3, augment=augment))
        for _ in range(20):
            next(it)
        start = time.perf_counter()
        for _ in range(batches):
            next(it)
        result[name] = 1000 * (time.perf_counter() - start) / batches
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the median after the first is timed)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every peer")
    parser.add_argument("--torch-python", default=None, help="a Python with torch installed (default: skip torch)")
    parser.add_argument("--profile", action="store_true", help="also time the training step's main ops")
    parser.add_argument("--save", default=None, help="write the comparison as JSON (for benchmarks/results.py)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from zoo.data import load_arrays
    from zoo.device import cpu_name, gpu_names, onednn_enabled

    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "mnist.npz"
        x_train, y_train = load_arrays("mnist", "train", args.data_dir)
        x_test, y_test = load_arrays("mnist", "test", args.data_dir)
        np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        keras_cmd = [sys.executable, str(HERE / "keras_baseline.py"), str(npz), "--epochs", str(args.epochs)]
        peers = [
            lambda: run_json(keras_cmd, PLAIN_OFF, onednn="0"),
            lambda: run_json(keras_cmd, PLAIN_ON, onednn="1"),
        ]
        if args.torch_python:
            peers.append(
                lambda: run_json(
                    [args.torch_python, str(HERE / "torch_baseline.py"), str(npz), "--epochs", str(args.epochs)], TORCH
                )
            )
        peers += [
            lambda: zoo_run(ZOO_DEFAULT, args.epochs, Path(tmp)),
            lambda: zoo_run(
                "zoo train lenet5, default recipe without augmentation", args.epochs, Path(tmp), "--augment", "none"
            ),
            lambda: zoo_run(
                "zoo train lenet5 --batch-size 128 --augment none (as the plain script)",
                args.epochs,
                Path(tmp),
                "--batch-size",
                "128",
                "--augment",
                "none",
            ),
        ]
        rounds = [[peer() for peer in peers] for _ in range(args.rounds)]
    runs = []
    for same in zip(*rounds, strict=True):  # one peer over all rounds: every epoch after each run's first
        runs.append(
            {
                **same[-1],
                "epoch_seconds": [s for r in same for s in r["epoch_seconds"]],
                "seconds_per_epoch": statistics.median(s for r in same for s in r["epoch_seconds"][1:]),
            }
        )
    for r in runs:
        r["images_per_s"] = r["train_images"] / r["seconds_per_epoch"]
    baseline = runs[0]
    by_name = {r["name"]: r for r in runs}
    print(f"{'run':<72} {'s/epoch':>8} {'images/s':>9} {'vs off':>7} {'vs on':>6}")
    for r in runs:
        print(
            f"{r['name']:<72} {r['seconds_per_epoch']:>8.2f} {r['images_per_s']:>9,.0f} "
            f"{r['images_per_s'] / baseline['images_per_s']:>6.2f}x "
            f"{r['images_per_s'] / by_name[PLAIN_ON]['images_per_s']:>5.2f}x"
        )
    zoo = by_name[ZOO_DEFAULT]
    targets = {
        "zoo >= 2x the plain script (oneDNN off)": zoo["images_per_s"] / baseline["images_per_s"],
        "zoo >= 1x the plain script with oneDNN": zoo["images_per_s"] / by_name[PLAIN_ON]["images_per_s"],
    }
    if TORCH in by_name:
        targets["zoo >= 1x the PyTorch loop (stretch 1.5x)"] = zoo["images_per_s"] / by_name[TORCH]["images_per_s"]
    for what, ratio in targets.items():
        need = float(what.split(">= ")[1].split("x")[0])
        print(f"  {what}: {ratio:.2f}x, {'met' if ratio >= need else 'missed'}")
    record = {
        "title": "LeNet-5 on MNIST, training speed",
        "setup": (
            f"Each trains on the same 54,000 MNIST images for {args.epochs} epochs per run, in "
            f"{args.rounds} interleaved rounds; the median epoch after each run's first is timed (Keras and "
            "zoo epochs include validating on 6,000 images, the PyTorch loop's do not). The plain script and "
            "the PyTorch loop use Adam at batch 128; zoo's default recipe uses batch 256 with translations "
            "and distortions. oneDNN off is what TensorFlow does by itself on CPUs without AVX-512 "
            "VNNI/BF16 or AMX (most laptops); zoo turns it on."
        ),
        "baseline": baseline["name"],
        "targets": {k: round(v, 3) for k, v in targets.items()},
        "runs": runs,
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, GPU: {', '.join(gpu_names()) or 'none'}",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/compare_speed.py " + " ".join(sys.argv[1:]),
    }
    if args.profile:
        record["profile"], record["profile_batch"] = profile_ops(batch=256), 256
        total = sum(ms for _, ms in record["profile"])
        print("\nwhere a training step's time goes (ms per step of batch 256):")
        for name, ms in record["profile"]:
            print(f"  {name:<32} {ms:7.2f}  ({100 * ms / total:.0f} %)")
        print(f"  (oneDNN {'on' if onednn_enabled() else 'off'} in this process)")
        record["profile_onednn"] = onednn_enabled()
        record["stream_ms_per_batch"] = profile_stream(data_dir=args.data_dir)
        print(
            "input stream alone, ms per batch of 256: "
            + ", ".join(f"{k} {v:.2f}" for k, v in record["stream_ms_per_batch"].items())
        )
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(record, indent=2) + "\n")
        print(f"saved {args.save}")


if __name__ == "__main__":
    main()
