"""A recipe's optimizer, learning-rate schedule and loss, as ``zoo train`` compiles them.

None of this is saved in ``model.keras`` (the saved copy is rebuilt without optimizer or compile state), so
the classes here never need zoo to load a model.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import UsageError
from zoo.recipes import Recipe

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "onecycle", "linear")


def _keras():
    import keras

    return keras


class WarmupLinear(_keras().optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``start * peak`` to ``peak`` over ``warmup_steps``, then linear decay to ``end * peak``
    at ``total_steps`` (airbench's schedule: start 0.2, warm-up 23 %, end 0.07)."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, start: float, end: float):
        self.peak, self.total_steps, self.warmup_steps = peak, total_steps, warmup_steps
        self.start, self.end = start, end

    def __call__(self, step):
        ops = _keras().ops
        step = ops.cast(step, "float32")
        warm = ops.maximum(float(self.warmup_steps), 1.0)
        rising = self.start + (1.0 - self.start) * step / warm
        falling_frac = ops.clip((step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps), 0.0, 1.0)
        falling = 1.0 + (self.end - 1.0) * falling_frac
        return self.peak * ops.where(step < self.warmup_steps, rising, falling)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "start": self.start,
            "end": self.end,
        }


def learning_rate(recipe: Recipe, total_steps: int):
    """The recipe's learning rate: a float, or a schedule over ``total_steps`` optimizer steps."""
    keras = _keras()
    total = max(1, total_steps)
    if recipe.schedule == "constant":
        return recipe.learning_rate
    if recipe.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=total)
    if recipe.schedule == "onecycle":
        warmup = max(1, int(0.2 * total))
        return keras.optimizers.schedules.CosineDecay(
            recipe.learning_rate / 20,
            decay_steps=max(1, total - warmup),  # (a run of one step is all warm-up)
            warmup_target=recipe.learning_rate,
            warmup_steps=warmup,
        )
    if recipe.schedule == "linear":
        return WarmupLinear(recipe.learning_rate, total, int(recipe.warmup * total), recipe.start_lr, recipe.end_lr)
    raise UsageError(f"unknown schedule {recipe.schedule!r}; known: {', '.join(SCHEDULES)}")


