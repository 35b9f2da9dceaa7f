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

import os as _os
import sys as _sys
from typing import Any

# Set before TensorFlow first starts (a value the user set wins; the CLI and every library path import zoo first):
# - oneDNN kernels: TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX
#   (tensorflow/core/util/port.cc); elsewhere (most AVX2 laptops) it runs Eigen kernels that train LeNet-5 about
#   3x slower. ``zoo.device.onednn_enabled()`` tells what TensorFlow actually runs with.
# - TensorFlow's C++ chatter (CUDA probes, thread-pool notes) is muted; ZOO_VERBOSE_TF=1 brings it back.
ONEDNN_SET_BY_ZOO = "tensorflow" not in _sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in _os.environ
if ONEDNN_SET_BY_ZOO:
    _os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
if not _os.environ.get("ZOO_VERBOSE_TF"):
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
__all__ = ["list_models", "create_model", "train", "evaluate", "load", "predict", "__version__"]


def _start_tensorflow() -> None:
    from zoo.quiet import import_tensorflow

    import_tensorflow()


def list_models() -> list[str]:
    """Names of the registered models."""
    from zoo import models

    return models.list_models()


def create_model(name: str, input_shape: tuple[int, int, int] | None = None, num_classes: int | None = None,
                 **kwargs: Any):
    """Build the registered model ``name`` (uncompiled Keras model)."""
    _start_tensorflow()
    from zoo import models

    return models.create(name, input_shape=input_shape, num_classes=num_classes, **kwargs)


def train(model: str, dataset: str, **kwargs: Any):
    """Train ``model`` on ``dataset`` with its default recipe; see :func:`zoo.training.train`."""
    _start_tensorflow()
    from zoo.training import train as _train

    return _train(model, dataset, **kwargs)


def evaluate(model_dir: str, dataset: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Score a saved model on a test split; see :func:`zoo.evaluation.evaluate`."""
    _start_tensorflow()
    from zoo.evaluation import evaluate as _evaluate

    return _evaluate(model_dir, dataset, **kwargs)


def load(model_dir: str):
    """Load ``(keras_model, card)`` from a saved-model folder, with Keras safe_mode on."""
    _start_tensorflow()
    from zoo.artifacts import load as _load

    return _load(model_dir)


def predict(model_dir: str, images: Any, **kwargs: Any):
    """Top-k classes for image files, PIL images or arrays; see :func:`zoo.prediction.predict`."""
    _start_tensorflow()
    from zoo.prediction import predict as _predict

    return _predict(model_dir, images, **kwargs)
