"""A model given as a folder or as a pretrained tag, resolved once; where a tag's weights live, and the check
that they are the ones the tag names. Every command and function that takes MODEL_DIR|TAG goes through here.

A tag's weights are a saved-model folder (``model.keras`` and ``card.json``) named by the tag (``lenet5-mnist``
for ``lenet5.mnist``). They are looked up, in order, in:

1. the cache folder: ``$ZOO_CACHE`` if set, else ``~/.cache/zoo`` (a model folder copied there wins), then
2. the package's own ``weights/`` folder, where an installed wheel (``pip install .``, ``pip install git+URL``)
   carries every tag's ``model.keras`` and ``card.json`` (setup.py copies them in), then
3. the ``saved_models/`` folder of the source tree an editable install (``pip install -e .``) runs from,

and ``model.keras`` must have the SHA-256 the tag records: a changed or damaged file is refused, not loaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import artifacts, tags
from zoo.atomic import sha256
from zoo.card import ModelCard
from zoo.errors import ModelFileError, ZooError
from zoo.recipes import Recipe
from zoo.recipes import describe as describe_recipe

if TYPE_CHECKING:
    import keras

CACHE_ENV = "ZOO_CACHE"
MODEL_FILE = "model.keras"


class WeightsNotFoundError(ZooError, FileNotFoundError):
    """A known tag whose weights are in none of the places zoo looks."""


def real(path: Path) -> Path:
    """``path`` with its links resolved; a link loop is a one-line error naming it (Python raises RuntimeError)."""
    try:
        return path.resolve()
    except RuntimeError:
        raise ModelFileError(f"{path} is a loop of symbolic links; remove it") from None


def search_dirs() -> list[Path]:
    """The folders searched for a tag's weights folder, in order."""
    cache = real(Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "zoo").expanduser())
    here = Path(__file__).resolve().parent
    return [cache, here / "weights", here.parent / "saved_models"]


def locate(name: str) -> Path:
    """The weights folder of the tag ``name`` (or of a model name's default tag), its ``model.keras`` checked
    against the tag's SHA-256."""
    tag = tags.get_tag(name)
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
    if tag.card_sha256 and artifacts.read_card(found).identity_sha256() != tag.card_sha256:
        raise ModelFileError(
            f"{found / artifacts.CARD_FILE} is not the {tag.name} card zoo ships: what it says the model is (classes, "
            f"class names, input, preprocessing) differs from the tag's; {restore_hint(found)}"
        )
    return found


def restore_hint(folder: Path) -> str:
    """How to get a tag's shipped weights folder back, by where ``folder`` is."""
    cache, package, source = search_dirs()
    folder = real(folder)
    if folder.parent == cache:
        return f"remove this copy (rm -r {folder}) to use the weights zoo ships"
    if folder.parent == package:
        return "reinstall zoo to restore them (pip install --force-reinstall --no-deps from where you installed it)"
    return f"restore the shipped folder with: git -C {source.parent} checkout -- saved_models/{folder.name}"


def tag_of_folder(folder: str | os.PathLike) -> str | None:
    """The pretrained tag whose weights folder ``folder`` is (in any place searched), or None."""
    target = real(Path(folder))
    for tag in tags.TAGS:
        if tag.weights and any(real(place / tag.weights) == target for place in search_dirs()):
            return tag.name
    return None


def resolve(model: str | os.PathLike) -> Path:
    """A saved-model folder, given as a path or as a pretrained tag (``lenet5.mnist``): an existing folder wins.
    A missing folder named like a tag's (``lenet5-mnist``) is refused with the tag's name."""
    path = Path(model)
    if path.exists():
        return path
    if isinstance(model, str) and "." in model and "/" not in model:
        if model not in tags.list_tags():
            raise ModelFileError(
                f"{model} is neither a model folder nor a pretrained tag (tags: {', '.join(tags.list_tags())})"
            )
        return locate(model)
    similar = [t.name for t in tags.TAGS if t.weights == path.name or t.name == path.name.replace("-", ".", 1)]
    if similar:
        raise ModelFileError(f"model folder {path} does not exist (did you mean the pretrained tag {similar[0]}?)")
    return path


def read_card(model: str | os.PathLike) -> ModelCard:
    """The card of a model folder or a pretrained tag (no TensorFlow: a tag lookup answers at once)."""
    return artifacts.read_card(resolve(model))


def load(model: str | os.PathLike) -> tuple[keras.Model, ModelCard]:
    """Load ``(keras_model, card)`` from a saved-model folder or a pretrained tag (``"lenet5.mnist"``), with Keras
    safe_mode on; a tag's ``model.keras`` is checked against its SHA-256 first."""
    return artifacts.load(resolve(model))


def tag_rows() -> list[dict[str, Any]]:
    """Every tag with its recipes, target, and the test accuracy its weights' card records, single view and with
    test-time augmentation (None where not scored or the weights are not found): what ``zoo list`` shows."""
    rows = []
    for name in tags.list_tags():
        tag = tags.get_tag(name)
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


