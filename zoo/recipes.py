"""Default training recipes per (model, dataset): the one place training defaults live.

The CLI's flags override a recipe field by field, and the saved card records the recipe actually used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from zoo.errors import UnknownNameError


@dataclass(frozen=True)
class Recipe:
    """How to train: optimizer, learning-rate schedule, epochs, batch size and augmentation."""

    optimizer: str = "adam"  # adam | adamw | sgd (with Nesterov momentum 0.9)
    learning_rate: float = 1e-3  # peak learning rate
    schedule: str = "cosine"  # constant | cosine (decays to 0 over the run) | onecycle (warm-up, then cosine)
    epochs: int = 10
    batch_size: int = 128
    weight_decay: float = 0.0
    # "flip" (horizontal), "shift" (translation by up to 1/8, reflected edges),
    # "translate" (translation by up to 7.5% = 2 px on 28x28, black fill, for digits),
    # "distort" (rotation up to 8 degrees and zoom up to 8 %, black fill, for digits)
    augment: tuple[str, ...] = ()

    def override(self, **changes: Any) -> Recipe:
        """A copy with every change that is not None applied."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "augment" in changes:
            changes["augment"] = tuple(changes["augment"])
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = list(self.augment)
        return d


_DEFAULT = Recipe()

_RECIPES: dict[tuple[str, str], Recipe] = {
    ("mlp", "mnist"): Recipe(epochs=20),
    ("mlp", "fashion_mnist"): Recipe(epochs=30),
    ("lenet5", "mnist"): Recipe(epochs=40, augment=("translate", "distort")),
    ("lenet5", "fashion_mnist"): Recipe(learning_rate=2e-3, epochs=40, augment=("flip",)),
    ("cifar_cnn", "cifar10"): Recipe(
        optimizer="sgd", learning_rate=0.05, schedule="onecycle", epochs=60, batch_size=128,
        weight_decay=5e-4, augment=("flip", "shift"),
    ),
}


# Test-split accuracy each default recipe is meant to reach (single run, seed 0), with its reference.
TARGETS: dict[tuple[str, str], float] = {
    ("mlp", "mnist"): 0.984,  # Simard et al. 2003, 800 hidden units: 1.6 % error
    ("lenet5", "mnist"): 0.992,  # LeCun et al. 1998: 0.95 % error (0.8 % with distortions)
    ("mlp", "fashion_mnist"): 0.895,
    ("lenet5", "fashion_mnist"): 0.91,
    ("cifar_cnn", "cifar10"): 0.90,  # Keras' classic cifar10_cnn example: 79 % after 50 epochs
}


# Named alternatives to a default recipe (``zoo train MODEL --recipe NAME``).
_VARIANTS: dict[tuple[str, str, str], Recipe] = {
    # Time to 99 % on a 2-core CPU: few epochs, a higher peak learning rate with warm-up, no augmentation.
    ("lenet5", "mnist", "fast"): Recipe(epochs=3, learning_rate=3e-3, schedule="onecycle"),
}


def recipe_names(model: str, dataset: str) -> list[str]:
    return ["default"] + sorted(n for m, d, n in _VARIANTS if (m, d) == (model, dataset))


def get_recipe(model: str, dataset: str, name: str = "default") -> Recipe:
    """The recipe ``name`` for ``model`` on ``dataset``: "default" (a generic one where none is tuned) or a
    named variant."""
    if name == "default":
        return _RECIPES.get((model, dataset), _DEFAULT)
    if (model, dataset, name) not in _VARIANTS:
        raise UnknownNameError(f"recipe for {model} on {dataset}", name, recipe_names(model, dataset))
    return _VARIANTS[(model, dataset, name)]
