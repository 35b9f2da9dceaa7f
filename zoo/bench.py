"""Speed of a model as zoo trains and serves it: training images/s, inference images/s, latency at batch 1.

Training is measured on the training path ``zoo train`` uses (the recipe's optimizer, the in-memory epoch stream,
``model.fit``), after a warm-up that absorbs tracing; inference on ``predict_on_batch`` of in-memory images.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import numpy as np

from zoo import data, fastops, models
from zoo.checks import check_positive
from zoo.device import (
    choose_precision,
    cpu_name,
    gpu_names,
    is_cpu,
    library_versions,
    onednn_enabled,
    use_device,
    vector_isa,
)
from zoo.optim import compile_model
from zoo.tags import get_recipe
from zoo.training import as_float32, build_model


def machine() -> dict[str, Any]:
    """The machine a figure was measured on: CPU model and cores, GPUs, OS, library versions."""
    return {
        "cpu": cpu_name(),
        "isa": vector_isa(),
        "cores": os.cpu_count(),
        "gpus": gpu_names(),
        "os": platform.platform(terse=True),
        **library_versions(),
    }


def _time_fit(model, stream, steps: int) -> float:
    start = time.perf_counter()
    model.fit(stream, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return time.perf_counter() - start


def bench(
    model_name: str,
    dataset: str | None = None,
    *,
    batch_size: int | None = None,
    device: str = "auto",
    train_steps: int = 100,
    warmup_steps: int = 20,
    latency_runs: int = 200,
    jit: bool = False,
    steps_per_execution: int = 1,
    precision: str = "auto",
    data_dir: str | None = None,
    log=None,
) -> dict[str, Any]:
    """Measure ``model_name`` on ``dataset``'s real images (loaded through tfds, as ``zoo train`` does): training
    in ``precision`` (as :func:`zoo.training.train` picks it), inference in float32 (as a saved model runs)."""
    import keras

    config = models.get_config(model_name)
    dataset = data.check_name(dataset or config.default_dataset)
    check_positive(
        batch_size=batch_size, steps=train_steps, latency_runs=latency_runs, steps_per_execution=steps_per_execution
    )
    recipe = get_recipe(model_name, dataset).override(batch_size=batch_size)
    device_name = use_device(device)
    precision = choose_precision(precision, device_name, recipe.cpu_bfloat16)
    images, labels = data.load_arrays(dataset, "train", data_dir)
    info = data.dataset_info(dataset, data_dir)
    if log:
        log(
            f"Measuring {model_name} on {device_name}: {warmup_steps} warm-up and {train_steps} timed training steps "
            f"of batch {recipe.batch_size} in {precision}, then inference"
        )

    keras.utils.set_random_seed(0)
    model = build_model(model_name, info, images, precision, fast_ops=is_cpu(device_name))  # as zoo train
    steps_per_epoch = -(-len(images) // recipe.batch_size)
    compile_model(model, recipe, steps_per_epoch, jit, steps_per_execution)
    total = warmup_steps + train_steps
    epochs = -(-total * recipe.batch_size // len(images)) + 1
    stream = data.make_epoch_stream(
        images, labels, recipe.batch_size, seed=0, first_epoch=0, epochs=epochs, augment=recipe.augment
    )
    _time_fit(model, stream.take(warmup_steps), warmup_steps)
    seconds = _time_fit(model, stream.skip(warmup_steps), train_steps)
    train_ips = train_steps * recipe.batch_size / seconds
    jit_compiled = bool(model.jit_compile)  # what Keras compiled (it turns XLA off under op determinism)
    model = as_float32(model, model_name, info)

    x = data.normalize(images[:256])
    model.predict_on_batch(x)  # trace once
    runs = max(3, min(20, latency_runs // 10))
    start = time.perf_counter()
    for _ in range(runs):
        model.predict_on_batch(x)
    infer_ips = runs * len(x) / (time.perf_counter() - start)

    one = x[:1]
    model.predict_on_batch(one)
    latencies = []
    for _ in range(latency_runs):
        start = time.perf_counter()
        model.predict_on_batch(one)
        latencies.append(time.perf_counter() - start)
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    return {
        "model": model_name,
        "dataset": dataset,
        "params": model.count_params(),
        "device": device_name,
        "batch_size": recipe.batch_size,
        "augment": list(recipe.augment),
        "precision": precision,  # of the training steps
        "fast_ops": fastops.in_use(model),
        "jit_compile": jit_compiled,
        "onednn": onednn_enabled(),
        "steps_per_execution": steps_per_execution,
        "train_images_per_s": round(train_ips, 1),
        # the recipe trains on all but its validation fraction of the training split
        "train_seconds_per_epoch": round(len(images) * (1 - recipe.validation) / train_ips, 2),
        "infer_images_per_s_batch256": round(infer_ips, 1),
        "infer_images_per_s_batch1": round(1 / float(np.median(latencies)), 1),
        "latency_ms_p50": round(float(p50), 3),
        "latency_ms_p99": round(float(p99), 3),
        "train_steps": train_steps,
        "warmup_steps": warmup_steps,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def format_report(r: dict[str, Any]) -> str:
    m = r["machine"]
    gpus = ", ".join(m["gpus"]) or "none"
    lines = [
        f"{r['model']} on {r['dataset']} ({r['params']:,} params), {r['device']}; {options(r)}",
        f"machine: {m['cpu']} ({m.get('isa', 'ISA not recorded')}), {m['cores']} cores; GPU: {gpus}; "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}",
        f"train      {r['train_images_per_s']:>10,.0f} images/s  (batch {r['batch_size']}, "
        f"{r['train_steps']} steps after {r['warmup_steps']} warm-up; ~{r['train_seconds_per_epoch']:.1f} s per epoch)",
        f"inference  {r['infer_images_per_s_batch256']:>10,.0f} images/s  (batch 256)",
        f"inference  {r['infer_images_per_s_batch1']:>10,.0f} images/s  (batch 1)",
        f"latency    p50 {r['latency_ms_p50']:.2f} ms, p99 {r['latency_ms_p99']:.2f} ms  (batch 1)",
    ]
    return "\n".join(lines)


def options(r: dict[str, Any]) -> str:
    """The settings a figure was measured with, in words."""
    onednn = {True: "on", False: "off"}.get(r.get("onednn"), "not recorded")
    return (
        f"batch {r['batch_size']}, {r.get('precision', 'float32')}, oneDNN {onednn}, "
        f"XLA {'on' if r['jit_compile'] else 'off'}, steps/execution {r.get('steps_per_execution', 1)}, "
        f"augment {'+'.join(r['augment']) or 'none'}"
    )