def describe(model: str | os.PathLike) -> list[str]:
    """A person's view of a model folder or tag in at most 20 lines (``zoo info``): what it is, what it scored,
    how and where it was trained, its exports and the SHA-256 of its weights."""
    folder = resolve(model)
    card = artifacts.read_card(folder)
    tag = tag_of_folder(folder)
    named_tag = isinstance(model, str) and model in tags.list_tags()  # resolve checked its weights' SHA-256
    weights = folder / artifacts.MODEL_FILE
    m, pct = card.metrics, lambda v: f"{100 * v:.2f} %"
    test = f"{pct(m['test_accuracy'])}" if "test_accuracy" in m else "not scored"
    test += f" ({pct(m['test_accuracy_tta'])} with test-time augmentation)" if "test_accuracy_tta" in m else ""
    test += f" on {card.examples['test']:,} test images" if card.examples.get("test") else ""

    def with_tta(key: str) -> str:
        return pct(m[key]) + (f" ({pct(m[key + '_tta'])} with TTA)" if key + "_tta" in m else "")

    if "original_pixels_accuracy" in m:  # a dataset rebuilt from lossy copies, also scored on original images
        test += f"; {with_tta('original_pixels_accuracy')} on {card.examples.get('original_pixels', 0):,}"
        test += " with their original pixels"
        if "original_pixels_copies_accuracy" in m:  # the same images as they are in the test split
            test += f", {with_tta('original_pixels_copies_accuracy')} on their copies in the test split"
    recipe_fields = {k: v for k, v in card.recipe.items() if k in Recipe.__dataclass_fields__}
    try:
        recipe = f"{card.recipe.get('name', 'default')}: {describe_recipe(Recipe(**recipe_fields).override())}"
    except (TypeError, ValueError):
        recipe = "(not readable)"
    runtime = card.runtime
    trained = ", ".join(
        part
        for part in (
            card.date[:10],
            runtime.get("device") + (f" ({runtime['cpu_isa']})" if runtime.get("cpu_isa") else "")
            if runtime.get("device")
            else None,
            f"oneDNN {'on' if runtime.get('onednn') else 'off'}" if "onednn" in runtime else None,
            runtime.get("precision"),
            f"{card.training_seconds:,.0f} s" if card.training_seconds else None,
            f"seed {card.seed}" if card.seed is not None else None,
        )
        if part
    )
    exports = ", ".join(
        f"{name} ({'parity ok' if (e.get('parity') or {}).get('ok') else 'parity FAILED'})"
        for name, e in card.exports.items()
        if isinstance(e, dict) and _export_present(folder, e)
    )
    names = ", ".join(card.class_names[:10]) + (", ..." if len(card.class_names) > 10 else "")
    d, init = card.data, card.init
    images = None
    if d.get("source") == "folder" or d.get("resize") or d.get("converted") or d.get("skipped_images"):
        images = ", ".join(
            str(part)
            for part in (
                f"from the folder {d['path']}" if d.get("path") else None,
                f"fitted to {d['image_size'][0]}x{d['image_size'][1]} ({d['resize']})"
                if d.get("resize") and isinstance(d.get("image_size"), list) and len(d["image_size"]) == 2
                else None,
                f"colour {d['converted']}" if d.get("converted") else None,
                f"{d['skipped_images']} unreadable images skipped" if d.get("skipped_images") else None,
                f"test: {d['test_split']}" if d.get("test_split") and d.get("test_split") != "test" else None,
            )
            if part
        )
    start = None
    if init:
        start = f"{init.get('from')} ({init.get('model')} on {init.get('dataset')}, model.keras sha256 "
        start += f"{str(init.get('sha256'))[:16]}...): {len(init.get('copied') or [])} layers copied"
        start += f", new {', '.join(map(str, init['new']))}" if init.get("new") else ""
        start += "".join(f", {k} adapted ({v})" for k, v in (init.get("adapted") or {}).items())
        start += f", frozen {', '.join(map(str, init['frozen']))}" if init.get("frozen") else ""
    limit = d.get("train_limit")
    lines = [
        f"{tag or card.tag}  ({'pretrained tag, ' if tag else ''}{folder})",
        f"  model     {card.model}, {card.params:,} params" if card.params else f"  model     {card.model}",
        f"  input     {'x'.join(map(str, card.input_shape))} pixels / 255 in [0, 1] (exports: raw pixels 0-255) -> "
        f"{card.num_classes} classes",
        f"  dataset   {card.dataset}: {names}",
        f"  images    {images}" if images else None,
        f"  subset    the first {limit} training images" if isinstance(limit, int) else None,
        f"  subset    the first {limit:.0%} of the training images" if isinstance(limit, float) else None,
        f"  init      {start}" if start else None,
        f"  test      {test}",
        f"  recipe    {recipe}",
        f"  trained   {trained}" if trained else None,
        f"  command   {card.command}" if card.command else None,
        f"  versions  {', '.join(f'{k} {v}' for k, v in card.versions.items() if k in VERSIONS_SHOWN)}"
        if card.versions
        else None,
        f"  exports   {exports or 'none (zoo export MODEL_DIR)'}",
        f"  weights   {artifacts.MODEL_FILE} sha256 {tags.get_tag(model).sha256 if named_tag else sha256(weights)}"
        if weights.is_file()
        else f"  weights   {artifacts.MODEL_FILE} missing",
    ]
    return [line for line in lines if line is not None]


VERSIONS_SHOWN = ("zoo", "tensorflow", "keras")


def _export_present(folder: Path, entry: dict) -> bool:
    """An export the card records is in the folder (a wheel carries a tag's model and card, not its exports)."""
    path = entry.get("path")
    return isinstance(path, str) and "/" not in path and path not in ("", ".", "..") and (folder / path).exists()
