"""A pretrained start: weights copied from a tag or a model folder into a fresh model, and layers frozen.

Every layer whose name and weight shapes match is copied. The head (the last layer with weights) is new where
the class count differs. A first layer that differs only in its input channels is adapted: grey weights into an
RGB model are repeated over the three channels and divided by 3, RGB weights into a grey model are summed, so
that a grey image gives the same first-layer output either way. Any other mismatch is refused, before any data is
read. (A head of the same shape is new too where the classes are others, by name: digits are not clothes.)
``freeze="backbone"`` trains the head alone (a linear probe); ``freeze=N`` freezes the first N layers with
weights. A frozen BatchNorm layer keeps its statistics (Keras runs a non-trainable BatchNorm in inference mode).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import artifacts
from zoo.atomic import sha256
from zoo.card import ModelCard
from zoo.errors import ArgumentTypeError, UsageError, plural
from zoo.pretrained import resolve, tag_of_folder

if TYPE_CHECKING:
    import keras


@dataclass
class Init:
    """Where a run's starting weights come from."""

    label: str  # the tag or folder as the user gave it
    folder: Path
    card: ModelCard
    sha256: str


@dataclass
class Plan:
    """What happens to each layer with weights of the new model."""

    copied: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # the head, or layers the source lacks
    adapted: dict[str, str] = field(default_factory=dict)  # first layer: how its channels were converted


def open_init(init: str | os.PathLike) -> Init:
    """The tag or model folder ``init`` (a tag's weights are SHA-256 checked as everywhere)."""
    if not isinstance(init, (str, os.PathLike)) or not str(init).strip():
        raise ArgumentTypeError(f"`init` must be a pretrained tag or a model folder, got {init!r}")
    folder = resolve(init)
    card = artifacts.read_card(folder)
    return Init(str(init), folder, card, sha256(folder / "model.keras"))


def check_model(init: Init, model_name: str) -> None:
    """Weights of one architecture cannot start another: refused before anything is read."""
    if init.card.model != model_name:
        raise UsageError(
            f"{init.label} holds {init.card.model} weights; they cannot start a {model_name} (its layers differ); "
            f"pass a {model_name} tag or folder, or train {init.card.model}"
        )


def weighted_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if layer.weights]


def _shapes(layer) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w in layer.weights]


def plan(source: keras.Model, target: keras.Model, init: Init, class_names: list[str]) -> Plan:
    """Which layers are copied, adapted or new; a layer that cannot match raises one line. The head is copied only
    where the classes are the source's own (by name): a head for other classes starts fresh."""
    layers = weighted_layers(target)
    by_name = {layer.name: layer for layer in weighted_layers(source)}
    head, first = layers[-1].name, layers[0].name
    result = Plan()
    for layer in layers:
        theirs = by_name.get(layer.name)
        if theirs is None:
            result.new.append(layer.name)
            continue
        ours, src = _shapes(layer), _shapes(theirs)
        if layer.name == head and (ours != src or list(class_names) != init.card.labels):
            result.new.append(layer.name)
        elif ours == src:
            result.copied.append(layer.name)
        elif layer.name == first and _channels_only(src, ours):
            cin, cout = src[0][-2], ours[0][-2]
            how = "repeated over the channels, / 3" if cin == 1 else "summed over the channels"
            result.adapted[layer.name] = f"{cin} -> {cout} input channels: kernels {how}"
        else:
            raise UsageError(
                f"{init.label}'s layer {layer.name} has weights of shape {src[0]}, where this model needs {ours[0]}: "
                f"it was trained on {'x'.join(map(str, init.card.input_shape))} images; "
                f"train at that size (`image_size='{init.card.input_shape[0]},{init.card.input_shape[1]}'`)"
            )
    return result


def _channels_only(src: list[tuple[int, ...]], ours: list[tuple[int, ...]]) -> bool:
    """A kernel [kh, kw, cin, cout] that differs only in cin, between 1 and 3 (the bias, if any, alike)."""
    a, b = src[0], ours[0]
    return len(a) == 4 and a[:2] == b[:2] and a[3] == b[3] and {a[2], b[2]} == {1, 3} and src[1:] == ours[1:]


def apply(source: keras.Model, target: keras.Model, steps: Plan) -> None:
    """Copy and adapt the weights as ``steps`` says."""
    import numpy as np

    by_name = {layer.name: layer for layer in weighted_layers(source)}
    for layer in weighted_layers(target):
        if layer.name in steps.copied:
            layer.set_weights(by_name[layer.name].get_weights())
        elif layer.name in steps.adapted:
            kernel, *rest = by_name[layer.name].get_weights()
            cin = layer.weights[0].shape[-2]
            kernel = np.repeat(kernel, 3, axis=2) / 3 if cin == 3 else kernel.sum(axis=2, keepdims=True)
            layer.set_weights([kernel.astype(np.float32), *rest])


def check_freeze(freeze: Any) -> str | int | None:
    if freeze is None or freeze == "backbone":
        return freeze
    if isinstance(freeze, str) and freeze.isdigit():
        freeze = int(freeze)
    if isinstance(freeze, bool) or not isinstance(freeze, int):
        raise ArgumentTypeError(f"`freeze` must be 'backbone' or a number of layers, got {freeze!r}")
    if freeze < 1:
        raise UsageError(f"`freeze` must be at least 1 layer, got {freeze}")
    return freeze


def frozen_count(model: keras.Model, freeze: str | int | None) -> int:
    """How many layers ``freeze`` freezes in ``model``; one that would freeze them all is refused."""
    if freeze is None:
        return 0
    layers = weighted_layers(model)
    count = len(layers) - 1 if freeze == "backbone" else freeze
    if count >= len(layers):
        raise UsageError(
            f"`freeze={freeze}` would leave nothing to train: {model.name} has {plural(len(layers), 'layer')} "
            f"with weights; freeze at most {len(layers) - 1}"
        )
    return count


def freeze_layers(model: keras.Model, freeze: str | int | None) -> list[str]:
    """Freeze the backbone (every layer with weights but the head) or the first N; the names frozen."""
    layers = weighted_layers(model)
    count = frozen_count(model, freeze)
    for layer in layers[:count]:
        layer.trainable = False  # a BatchNorm layer among them then runs in inference mode: statistics frozen
    return [layer.name for layer in layers[:count]]


def lineage(init: Init, steps: Plan, frozen: list[str]) -> dict[str, Any]:
    """The card's record of where the weights started."""
    return {
        "from": tag_of_folder(init.folder) or str(init.folder),
        "model": init.card.model,
        "dataset": init.card.dataset,
        "sha256": init.sha256,
        "copied": steps.copied,
        "new": steps.new,
        "adapted": steps.adapted,
        "frozen": frozen,
    }


def describe(steps: Plan, frozen: list[str], init: Init) -> str:
    """One line for the log."""
    parts = [f"{plural(len(steps.copied), 'layer')} copied"]
    parts += [f"new {', '.join(steps.new)}"] if steps.new else []
    parts += [f"{name} adapted ({how})" for name, how in steps.adapted.items()]
    parts += [f"{plural(len(frozen), 'layer')} frozen"] if frozen else []
    return f"Starting from {init.label} ({init.card.model} on {init.card.dataset}): " + "; ".join(parts)
