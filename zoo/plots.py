"""Figures (matplotlib, headless): training curves, run overlays, first-layer filters and feature maps."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo import artifacts, atomic, data, pretrained
from zoo.errors import UsageError
from zoo.prediction import DARK_BACKGROUND_DATASETS, prepare_image

if TYPE_CHECKING:
    import keras

CELL = 1.2  # inches per grid cell; at 100 dpi a grid of R×C cells is C·120 by R·120 + 60 pixels
DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    _pyplot().close(fig)
    return buf.getvalue()


def curves_png(runs: dict[str, dict[str, list[float]]]) -> bytes:
    """Loss and accuracy per epoch, train (solid) vs validation (dashed), one colour per run."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, (label, history) in enumerate(runs.items()):
        color = f"C{i}"
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            epochs = range(1, len(history.get(metric, [])) + 1)
            if metric in history:
                ax.plot(epochs, history[metric], color=color, label=f"{label} train")
            if f"val_{metric}" in history:
                ax.plot(epochs, history[f"val_{metric}"], color=color, linestyle="--", label=f"{label} val")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs, never 2.5
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def plot_runs(run_dirs: list[str | Path], output: str | Path) -> Path:
    """Overlay the curves of several saved runs (their history.csv) into one PNG."""
    runs = {}
    names = [Path(run_dir).name for run_dir in run_dirs]
    for run_dir, name in zip(run_dirs, names, strict=True):
        if not (Path(run_dir) / artifacts.HISTORY_FILE).is_file():
            raise UsageError(f"{run_dir} has no {artifacts.HISTORY_FILE}: not a zoo run folder")
        label = name if names.count(name) == 1 else str(run_dir)  # two runs of one name: label by their paths
        runs[label] = artifacts.read_history(run_dir)
    with atomic.atomic_file(output) as tmp:
        tmp.write_bytes(curves_png(runs))
    return Path(output)


def grid_shape(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def grid_png(maps: np.ndarray, title: str, rgb: bool = False) -> bytes:
    """Maps [n, H, W] (or [n, H, W, 3] with ``rgb``) as a grid of R×C cells, each scaled to its own range."""
    plt = _pyplot()
    rows, cols = grid_shape(len(maps))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * CELL, rows * CELL + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, m in zip(axes.flat, maps, strict=False):
        lo, hi = float(m.min()), float(m.max())
        scaled = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        ax.imshow(scaled, cmap=None if rgb else "viridis", vmin=0, vmax=1)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def conv_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]


def visualize(
    model_dir: str | Path,
    output: str | Path,
    image: str | None = None,
    index: int | None = None,
    data_dir: str | None = None,
) -> list[Path]:
    """Write the first conv layer's filters and every conv layer's activation maps for one input as PNG grids."""
    import keras

    if index is not None and index < 0:
        raise UsageError(f"`index` must be zero or positive, got {index}")
    if image is not None and index is not None:
        raise UsageError("give `image` or `index`, not both")
    model, card = pretrained.load(model_dir)
    convs = conv_layers(model)
    if not convs:
        raise UsageError(f"{card.model} has no convolution layers to show")
    if image is not None:
        pixels, _ = prepare_image(
            image,
            card.input_shape,
            "auto" if card.dataset in DARK_BACKGROUND_DATASETS else False,
            card.dataset,
            card.fits_images,
        )
        source = Path(image).name
    else:
        images, labels = data.test_arrays(data.source_for(card, None, data_dir), data_dir)
        index = index or 0
        if not 0 <= index < len(images):
            raise UsageError(f"`index` must be between 0 and {len(images) - 1}, got {index}")
        pixels, source = images[index], f"{card.dataset} test #{index} (label {card.class_names[labels[index]]})"
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    kernel = convs[0].get_weights()[0]  # [F, F, D1, K]
    rgb = kernel.shape[2] == 3
    filters = np.moveaxis(kernel, 3, 0) if rgb else np.moveaxis(kernel.mean(axis=2), 2, 0)
    shape = "x".join(map(str, kernel.shape))
    written.append(
        _write(
            out / f"filters_{convs[0].name}.png",
            grid_png(filters, f"{convs[0].name}: {kernel.shape[3]} filters, kernel {shape}", rgb),
        )
    )

    probe = keras.Model(model.inputs, [layer.output for layer in convs])
    maps = probe.predict(data.normalize(pixels[None]), verbose=0)
    for layer, act in zip(convs, maps if isinstance(maps, list) else [maps], strict=True):
        act = np.moveaxis(act[0], 2, 0)
        title = f"{layer.name}: activations {'x'.join(map(str, act.shape[1:]))}x{len(act)} for {source}"
        written.append(_write(out / f"activations_{layer.name}.png", grid_png(act, title)))
    return written


def _write(path: Path, png: bytes) -> Path:
    atomic.atomic_write_bytes(path, png)
    return path
