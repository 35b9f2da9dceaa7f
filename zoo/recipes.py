"""Training recipes: every hyperparameter of a run in one dataclass, with its unit.

The tuned recipes live with their pretrained tags (:mod:`zoo.tags`). The CLI's flags override a recipe field by
field, and the saved card records the recipe actually used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from zoo.errors import plural


@dataclass(frozen=True)
class Recipe:
    """How to train: every hyperparameter in one place, with its unit. Any model can use any field."""

    optimizer: str = "adam"  # adam | adamw | sgd (Nesterov momentum)
    learning_rate: float = 1e-3  # peak learning rate, for the batch-mean loss
    # constant | cosine (decays to 0) | onecycle (warm-up from lr/20 over 20 % of steps, then cosine to 0) |
    # linear (warm-up from start_lr*lr over `warmup` of the steps, then linear decay to end_lr*lr)
    schedule: str = "cosine"
    warmup: float = 0.2  # linear: fraction of all steps spent warming up
    start_lr: float = 0.05  # linear: learning rate at step 0, as a fraction of the peak
    end_lr: float = 0.0  # linear: learning rate at the last step, as a fraction of the peak
    momentum: float = 0.9  # sgd: Nesterov momentum
    beta_1: float = 0.9  # adam, adamw
    beta_2: float = 0.999  # adam, adamw
    epochs: int = 10
    batch_size: int = 128  # the global batch (split over replicas)
    weight_decay: float = 0.0  # decoupled: every step w -= learning_rate * weight_decay * w
    label_smoothing: float = 0.0  # cross-entropy against (1 - s) * one_hot + s / classes
    bn_bias_lr: float = 1.0  # learning-rate multiplier for BatchNorm biases (airbench: 64)
    # Weight averaging: an exponential moving average of the trainable weights (momentum per step; 0 = off),
    # kept in the optimizer state (so it resumes exactly) and written into the model at the end of training,
    # so the saved weights are the averages. ema_every > 0 also copies the average into the live weights every
    # that many steps (lookahead-style).
    ema: float = 0.0
    ema_every: int = 0
    # Lookahead (airbench): every `lookahead` steps (0 = off), average the weights AND the BatchNorm statistics
    # (decay 0.95**lookahead * (step / steps)**3, so near 0 early and 0.77 at the end), then copy the average back
    # into the model; the last step leaves the average in it. Kept in the optimizer state, so it resumes exactly.
    lookahead: int = 0
    whiten_bias_epochs: int = 0  # cifar_cnn: epochs its whitening layer's bias trains before it freezes (airbench: 3)
    validation: float = 0.1  # fraction of the training split held out for validation; 0 trains on all of it
    # "flip" (horizontal, random), "altflip" (random in epoch 0, then every image flipped on odd epochs),
    # "crop" (translation by up to 2 px, reflected edges), "shift" (translation by up to 1/8 of the size, reflected
    # edges), "translate" (up to 7.5% = 2 px on 28x28, black fill, for digits), "distort" (rotation up to 8 degrees
    # and zoom up to 8 %, black fill, for digits)
    augment: tuple[str, ...] = ()
    # precision="auto" trains in mixed_bfloat16 (bfloat16 compute, float32 weights and softmax) on CPUs with native
    # bfloat16 (AVX512_BF16, AMX) when this is set: where that was measured faster at equal accuracy
    cpu_bfloat16: bool = False
    tta: bool = False  # also score the test split with test-time augmentation (mirror + 1-px translations)

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


GENERIC = Recipe()  # for a model and dataset with no tag (and so no tuned recipe)

# Limits checked before any work (by the library and by the CLI's option types).
MAX_EPOCHS = 100_000
MAX_BATCH = 2**31 - 1  # TensorFlow indexes a batch with int32
MAX_SEED = 2**32 - 1  # NumPy's and Python's seeds


def describe(recipe: Recipe) -> str:
    """A recipe in one line: optimizer, peak learning rate, schedule, epochs, batch, extras, augmentation."""
    extras = [f"{k} {getattr(recipe, k):g}" for k in ("weight_decay", "label_smoothing", "ema") if getattr(recipe, k)]
    extras += [f"BN-bias lr x{recipe.bn_bias_lr:g}"] if recipe.bn_bias_lr != 1 else []
    extras += [f"lookahead every {recipe.lookahead}"] if recipe.lookahead else []
    extras += [f"whitening bias {plural(recipe.whiten_bias_epochs, 'epoch')}"] if recipe.whiten_bias_epochs else []
    extras += ["no validation split"] if not recipe.validation else []
    extras += ["bfloat16 on CPUs with it"] if recipe.cpu_bfloat16 else []
    extras += ["TTA"] if recipe.tta else []
    return (
        f"{recipe.optimizer} {recipe.learning_rate:g} {recipe.schedule}, {plural(recipe.epochs, 'epoch')} of batch "
        f"{recipe.batch_size}" + "".join(f", {e}" for e in extras) + f", augment {'+'.join(recipe.augment) or 'none'}"
    )
