"""One door to a model (timm's ``create_model``): by model name or pretrained tag, fresh or with the tag's trained
weights. The builders live in :mod:`zoo.models`, the registry in :mod:`zoo.registry`.

>>> import zoo
>>> zoo.create_model("lenet5.mnist", pretrained=True)   # the tag's trained weights (SHA-256 checked)
>>> zoo.create_model("lenet5", input_shape=(32, 32, 3), num_classes=10)   # a fresh, untrained model
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo import artifacts, data, tags
from zoo.errors import UsageError
from zoo.models import create
from zoo.pretrained import locate

if TYPE_CHECKING:
    import keras


def create_model(
    name: str,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    *,
    pretrained: bool = False,
    **kwargs: Any,
) -> keras.Model:
    """Build ``name``, a model (``"lenet5"``) or a pretrained tag (``"lenet5.mnist"``: built for that dataset's
    images and classes), as an uncompiled Keras model that takes pixels / 255 (``zoo.data.normalize``); with
    ``pretrained=True``, with the tag's trained weights (SHA-256 checked; a model name means its default tag)."""
    model_name, _, dataset = name.partition(".")
    if not pretrained:
        if dataset:
            tags.get_tag(name)  # an unknown tag fails here, listing the known ones
            info = data.get_info(dataset)
            input_shape = input_shape or info.input_shape
            num_classes = num_classes or info.num_classes
        return create(model_name, input_shape=input_shape, num_classes=num_classes, **kwargs)
    tag = tags.get_tag(name)
    if kwargs:
        raise UsageError(
            f"pretrained {tag.name} is built as it was trained: builder arguments "
            f"({', '.join(f'`{k}`' for k in kwargs)}) do not apply; pass `pretrained=False`"
        )
    model, card = artifacts.load(locate(tag.name))
    wanted = (tuple(input_shape or card.input_shape), int(num_classes or card.num_classes))
    if wanted != (tuple(card.input_shape), card.num_classes):
        raise UsageError(
            f"pretrained {tag.name} takes {'x'.join(map(str, card.input_shape))} images and "
            f"gives {card.num_classes} classes; pass `pretrained=False` to build for other shapes"
        )
    return model
