"""The model registry (timm's ``_registry``): one name → one builder with its default config.

Builders (``zoo/models/*.py``) register themselves with :func:`register`; this module imports nothing heavy, so
it can be imported without starting TensorFlow. ``zoo.models`` imports the builders and is where models are built.

    >>> from zoo import models
    >>> models.list_models()
    ['alexnet', 'cifar_cnn', 'cifar_cnn_small', 'lenet5', 'mlp']
    >>> models.create("lenet5", input_shape=(32, 32, 3), num_classes=10).count_params()
    83126
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.card import MAX_CLASSES, MAX_SIDE
from zoo.errors import UnknownNameError, UsageError

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ModelConfig:
    """A registered model: its builder and the defaults it is built with."""

    name: str
    builder: Callable[..., keras.Model]
    input_shape: tuple[int, int, int]
    num_classes: int
    default_dataset: str  # what `zoo train MODEL` trains on; a model's first tag is on it
    description: str
    params: int  # at its default input shape and class count (``zoo list`` shows it without building)
    min_input_size: int = 1
    # Called once with the training images (as the model takes them: float32 in [0, 1], [N, H, W, C]) before
    # training, e.g. to compute a frozen whitening layer from the data; None for models that need nothing from it.
    init_from_data: Callable[[keras.Model, Any], None] | None = None


# The design card's way, as in the keras-io examples: the tfds loaders scale pixels by 1/255 (zoo.data.normalize,
# also called by zoo predict and zoo serve), and every builder takes float32 in [0, 1]. The exports carry the same
# step in their graphs, so other applications feed them raw uint8 pixels.
PREPROCESSING = {
    "input": "float32 in [0, 1]: pixels / 255, as zoo.data's loaders give",
    "scale": "x / 255 outside model.keras (zoo.data.normalize); inside every export",
    "range": [0.0, 1.0],
    "exports_input": "raw uint8 pixels 0-255",
    "in_model": False,
}

_REGISTRY: dict[str, ModelConfig] = {}


def register(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    default_dataset: str,
    description: str,
    params: int,
    num_classes: int = 10,
    min_input_size: int = 1,
    init_from_data: Callable[[keras.Model, Any], None] | None = None,
) -> Callable:
    """Decorator that adds a builder ``fn(input_shape, num_classes, **kwargs)`` to the registry."""

    def decorate(builder: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        _REGISTRY[name] = ModelConfig(
            name,
            builder,
            input_shape,
            num_classes,
            default_dataset,
            description,
            params,
            min_input_size,
            init_from_data,
        )
        return builder

    return decorate


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def get_config(name: str) -> ModelConfig:
    """The registered config of ``name``; an unknown name raises a one-line error listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("model", name, list_models()) from None


def check_fits(name: str, shape: tuple[int, ...], source: str | None = None) -> None:
    """Model ``name``'s minimum input size against images of ``shape`` (those of dataset ``source``, if given):
    the one check, before a model is built or any data is read."""
    size = get_config(name).min_input_size
    if min(shape[:2]) < size:
        what = f"{source} has" if source else "got"
        raise UsageError(f"{name} needs images of at least {size}x{size}; {what} {shape[0]}x{shape[1]}")


def create(
    name: str,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    **kwargs: Any,
) -> keras.Model:
    """Build model ``name`` (uncompiled) for ``input_shape`` (H, W, C) and ``num_classes`` outputs."""
    config = get_config(name)
    shape = tuple(int(d) for d in (input_shape or config.input_shape))
    classes = int(config.num_classes if num_classes is None else num_classes)
    if len(shape) != 3 or min(shape) < 1:
        raise UsageError(f"input shape must be H,W,C with positive sizes, got {shape}")
    check_fits(name, shape)
    if max(shape[:2]) > MAX_SIDE:
        raise UsageError(f"input images may be at most {MAX_SIDE}x{MAX_SIDE}, got {shape[0]}x{shape[1]}")
    if shape[2] > 64:
        raise UsageError(f"input images may have at most 64 channels, got {shape[2]}")
    if classes < 2:
        raise UsageError(f"num_classes must be at least 2, got {classes}")
    if classes > MAX_CLASSES:
        raise UsageError(f"num_classes may be at most {MAX_CLASSES:,}, got {classes:,}")
    return config.builder(shape, classes, **kwargs)
