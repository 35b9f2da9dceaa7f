"""zoo: the classic convolutional networks for Keras/TensorFlow, trained, scored and exported.

The public API (each import is lazy, so ``import zoo`` does not start TensorFlow):

    zoo.list_models()                       registered model names
    zoo.list_pretrained()                   pretrained tags: "lenet5.mnist", "cifar_cnn.cifar10", ...
    zoo.create_model("lenet5", pretrained=True)      → keras.Model with the trained weights (raw 0-255 pixels in)
    zoo.create_model("lenet5", input_shape=(32, 32, 3), num_classes=10)   → a fresh, untrained model
    zoo.train(model, dataset, epochs=...)   → TrainResult (model_dir, card, history, model)
    zoo.evaluate(model_dir_or_tag)          → metrics dict
    zoo.load(model_dir_or_tag)              → (keras.Model, card)
    zoo.predict(model_dir_or_tag, images)   → top-k per image (file paths, PIL images or arrays)
"""

from __future__ import annotations

import os
import sys as _sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo.recipes import Recipe
    from zoo.training import TrainResult

# Set before TensorFlow first starts (a value the user set wins; the CLI and every library path import zoo first):
# - oneDNN kernels: TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX
#   (tensorflow/core/util/port.cc); elsewhere (most AVX2 laptops) it runs Eigen kernels that train LeNet-5 about
#   3x slower. ``zoo.device.onednn_enabled()`` tells what TensorFlow actually runs with.
# - TensorFlow's C++ chatter (CUDA probes, thread-pool notes) is muted; ZOO_VERBOSE_TF=1 brings it back.
ONEDNN_SET_BY_ZOO = "tensorflow" not in _sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
if ONEDNN_SET_BY_ZOO:
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
if not os.environ.get("ZOO_VERBOSE_TF"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
__all__ = ["list_models", "list_pretrained", "create_model", "train", "evaluate", "load", "predict", "__version__"]


def _start_tensorflow() -> None:
    from zoo.quiet import import_tensorflow

    import_tensorflow()


def list_models() -> list[str]:
    """Names of the registered models."""
    from zoo import models

    return models.list_models()


def list_pretrained() -> list[str]:
    """The pretrained tags (``model.dataset``), each with its recipe, target and weights."""
    _start_tensorflow()
    from zoo import models

    return models.list_tags()


def create_model(
    name: str,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    *,
    pretrained: bool = False,
    **kwargs: Any,
):
    """Build ``name``, a model (``"lenet5"``) or a pretrained tag (``"lenet5.mnist"``), as an uncompiled Keras
    model that takes raw pixels (0-255); with ``pretrained=True``, with the tag's trained weights (SHA-256
    checked; a model name means its tag on its default dataset)."""
    _start_tensorflow()
    from zoo.pretrained import create_model as _create

    return _create(name, pretrained=pretrained, input_shape=input_shape, num_classes=num_classes, **kwargs)


def train(
    model: str,
    dataset: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    augment: list[str] | tuple[str, ...] | None = None,
    recipe: str | Recipe = "default",
    seed: int = 0,
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    restart: bool = False,
    data_dir: str | None = None,
    device: str = "auto",
    strategy: str = "auto",
    mixed_precision: bool = False,
    jit: bool = False,
    tensorboard: str | os.PathLike | None = None,
    verbose: int | str = "auto",
    log: Callable[[str], Any] = print,
) -> TrainResult:
    """Train ``model`` on ``dataset`` with a recipe (a name such as ``"default"`` or ``"fast"``, or a
    :class:`zoo.recipes.Recipe`), overridden by ``epochs``, ``batch_size``, ``learning_rate`` and ``augment`` where
    given, and save it to ``output`` (default ``runs/<model>-<dataset>``; an existing folder needs
    ``overwrite=True``). An interrupted run resumes when called again with the same arguments."""
    _start_tensorflow()
    from zoo.training import train as _train

    named = recipe if isinstance(recipe, str) else "default"
    return _train(
        model,
        dataset,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        augment=augment,
        recipe_name=named,
        recipe=None if isinstance(recipe, str) else recipe,
        seed=seed,
        output=output,
        overwrite=overwrite,
        restart=restart,
        data_dir=data_dir,
        device=device,
        strategy=strategy,
        mixed_precision=mixed_precision,
        jit=jit,
        tensorboard=tensorboard,
        verbose=verbose,
        log=log,
    )


def evaluate(
    model_dir: str | os.PathLike,
    dataset: str | None = None,
    *,
    tta: bool = False,
    data_dir: str | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Score a saved model on a test split (the card's dataset unless ``dataset``): loss, accuracy, per-class
    accuracy, confusion matrix; with ``tta``, on the mean of six test-time views of each image."""
    _start_tensorflow()
    from zoo.evaluation import evaluate as _evaluate

    return _evaluate(model_dir, dataset, tta=tta, data_dir=data_dir, batch_size=batch_size)


def load(model_dir: str | os.PathLike):
    """Load ``(keras_model, card)`` from a saved-model folder or a pretrained tag (``"lenet5.mnist"``), with Keras
    safe_mode on."""
    _start_tensorflow()
    from zoo.artifacts import load as _load

    return _load(model_dir)


def predict(model_dir: str, images: Any, **kwargs: Any):
    """Top-k classes for image files, PIL images or arrays; see :func:`zoo.prediction.predict`."""
    _start_tensorflow()
    from zoo.prediction import predict as _predict

    return _predict(model_dir, images, **kwargs)