def _zoo_optimizer(base: type) -> type:
    """``base`` (a Keras optimizer class) with two additions, both kept in the optimizer's state (so a resumed run
    continues exactly):

    - ``gradient_scales``: multiplies the gradients of chosen variables (by their path) before the update, a
      per-variable learning-rate multiplier (decoupled weight decay is not scaled);
    - ``lookahead``: ``(every, total_steps, extra_variables)``: airbench's lookahead. Every ``every`` steps the
      average of the trainable variables and of ``extra_variables`` (the BatchNorm statistics, which Keras' own
      EMA leaves out) moves towards their live values by ``1 - decay``, decay = 0.95**every * (step/total)**3, and
      is copied back into them; at ``total_steps`` the average is copied into them one last time.
    """

    class ZooOptimizer(base):
        def __init__(self, *args, gradient_scales=None, lookahead=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.gradient_scales = dict(gradient_scales or {})
            self.lookahead_every, self.lookahead_total, extra = lookahead or (0, 0, [])
            self._lookahead_extra = list(extra)

        def build(self, variables):
            super().build(variables)
            if self.lookahead_every:
                # The averages start at 0: the first update's decay is ~1e-5 (step 5 of hundreds), so it is the
                # live value to within 1e-5 of it, as if started from the initial weights.
                self._lookahead_targets = [*variables, *self._lookahead_extra]
                self._lookahead_averages = [
                    self.add_variable_from_reference(v, name="lookahead") for v in self._lookahead_targets
                ]

        def apply(self, grads, trainable_variables=None):
            if self.gradient_scales and trainable_variables is not None:
                trainable_variables = list(trainable_variables)
                grads = [
                    g if g is None else g * self.gradient_scales.get(v.path, 1.0)
                    for g, v in zip(grads, trainable_variables, strict=True)
                ]
            result = super().apply(grads, trainable_variables)
            if self.lookahead_every:
                self._lookahead_update()
            return result

        def _lookahead_update(self):
            ops = _keras().ops
            step = self.iterations  # already counts the step just taken
            due = ops.cast(ops.equal(step % self.lookahead_every, 0), "float32")
            last = ops.cast(ops.greater_equal(step, self.lookahead_total), "float32")
            progress = ops.minimum(ops.cast(step, "float32") / float(max(1, self.lookahead_total)), 1.0)
            weight = due * (1.0 - 0.95**self.lookahead_every * progress**3)  # of the live values in the average
            copy = ops.maximum(due, last)
            for var, average in zip(self._lookahead_targets, self._lookahead_averages, strict=True):
                new = average + ops.cast(weight, average.dtype) * (ops.cast(var, average.dtype) - average)
                average.assign(new)
                var.assign(var + ops.cast(copy, var.dtype) * (ops.cast(new, var.dtype) - var))

    ZooOptimizer.__name__ = f"Zoo{base.__name__}"
    return ZooOptimizer


def batchnorm_statistics(model) -> list:
    """The moving means and variances of every BatchNormalization layer in ``model``."""
    keras = _keras()
    return [
        v
        for layer in _layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
        for v in (layer.moving_mean, layer.moving_variance)
    ]


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def bn_bias_scales(model, factor: float) -> dict[str, float]:
    """``{path: factor}`` for every BatchNormalization beta (bias) of ``model``."""
    keras = _keras()
    if factor == 1.0:
        return {}
    return {
        layer.beta.path: factor
        for layer in _layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.center
    }


def make_optimizer(recipe: Recipe, steps_per_epoch: int, model=None):
    """The recipe's optimizer with its schedule over ``epochs × steps_per_epoch`` steps (and, given ``model``,
    its BatchNorm-bias learning-rate multiplier)."""
    keras = _keras()
    lr = learning_rate(recipe, recipe.epochs * steps_per_epoch)
    common: dict[str, Any] = {}
    if recipe.ema:
        common = {"use_ema": True, "ema_momentum": recipe.ema, "ema_overwrite_frequency": recipe.ema_every or None}
    scales = bn_bias_scales(model, recipe.bn_bias_lr) if model is not None else {}
    if recipe.lookahead:
        extra = batchnorm_statistics(model) if model is not None else []
        common["lookahead"] = (recipe.lookahead, recipe.epochs * steps_per_epoch, extra)
    if recipe.optimizer == "adam":
        cls, kwargs = keras.optimizers.Adam, {"beta_1": recipe.beta_1, "beta_2": recipe.beta_2}
    elif recipe.optimizer == "adamw":
        cls, kwargs = (
            keras.optimizers.AdamW,
            {"beta_1": recipe.beta_1, "beta_2": recipe.beta_2, "weight_decay": recipe.weight_decay},
        )
    elif recipe.optimizer == "sgd":
        cls, kwargs = (
            keras.optimizers.SGD,
            {"momentum": recipe.momentum, "nesterov": True, "weight_decay": recipe.weight_decay or None},
        )
    else:
        raise UsageError(f"unknown optimizer {recipe.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    if recipe.optimizer == "adam" and recipe.weight_decay:
        kwargs["weight_decay"] = recipe.weight_decay
    if scales or recipe.lookahead:
        return _zoo_optimizer(cls)(lr, gradient_scales=scales, **kwargs, **common)
    return cls(lr, **kwargs, **common)


def make_loss(recipe: Recipe, num_classes: int):
    """Sparse categorical cross-entropy on the model's probabilities, with the recipe's label smoothing."""
    keras = _keras()
    if not recipe.label_smoothing:
        return "sparse_categorical_crossentropy"
    smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)

    def sparse_smoothed_crossentropy(y_true, y_pred):
        ops = keras.ops
        one_hot = ops.one_hot(ops.cast(ops.reshape(y_true, [-1]), "int32"), num_classes)
        return smoothed(one_hot, y_pred)

    return sparse_smoothed_crossentropy


def compile_model(model, recipe: Recipe, steps_per_epoch: int, jit: bool = False, steps_per_execution: int = 1):
    """Compile ``model`` as ``zoo train`` trains it: the recipe's optimizer, schedule and loss."""
    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch, model),
        loss=make_loss(recipe, int(model.output_shape[-1])),
        metrics=["accuracy"],
        jit_compile=jit,
        steps_per_execution=steps_per_execution,
    )
