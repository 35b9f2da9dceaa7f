"""The registry (timm style): one name → one builder with its default config, and the pretrained tags.

A tag, ``<model>.<dataset>`` (``lenet5.mnist``), is that model trained on that dataset: it carries its recipe
(and named alternatives such as ``fast``), the accuracy the recipe is meant to reach, and where its weights live
with their SHA-256. Each model module registers its tags beside its builder.

    >>> from zoo import models
    >>> models.list_models()
    ['alexnet', 'cifar_cnn', 'lenet5', 'mlp']
    >>> model = models.create("lenet5", input_shape=(32, 32, 3), num_classes=10)
    >>> models.get_tag("lenet5.mnist").recipe.epochs
    20
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.card import MAX_CLASSES, MAX_SIDE
from zoo.errors import UnknownNameError, UsageError
from zoo.recipes import Recipe

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ModelConfig:
    """A registered model: its builder and the defaults it is built with."""

    name: str
    builder: Callable[..., keras.Model]
    input_shape: tuple[int, int, int]
    num_classes: int
    default_dataset: str
    description: str
    min_input_size: int = 1
    # Called once with the training images (uint8 [N, H, W, C]) before training, e.g. to compute a frozen
    # whitening layer from the data; None for models that need nothing from the data.
    init_from_data: Callable[[keras.Model, Any], None] | None = None


# Preprocessing lives in the model (as keras.applications' include_preprocessing): every builder takes raw pixels,
# 0-255 in any numeric dtype, and its first layer, ``rescale``, scales them to [0, 1]. So model.keras takes what
# every export takes, and a caller never repeats the training's preprocessing.
PREPROCESSING = {
    "input": "raw pixels 0-255 (uint8 or any numeric dtype), shape H x W x C",
    "scale": "x / 255 inside the model (its first layer, 'rescale')",
    "in_model": True,
}

_REGISTRY: dict[str, ModelConfig] = {}


def register(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    default_dataset: str,
    description: str,
    num_classes: int = 10,
    min_input_size: int = 1,
    init_from_data: Callable[[keras.Model, Any], None] | None = None,
) -> Callable:
    """Decorator that adds a builder ``fn(input_shape, num_classes, **kwargs)`` to the registry."""

    def decorate(builder: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        _REGISTRY[name] = ModelConfig(
            name, builder, input_shape, num_classes, default_dataset, description, min_input_size, init_from_data
        )
        return builder

    return decorate


@dataclass(frozen=True)
class Tag:
    """A pretrained tag: a registered model trained on a dataset, with everything about it in one place."""

    model: str
    dataset: str
    recipe: Recipe  # the default recipe (``zoo train MODEL --dataset DATASET``)
    target: float | None = None  # test accuracy the default recipe is meant to reach (single run, seed 0)
    reference: str = ""  # where the target comes from
    recipes: dict[str, Recipe] = field(default_factory=dict)  # named alternatives: ``--recipe NAME``
    weights: str | None = None  # the saved-model folder with its trained weights (saved_models/<weights>/)
    sha256: str | None = None  # of <weights>/model.keras, checked whenever the tag is loaded

    @property
    def name(self) -> str:
        return f"{self.model}.{self.dataset}"


_TAGS: dict[str, Tag] = {}


def register_tags(*tags: Tag) -> None:
    """Add pretrained tags (each ``model.dataset`` once) to the table."""
    for tag in tags:
        _TAGS[tag.name] = tag


def list_tags() -> list[str]:
    """Every pretrained tag, sorted."""
    return sorted(_TAGS)


def get_tag(name: str) -> Tag:
    """The tag ``name`` (``lenet5.mnist``), or a model name (``lenet5``) for its tag on its default dataset."""
    if name in _REGISTRY and f"{name}.{_REGISTRY[name].default_dataset}" in _TAGS:
        name = f"{name}.{_REGISTRY[name].default_dataset}"
    try:
        return _TAGS[name]
    except KeyError:
        raise UnknownNameError("pretrained tag", name, list_tags()) from None


def find_tag(model: str, dataset: str) -> Tag | None:
    """The tag of ``model`` trained on ``dataset``, or None where there is none."""
    return _TAGS.get(f"{model}.{dataset}")


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def get_config(name: str) -> ModelConfig:
    """The registered config of ``name``; an unknown name raises a one-line error listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("model", name, list_models()) from None


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
    if min(shape[:2]) < config.min_input_size:
        raise UsageError(
            f"{name} needs images of at least {config.min_input_size}x{config.min_input_size}, "
            f"got {shape[0]}x{shape[1]}"
        )
    if max(shape[:2]) > MAX_SIDE:
        raise UsageError(f"input images may be at most {MAX_SIDE}x{MAX_SIDE}, got {shape[0]}x{shape[1]}")
    if shape[2] > 64:
        raise UsageError(f"input images may have at most 64 channels, got {shape[2]}")
    if classes < 2:
        raise UsageError(f"num_classes must be at least 2, got {classes}")
    if classes > MAX_CLASSES:
        raise UsageError(f"num_classes may be at most {MAX_CLASSES:,}, got {classes:,}")
    return config.builder(shape, classes, **kwargs)


from zoo.quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # the builders below import Keras: start TensorFlow without its C++ chatter first
from zoo.models import alexnet, cifar_cnn, lenet, mlp  # noqa: E402,F401  (registers the builders and tags)
