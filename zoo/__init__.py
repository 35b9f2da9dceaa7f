"""zoo: the classic convolutional networks for Keras/TensorFlow, trained, scored and exported.

The public API (each import is lazy, so ``import zoo`` does not start TensorFlow):

    zoo.list_models()                       registered model names
    zoo.create_model(name, input_shape, num_classes)
    zoo.train(model, dataset, epochs=...)   → TrainResult (model_dir, card, history, model)
    zoo.evaluate(model_dir)                 → metrics dict
    zoo.load(model_dir)                     → (keras.Model, card)
    zoo.predict(model_dir, images)          → top-k per image (file paths, PIL images or arrays)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["list_models", "create_model", "train", "evaluate", "load", "predict", "__version__"]


def list_models() -> list[str]:
    """Names of the registered models."""
    from zoo import models

    return models.list_models()


def create_model(name: str, input_shape: tuple[int, int, int] | None = None, num_classes: int | None = None,
                 **kwargs: Any):
    """Build the registered model ``name`` (uncompiled Keras model)."""
    from zoo import models

    return models.create(name, input_shape=input_shape, num_classes=num_classes, **kwargs)


def train(model: str, dataset: str, **kwargs: Any):
    """Train ``model`` on ``dataset`` with its default recipe; see :func:`zoo.training.train`."""
    from zoo.training import train as _train

    return _train(model, dataset, **kwargs)


def evaluate(model_dir: str, dataset: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Score a saved model on a test split; see :func:`zoo.evaluation.evaluate`."""
    from zoo.evaluation import evaluate as _evaluate

    return _evaluate(model_dir, dataset, **kwargs)


def load(model_dir: str):
    """Load ``(keras_model, card)`` from a saved-model folder, with Keras safe_mode on."""
    from zoo.artifacts import load as _load

    return _load(model_dir)


def predict(model_dir: str, images: Any, **kwargs: Any):
    """Top-k classes for image files, PIL images or arrays; see :func:`zoo.prediction.predict`."""
    from zoo.prediction import predict as _predict

    return _predict(model_dir, images, **kwargs)
