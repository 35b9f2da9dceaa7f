"""The model card: what a saved model is, how it was trained, what it scored, and its exports.

One typed record (after torchvision's weights metadata), written by training as ``card.json`` and read by every
other module through :meth:`ModelCard.from_json`, which checks every field other modules rely on. Its
``preprocessing`` says what the model takes: since schema 3 (as in schema 1, the cards before the schema had a
version) float32 in [0, 1], pixels / 255 (``in_model`` false); a schema-2 model scales raw pixels itself
(``in_model`` true), and :func:`zoo.artifacts.load` puts a ×255 in front of it so that it takes [0, 1] too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 3  # 3: the loaders scale pixels by 1/255; 2: the model scaled them itself; 1: before (no field)
MAX_SIDE = 4096  # pixels: a larger input side in a card is refused before anything is allocated
MAX_CLASSES = 100_000

IDENTITY_FIELDS = ("model", "dataset", "input_shape", "num_classes", "class_names", "preprocessing")
LEGACY_PREPROCESSING = {"input": "uint8 images (H x W x C)", "scale": "x / 255 -> float32 in [0, 1]", "in_model": False}


class CardError(ValueError):
    """A card whose fields are missing or of the wrong kind (``from_json`` says which)."""


@dataclass
class ModelCard:
    """A saved model's card. ``metrics`` holds test/val accuracy and loss (``test_accuracy_tta`` with TTA);
    ``recipe`` is the :class:`zoo.recipes.Recipe` used, with its ``name``; ``exports`` maps a format to its file,
    SHA-256 and parity check."""

    model: str
    dataset: str
    input_shape: list[int]  # H, W, C
    num_classes: int
    class_names: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    params: int | None = None
    epochs: int | None = None
    recipe: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    examples: dict[str, int] = field(default_factory=dict)  # images in the train, val and test splits
    seed: int | None = None
    runtime: dict[str, Any] = field(default_factory=dict)  # device, oneDNN, strategy, precision
    training_seconds: float | None = None
    epoch_seconds: list[float] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    date: str = ""
    command: str = ""
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    # How the images were read: source (tfds or folder), image size, resize rule, colour, splits, skipped files
    data: dict[str, Any] = field(default_factory=dict)
    init: dict[str, Any] = field(default_factory=dict)  # a pretrained start: from, its SHA-256, layers copied/frozen
    schema_version: int = SCHEMA_VERSION

    @property
    def labels(self) -> list[str]:
        """The class names, or the class numbers as text where the card names none."""
        return list(self.class_names or [str(i) for i in range(self.num_classes)])

    @property
    def fits_images(self) -> bool:
        """Whether images of another size are fitted by :mod:`zoo.images`' rule (aspect kept, centre crop), as the
        model's training images were: models trained on a folder or with an image size."""
        return bool(self.data.get("resize")) or self.data.get("source") == "folder"

    @property
    def tag(self) -> str:
        """The pretrained-tag form of what this is: ``model.dataset``."""
        return f"{self.model}.{self.dataset}"

    @property
    def pixels_in_model(self) -> bool:
        """Whether the model takes raw pixels (it scales them itself), as the models of schema 2 did."""
        return bool(self.preprocessing.get("in_model", False))

    def identity_sha256(self) -> str:
        """SHA-256 of what the card says the model is (model, dataset, input, classes and their names,
        preprocessing), not of what changes with use (exports): a pretrained tag checks it, so that a cached card
        with other class names is refused."""
        identity = {k: getattr(self, k) for k in IDENTITY_FIELDS}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    @property
    def scored_accuracy(self) -> float | None:
        """The test accuracy the model is judged by: with test-time augmentation where its recipe used it."""
        return self.metrics.get("test_accuracy_tta", self.metrics.get("test_accuracy"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> ModelCard:
        """A card from parsed JSON; a missing or malformed field raises :class:`CardError` naming it."""
        if not isinstance(data, dict) or "model" not in data or "input_shape" not in data:
            raise CardError("not a zoo model card (no 'model' or 'input_shape')")
        data = dict(data)
        version = data.setdefault("schema_version", 1)
        if not _is_int(version) or not 1 <= version <= SCHEMA_VERSION:
            raise CardError(
                f"'schema_version' {version!r:.20} is not one this zoo reads (1 to {SCHEMA_VERSION}): "
                "a newer zoo wrote it?"
            )
        if version == 1:
            data.setdefault("preprocessing", LEGACY_PREPROCESSING)
        problem = _problem(data)
        if problem:
            raise CardError(problem)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CardError(f"not JSON ({err})") from None
        return cls.from_dict(data)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _problem(card: dict[str, Any]) -> str | None:
    """What is wrong with a card's fields that other modules rely on, or None."""
    for key in ("model", "dataset"):
        if not isinstance(card.get(key), str) or not card[key]:
            return f"'{key}' must be a non-empty string"
    shape = card.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(_is_int(d) and 1 <= d <= MAX_SIDE for d in shape)):
        return f"'input_shape' must be [H, W, C] of integers from 1 to {MAX_SIDE}, got {shape!r:.60}"
    classes = card.get("num_classes")
    if not (_is_int(classes) and 2 <= classes <= MAX_CLASSES):
        return f"'num_classes' must be an integer from 2 to {MAX_CLASSES:,}, got {classes!r:.40}"
    names = card.get("class_names", [])
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and len(names) in (0, classes)):
        return f"'class_names' must be {classes} strings"
    for key in ("preprocessing", "recipe", "metrics", "examples", "runtime", "versions", "exports", "data", "init"):
        if not isinstance(card.get(key, {}), dict):
            return f"'{key}' must be an object"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in card.get("metrics", {}).values()):
        return "'metrics' must map names to numbers"
    return None
