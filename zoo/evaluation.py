"""Evaluation of a saved model on a dataset's test split: loss, accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo import artifacts, data
from zoo.card import ModelCard
from zoo.checks import check_int
from zoo.errors import UsageError
from zoo.pretrained import resolve
from zoo.recipes import MAX_BATCH
from zoo.text import printable


def check_compatible(card: ModelCard, dataset: str) -> None:
    """A model trained on one image shape or class count cannot be scored on another."""
    info = data.get_info(dataset)
    shape, classes = info.input_shape, info.num_classes
    if list(card.input_shape) != list(shape) or int(card.num_classes) != classes:
        raise UsageError(
            f"model expects {'x'.join(map(str, card.input_shape))} images and {card.num_classes} classes, "
            f"but {dataset} has {'x'.join(map(str, shape))} images and {classes} classes"
        )
    if card.dataset != dataset:
        raise UsageError(
            f"this {card.model} was trained on {card.dataset}, not {dataset}: its classes "
            f"({', '.join(card.class_names[:3])}, ...) mean nothing there; evaluate it on {card.dataset}"
        )


def check_classes(card: ModelCard, source) -> None:
    """A model's classes are the dataset's, by name and number, or its scores would mean nothing."""
    names = source.info.class_names
    if card.num_classes != source.info.num_classes or (card.class_names and card.class_names != names):
        theirs = printable(", ".join(names[:3]) + (", ..." if len(names) > 3 else ""))
        ours = printable(", ".join(card.labels[:3]) + (", ..." if card.num_classes > 3 else ""))
        raise UsageError(
            f"this {card.model} was trained on {printable(card.dataset)} ({card.num_classes} classes: {ours}), "
            f"whose classes are not {printable(source.name)}'s ({len(names)}: {theirs})"
        )


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


# Test-time augmentation (airbench's level 2): the image and its mirror (weight 1/4 each), and both of them
# translated by one pixel up-left and down-right with reflected edges (1/8 each). As airbench, the views' logits
# are averaged (a weighted geometric mean of their probabilities, renormalized), not their probabilities.
TTA_VIEWS = (
    ("identity", 0.25),
    ("mirror", 0.25),
    ("up-left", 0.125),
    ("up-left mirror", 0.125),
    ("down-right", 0.125),
    ("down-right mirror", 0.125),
)


def tta_view(images, view: str):
    """One TTA view of a float batch [B, H, W, C]."""
    import tensorflow as tf

    if view.startswith(("up-left", "down-right")):
        h, w = images.shape[1], images.shape[2]
        padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
        images = padded[:, :h, :w] if view.startswith("up-left") else padded[:, 2 : h + 2, 2 : w + 2]
    return tf.reverse(images, axis=[2]) if view.endswith("mirror") else images


def predict_probs(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 256, tta: bool = False):
    """Class probabilities for uint8 ``images``; with ``tta``, the softmax of the weighted mean of the
    :data:`TTA_VIEWS`' log-probabilities, which is the softmax of their mean logits."""
    ds = data.make_pipeline(images, labels, batch_size)
    if not tta:
        return model.predict(ds, verbose=0)
    total = 0.0
    for view, weight in TTA_VIEWS:
        probs = model.predict(ds.map(lambda x, y, v=view: (tta_view(x, v), y)), verbose=0).astype(np.float64)
        # log p = logits - logsumexp(logits): per image the same shift for every class, so it cancels in softmax
        total = total + weight * np.log(np.maximum(probs, np.finfo(np.float64).tiny))
    total -= total.max(axis=1, keepdims=True)
    mean = np.exp(total)
    return (mean / mean.sum(axis=1, keepdims=True)).astype(np.float32)


def scores(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of predicted probabilities (the same clipping as Keras' loss)."""
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(picked))), float((probs.argmax(axis=1) == labels).mean())


def evaluate(
    model_dir: str | Path,
    dataset: str | None = None,
    *,
    data_dir: str | None = None,
    batch_size: int = 256,
    tta: bool = False,
    log=None,
) -> dict[str, Any]:
    """Score the model in ``model_dir`` on the test split of ``dataset`` (default: the card's dataset); with
    ``tta``, on the mean of the test-time-augmented views (:data:`TTA_VIEWS`)."""
    check_int("batch_size", batch_size, 1, MAX_BATCH)

    folder = resolve(model_dir)  # a tag is located (and its weights hashed) once, not by each read below
    card = artifacts.read_card(folder)
    dataset = dataset or data.card_dataset(card)
    if dataset in data.DATASETS and card.dataset in data.DATASETS:
        check_compatible(card, dataset)
    source = data.source_for(card, dataset, data_dir, log)
    check_classes(card, source)
    model, card = artifacts.load(folder)
    info = source.info
    images, labels = data.test_arrays(source, data_dir)
    dataset = source.name
    if log:
        held = "" if source.has_test else " (held out of train)"
        log(f"Scoring {card.model} on {len(labels):,} {dataset} test images{held}" + (" x 6 TTA views" if tta else ""))
    probs = predict_probs(model, images, labels, batch_size, tta)
    loss, accuracy = scores(probs, labels)
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, info.num_classes)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    names = card.labels
    return {
        "model_dir": str(model_dir),
        "model": card.model,
        "dataset": dataset,
        "examples": int(len(labels)),
        "tta": [view for view, _ in TTA_VIEWS] if tta else None,  # the views averaged, or None: single view
        "loss": loss,
        "accuracy": accuracy,
        "per_class_accuracy": {name: float(a) for name, a in zip(names, per_class, strict=True)},
        "confusion_matrix": matrix.tolist(),
    }
