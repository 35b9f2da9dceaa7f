"""Where a pretrained tag's weights live, and the check that they are the ones the tag names.

A tag's weights are a saved-model folder (``model.keras`` and ``card.json``) named by the tag (``lenet5-mnist``
for ``lenet5.mnist``). They are looked up, in order, in:

1. the cache folder: ``$ZOO_CACHE`` if set, else ``~/.cache/zoo`` (a model folder copied there wins), then
2. the package's own ``weights/`` folder, where an installed wheel (``pip install .``, ``pip install git+URL``)
   carries every tag's ``model.keras`` and ``card.json`` (setup.py copies them in), then
3. the ``saved_models/`` folder of the source tree an editable install (``pip install -e .``) runs from,

and ``model.keras`` must have the SHA-256 the tag records: a changed or damaged file is refused, not loaded.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ModelFileError, UsageError, ZooError

if TYPE_CHECKING:
    import keras

CACHE_ENV = "ZOO_CACHE"
MODEL_FILE = "model.keras"


class WeightsNotFoundError(ZooError, FileNotFoundError):
    """A known tag whose weights are in none of the places zoo looks."""


def search_dirs() -> list[Path]:
    """The folders searched for a tag's weights folder, in order."""
    cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "zoo").expanduser().resolve()
    here = Path(__file__).resolve().parent
    return [cache, here / "weights", here.parent.parent / "saved_models"]


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, in sorted order), in 1 MiB reads."""
    path, digest = Path(path), hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def locate(name: str) -> Path:
    """The weights folder of the tag ``name`` (or of a model name's default tag), its ``model.keras`` checked
    against the tag's SHA-256."""
    from zoo import models

    tag = models.get_tag(name)
    if tag.weights is None:
        raise WeightsNotFoundError(
            f"{tag.name} has a recipe but no trained weights; train it: zoo.train({tag.model!r}, {tag.dataset!r})"
        )
    places = [folder / tag.weights for folder in search_dirs()]
    found = next((p for p in places if (p / MODEL_FILE).is_file()), None)
    if found is None:
        raise WeightsNotFoundError(
            f"the weights of {tag.name} ({tag.weights}/{MODEL_FILE}) are in none of: "
            f"{', '.join(str(p.parent) for p in places)}; copy the {tag.weights} folder of zoo's saved_models "
            f"into {places[0].parent} (or set {CACHE_ENV})"
        )
    if tag.sha256 and sha256(found / MODEL_FILE) != tag.sha256:
        raise ModelFileError(
            f"{found / MODEL_FILE} is not the {tag.name} model zoo ships: its SHA-256 differs "
            f"from the tag's ({tag.sha256[:12]}...); {restore_hint(found)}"
        )
    return found


def restore_hint(folder: Path) -> str:
    """How to get a tag's shipped weights folder back, by where ``folder`` is."""
    cache, package, source = search_dirs()
    folder = folder.resolve()
    if folder.parent == cache:
        return f"remove this copy (rm -r {folder}) to use the weights zoo ships"
    if folder.parent == package:
        return "reinstall zoo to restore them (pip install --force-reinstall --no-deps from where you installed it)"
    return f"restore the shipped folder with: git -C {source.parent} checkout -- saved_models/{folder.name}"


def tag_of_folder(folder: str | os.PathLike) -> str | None:
    """The pretrained tag whose weights folder ``folder`` is (in any place searched), or None."""
    from zoo import models

    target = Path(folder).resolve()
    for name in models.list_tags():
        weights = models.get_tag(name).weights
        if weights and any((place / weights).resolve() == target for place in search_dirs()):
            return name
    return None


def suggest_tag(folder: str | os.PathLike) -> str:
    """`` (did you mean the pretrained tag lenet5.mnist?)`` for a missing folder named like a tag's weights."""
    from zoo import models

    name = Path(folder).name
    matches = [t for t in models.list_tags() if models.get_tag(t).weights == name or t == name.replace("-", ".", 1)]
    return f" (did you mean the pretrained tag {matches[0]}?)" if matches else ""


def resolve(model: str | os.PathLike) -> Path:
    """A saved-model folder, given as a path or as a pretrained tag (``lenet5.mnist``): an existing folder wins."""
    path = Path(model)
    if path.exists() or not isinstance(model, str) or "." not in model or "/" in model:
        return path
    from zoo import models

    if model not in models.list_tags():
        raise ModelFileError(
            f"{model} is neither a model folder nor a pretrained tag (tags: {', '.join(models.list_tags())})"
        )
    return locate(model)


def create_model(
    name: str,
    *,
    pretrained: bool = False,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    **kwargs: Any,
) -> keras.Model:
    """Build ``name``, a model (``lenet5``) or a tag (``lenet5.mnist``: built for that dataset's images and
    classes); with ``pretrained``, load the tag's trained weights (a model name means its default dataset's tag)."""
    from zoo import artifacts, data, models

    model_name, _, dataset = name.partition(".")
    if not pretrained:
        if dataset:
            models.get_tag(name)  # an unknown tag fails here, listing the known ones
            shape, classes = data.DATASETS[dataset]
            input_shape = input_shape or shape
            num_classes = num_classes or classes
        return models.create(model_name, input_shape=input_shape, num_classes=num_classes, **kwargs)
    tag = models.get_tag(name)
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


def tag_rows() -> list[dict[str, Any]]:
    """Every tag with its recipes, target, and the test accuracy its weights' card records, single view and with
    test-time augmentation (None where not scored or the weights are not found): what ``zoo list`` shows."""
    from zoo import artifacts, models

    rows = []
    for name in models.list_tags():
        tag = models.get_tag(name)
        try:
            folder = locate(name)
            card = artifacts.read_card(folder)
            accuracy, tta, weights = (
                card.metrics.get("test_accuracy"),
                card.metrics.get("test_accuracy_tta"),
                str(folder),
            )
        except (ZooError, KeyError):
            accuracy, tta, weights = None, None, "not found" if tag.weights else "none (recipe only)"
        rows.append(
            {
                "tag": name,
                "accuracy": accuracy,  # single view
                "accuracy_tta": tta,  # with test-time augmentation, where the recipe scores it
                "target": tag.target,
                "recipes": ["default", *sorted(tag.recipes)],
                "weights": weights,
            }
        )
    return rows
