"""Training: recipe → data → model → ``fit`` with resumable state → the saved-model folder.

A run keeps its state in ``.<name>.run/`` beside its output folder (:mod:`zoo.runstate`: weights, optimizer
state and per-epoch history, changed together by one rename), so the same command started again after a crash
resumes from the last completed epoch. The folder is removed once the model is saved.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo import artifacts, atomic, data, distribute, fastops, finetune, models, runstate, sources
from zoo.card import ModelCard
from zoo.checks import check_int, check_positive, check_type
from zoo.device import PRECISIONS, choose_precision, is_cpu, library_versions, onednn_enabled, use_device, vector_isa
from zoo.errors import UsageError, ZooError, plural
from zoo.evaluation import predict_probs, scores
from zoo.optim import compile_model
from zoo.plots import curves_png
from zoo.pretrained import restore_hint, tag_of_folder
from zoo.recipes import MAX_BATCH, MAX_EPOCHS, MAX_SEED, Recipe
from zoo.tags import get_recipe

if TYPE_CHECKING:
    import keras


@dataclass
class TrainResult:
    model_dir: Path
    card: ModelCard
    history: dict[str, list[float]]
    model: keras.Model


def default_output(model: str, dataset: str) -> Path:
    """Where a run goes when no output is named: ``runs/<model>-<dataset>``, never the shipped weights."""
    return Path("runs") / f"{model}-{dataset.replace('/', '_')}"


def check_not_shipped(out: Path, named: bool, overwrite: bool, log) -> None:
    """The folder of a pretrained tag's weights is replaced only when named as the output and with ``overwrite``
    (and the log says how to get the shipped one back); by default, never."""
    tag = tag_of_folder(out) if out.exists() else None
    if tag is None:
        return
    if not named:
        raise UsageError(f"{out} holds the shipped weights of the pretrained tag {tag}; name another `output`")
    if not overwrite:
        raise UsageError(
            f"{out} holds the shipped weights of the pretrained tag {tag}; name another `output`, "
            "or pass `overwrite=True` to replace them"
        )
    log(f"Replacing the shipped weights of {tag} in {out}; to get them back, {restore_hint(out)}")


class Diverged(ZooError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept for resuming with other settings."""


# A running loss over 4x its first value (at least 4.0) means the run diverged. Cross-entropy on clipped
# probabilities never reaches NaN: a net blown up by a huge learning rate sits near -log(1e-7) = 16 instead.
DIVERGENCE_FACTOR = 4.0


def _nan_guard():
    """Stop at the first batch whose running loss is not finite or has grown past 4x its first value in this
    process (at least 4.0: a run that explodes without a NaN), before that epoch can be checkpointed."""
    import keras

    class _NanGuard(keras.callbacks.Callback):
        first: float | None = None

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = float((logs or {}).get("loss", 0.0))
            self.first = loss if self.first is None else self.first
            if not math.isfinite(loss):
                raise Diverged(f"training diverged: loss {loss} at epoch {self.epoch + 1}, batch {batch + 1}")
            if loss > DIVERGENCE_FACTOR * max(self.first, 1.0):
                raise Diverged(
                    f"training diverged: loss {loss:.3g} at epoch {self.epoch + 1}, batch {batch + 1}, "
                    f"over {DIVERGENCE_FACTOR:g}x its first value {self.first:.3g}"
                )

    return _NanGuard()


def _bias_schedule(model, layer_name: str, epochs: int):
    """Train the bias of ``layer_name`` (where ``model`` has such a layer with a bias) in the first ``epochs``
    epochs only, then freeze it (airbench's whitening bias). The train step is retraced at the switch, so the
    frozen bias then gets neither gradient nor weight decay."""
    import keras

    layer = next((la for la in model.layers if la.name == layer_name and getattr(la, "bias", None) is not None), None)

    class _BiasSchedule(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            trainable = epoch < epochs
            if layer is not None and layer.bias.trainable != trainable:
                layer.bias.trainable = trainable
                self.model.make_train_function(force=True)

    return _BiasSchedule()


def _reseed_layers(model, seed: int):
    """At every epoch's start, set the random state of each layer that draws its own (Dropout) from (``seed``,
    the layer, the epoch): that state is not in a checkpoint, so otherwise a resumed run would draw other masks."""
    import keras
    import numpy as np

    generators = [la.seed_generator for la in model.layers if hasattr(la, "seed_generator")]

    class _Reseed(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            for i, generator in enumerate(generators):
                dtype = keras.backend.standardize_dtype(generator.state.dtype)
                generator.state.assign(np.array([seed + 7919 * i, epoch << 20], dtype))  # 2**20 draws per epoch

    return _Reseed()


def set_op_determinism(enabled: bool) -> None:
    """Bit-repeatable ops for a run, except under XLA: Keras silently turns XLA off while op determinism is on, and
    it stays on in a process once enabled, so an XLA run switches it off (TensorFlow has no public switch for
    that; its private one is used, tested on TF 2.21, and skipped where it is missing)."""
    import tensorflow as tf

    if enabled:
        tf.config.experimental.enable_op_determinism()
        return
    from tensorflow.python.framework import config as tf_config

    if hasattr(tf_config, "disable_op_determinism"):
        tf_config.disable_op_determinism()


def score_test(model, splits: data.Splits, *, tta: bool = False, distributed_test=None) -> dict[str, float]:
    """Test loss and accuracy scored exactly as ``zoo evaluate`` scores them (plain cross-entropy, whatever the
    training loss), with the TTA accuracy too where ``tta``; under several workers, a distributed evaluation of
    ``distributed_test`` in which every worker takes part; a streamed test split in one pass (no TTA)."""
    if distributed_test is not None:
        loss, accuracy = model.evaluate(distributed_test, verbose=0)
        return {"test_accuracy": float(accuracy), "test_loss": float(loss)}
    if splits.streamed:
        _, labels = splits.test_labels_and_images()
        probs = model.predict(splits.test.map(lambda x, y: x), verbose=0)
        loss, accuracy = scores(probs, labels)
        return {"test_accuracy": accuracy, "test_loss": loss}
    x_test, y_test = splits.test_arrays
    loss, accuracy = scores(predict_probs(model, x_test, y_test), y_test)
    metrics = {"test_accuracy": accuracy, "test_loss": loss}
    if tta:
        metrics["test_accuracy_tta"] = scores(predict_probs(model, x_test, y_test, tta=True), y_test)[1]
    return metrics


def make_card(
    *,
    model_name: str,
    dataset: str,
    info: data.DatasetInfo,
    model,
    recipe: Recipe,
    recipe_label: str,
    metrics: dict[str, float],
    splits: data.Splits,
    seed: int,
    runtime: dict[str, Any],
    state: runstate.RunState,
    command: str | None,
    data_card: dict[str, Any] | None = None,
    init: dict[str, Any] | None = None,
) -> ModelCard:
    """The card of a trained model: what it is, how it was trained, what it scored, on what."""
    return ModelCard(
        model=model_name,
        dataset=dataset,
        input_shape=list(info.input_shape),
        num_classes=info.num_classes,
        class_names=info.class_names,
        preprocessing=dict(models.PREPROCESSING),
        params=model.count_params(),
        epochs=recipe.epochs,
        recipe={"name": recipe_label, **recipe.to_dict()},
        metrics=metrics,
        examples={"train": splits.num_train, "val": splits.num_val, "test": splits.num_test},
        seed=seed,
        runtime=runtime,
        training_seconds=round(state.seconds, 2),
        epoch_seconds=[state.epoch_seconds[k] for k in sorted(state.epoch_seconds)],
        versions=library_versions(),
        date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        command=command or " ".join(sys.argv),
        data=data_card or {},
        init=init or {},
    )


def _read_run_params(run_dir: Path) -> dict[str, Any] | None:
    """The settings of the unfinished run in ``run_dir``, or None where none was started."""
    try:
        params = json.loads((run_dir / "run.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise runstate.damaged(run_dir, err) from None
    if not isinstance(params, dict):
        raise runstate.damaged(run_dir, ValueError("run.json is not an object"))
    return params


def open_run_state(
    run_dir: Path, run_params: dict[str, Any], restart: bool, command: str | None = None
) -> runstate.RunState:
    """The run state in ``run_dir`` (inside its lock): emptied first with ``restart``; an unfinished run with other
    settings is refused, naming the command that resumes it, so that a resume never mixes two runs."""
    if restart:
        runstate.discard(run_dir, keep_lock=True)
    saved = _read_run_params(run_dir)
    saved_command = saved.pop("command", None) if saved is not None else None
    if saved is not None and saved != run_params:
        resume = f"`{saved_command}`" if saved_command else "its command"
        raise UsageError(
            f"{run_dir} holds an unfinished run with other settings; rerun {resume} to resume it, "
            "or pass `restart=True` to discard it"
        )
    state = runstate.RunState.open(run_dir)
    stored = {**run_params, "command": saved_command or command} if (saved_command or command) else run_params
    atomic.atomic_write_text(run_dir / "run.json", json.dumps(stored))
    return state


def build_model(
    model_name: str, info: data.DatasetInfo, train_images, precision: str = "float32", fast_ops: bool = False
):
    """The registered model for the dataset's shape, computing in ``precision`` (a Keras dtype policy), initialized
    from the training images where it needs them (e.g. a whitening layer computed from 5,000 of them, then frozen;
    not when ``train_images`` is None); with ``fast_ops``, its BatchNorm and GELU layers train with
    :mod:`zoo.fastops`' kernels (same results, faster on CPUs; the model stays stock Keras)."""
    import keras

    # Layers take the dtype policy in force when they are built; the process's own policy is left as it was.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = models.create(model_name, input_shape=info.input_shape, num_classes=info.num_classes)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    init_from_data = models.get_config(model_name).init_from_data
    if init_from_data is not None and train_images is not None:
        init_from_data(model, data.normalize(train_images[:5000]))
    if fast_ops:
        fastops.use_fast_ops(model)
    return model


def as_float32(model, model_name: str, info: data.DatasetInfo):
    """``model`` itself where it computes in float32, else the same weights in a float32 copy: what is scored and
    saved, so that the saved model, its exports and its card's figures are float32 whatever the run trained in.
    (Mixed-precision variables are float32 already: the copy is exact.)"""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    copy = build_model(model_name, info, None)
    copy.set_weights(model.get_weights())
    return copy


def _check_start(start: finetune.Init, model_name: str, info: data.DatasetInfo, freeze):
    """What a pretrained start copies into ``model_name`` built for ``info``, checked on a throwaway model before
    any data is read (a layer that cannot match is refused here): the plan, and the source model it copies from."""
    source_model, _ = artifacts.load(start.folder)
    target = models.create(model_name, info.input_shape, info.num_classes)
    names = info.class_names or [str(i) for i in range(info.num_classes)]
    finetune.frozen_count(target, freeze)
    return finetune.plan(source_model, target, start, names), source_model


def fit(model, state: runstate.RunState, stream, val, epochs: int, steps: int, callbacks: list, verbose) -> None:
    """Fit the epochs ``state`` has not done yet (checkpointing each one into it); a divergence keeps the last
    good checkpoint, or nothing where no epoch completed."""
    done = state.epoch
    try:
        if done < epochs:
            model.fit(
                stream,
                validation_data=val,
                epochs=epochs,
                steps_per_epoch=steps,
                initial_epoch=done,
                callbacks=callbacks,
                shuffle=False,  # the stream shuffles, per epoch
                # a progress bar on a terminal; one plain line per epoch in a log file
                verbose=(1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose,
            )
        else:  # every epoch was done before a stop during the final scoring or save: nothing left to fit
            state.restore(model)
            if model.optimizer.use_ema:  # as fit does at its end: the averaged weights become the model's
                model.optimizer.finalize_variable_values(model.trainable_variables)
    except Diverged as err:
        kept = state.epoch
        if not kept:
            runstate.discard(state.dir)
            raise Diverged(f"{err}; no epoch completed, nothing was kept; lower `learning_rate`") from None
        raise Diverged(
            f"{err}; the checkpoint of epoch {kept}, the last good one, is kept in {state.dir}; "
            "lower `learning_rate` and pass `restart=True`"
        ) from None


def train(
    model: str,
    dataset: str | os.PathLike | None = None,
    *,
    recipe: str | Recipe | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    augment: str | Sequence[str] | None = None,
    validation: float | None = None,
    seed: int = 0,
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    restart: bool = False,
    data_dir: str | os.PathLike | None = None,
    device: str = "auto",
    strategy: str = "auto",
    precision: str = "auto",
    jit: bool = False,
    tensorboard: str | os.PathLike | None = None,
    image_size: Any = None,
    train_limit: int | float | None = None,
    skip_bad: bool = False,
    stream_above: float = sources.STREAM_ABOVE,
    init: str | os.PathLike | None = None,
    freeze: str | int | None = None,
    verbose: int | str = "auto",
    log: Callable[[str], Any] = print,
    command: str | None = None,
) -> TrainResult:
    """Train ``model`` on ``dataset`` (default: the model's) and save it with its card.

    ``dataset`` is a dataset name (the three zoo knows, or any tfds image-classification dataset) or a folder of
    images, ``ROOT/train/<class>/*.png`` (:mod:`zoo.sources`); ``image_size`` (``"64,64"``) fits every image to
    that size, ``train_limit`` keeps the first N training images (or a fraction), ``skip_bad`` trains without
    unreadable images of a folder, and a training split over ``stream_above`` decoded bytes streams from its files.
    ``init`` (a pretrained tag or model folder) starts from its weights (:mod:`zoo.finetune`), with the model's
    ``"finetune"`` recipe by default (``"probe"`` with ``freeze="backbone"``); ``freeze`` is ``"backbone"`` (a
    linear probe) or a number of layers.

    ``recipe`` is a recipe name of the model's tag (``"default"``, ``"fast"``, ``"finetune"``; ``zoo list
    --recipes``) or a :class:`zoo.recipes.Recipe`; ``epochs``, ``batch_size``, ``learning_rate`` and ``augment``
    (``"flip,crop"``, a list of names, or ``"none"``) and ``validation`` (the fraction of the training split held
    out; 0 trains on all of it) override it where given. The model folder goes to ``output`` (default
    ``runs/<model>-<dataset>``), written atomically; an existing one is replaced only with ``overwrite``. An
    interrupted run resumes when called again with the same arguments (``restart`` discards its state).
    ``precision`` is the Keras dtype policy the training computes in (``"float32"``, ``"mixed_bfloat16"``,
    ``"mixed_float16"``; ``"auto"``: mixed_bfloat16 on a CPU with native bfloat16 where the recipe's
    ``cpu_bfloat16`` says so, else float32); the model is scored and saved in float32 either way.
    ``command`` is recorded on the card (default: the process's command line).
    """
    import keras

    check_type("model", model, str)
    config = models.get_config(model)
    dataset = config.default_dataset if dataset is None else os.fspath(dataset)
    check_type("dataset", dataset, str)
    if dataset in data.DATASETS and image_size is None:
        models.check_fits(model, data.get_info(dataset).input_shape, dataset)  # before any data is read
    size = sources.parse_image_size(image_size)
    sources.check_train_limit(train_limit)
    check_type("skip_bad", skip_bad, bool)
    check_type("stream_above", stream_above, int, float)
    if not stream_above >= 0:
        raise UsageError(f"`stream_above` must be a number of bytes, 0 or more, got {stream_above}")
    freeze = finetune.check_freeze(freeze)
    if freeze is not None and init is None:
        raise UsageError("`freeze` needs a pretrained start: pass `init` (a tag or a model folder) too")
    start = finetune.open_init(init) if init is not None else None
    if start is not None:
        finetune.check_model(start, model)  # before any data is read
    if recipe is None:  # a pretrained start has its own recipes: a linear probe's, or fine-tuning's
        recipe = ("probe" if freeze == "backbone" else "finetune") if start is not None else "default"
    check_type("recipe", recipe, str, Recipe)
    check_int("epochs", epochs, 1, MAX_EPOCHS)
    check_int("batch_size", batch_size, 1, MAX_BATCH)
    check_int("seed", seed, 0, MAX_SEED)
    check_positive(learning_rate=learning_rate)
    check_type("validation", validation, int, float, type(None))
    check_type("precision", precision, str)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if validation is not None and not 0 <= validation < 1:
        raise ValueError(f"validation must be a fraction of the training split, from 0 to under 1; got {validation}")
    augment = data.parse_augment(augment)  # an unknown name fails here, before any data is read
    recipe_name, custom = (recipe, None) if isinstance(recipe, str) else ("custom", recipe)
    recipe = (custom or get_recipe(model, dataset, recipe_name)).override(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, augment=augment, validation=validation
    )
    data.check_augment(recipe.augment)
    model_name = model
    sources.check_dataset(dataset, None if data_dir is None else os.fspath(data_dir))
    out = default_output(model_name, sources.display_name(dataset)) if output is None else output
    if str(out).strip():  # (an empty name is refused by check_model_output)
        check_not_shipped(Path(out), output is not None, overwrite, log)
    out = artifacts.check_model_output(out, overwrite)
    distribute.check(strategy)  # TF_CONFIG for multiworker: before any device or data is touched
    device_name = use_device(device)
    precision = choose_precision(precision, device_name, recipe.cpu_bfloat16)
    log(f"Device: {device_name}" + ("" if precision == "float32" else f"; computing in {precision}"))
    placement = distribute.place(strategy)
    log(placement.describe(recipe.batch_size))
    source = sources.resolve(  # prepared (or downloaded now), a folder checked: before any run state is written
        dataset,
        None if data_dir is None else os.fspath(data_dir),
        image_size=size,
        default_size=config.input_shape[:2],
        skip_bad=skip_bad,
        log=log,
    )
    info = source.info
    models.check_fits(model, info.input_shape, source.name)
    steps_plan, source_model = _check_start(start, model_name, info, freeze) if start is not None else (None, None)
    dataset = source.name

    # Every worker keeps its own run state; only the chief writes the model folder.
    run_dir = out.with_name(f".{out.name}.run" + ("" if placement.is_chief else f".worker{placement.worker}"))
    runstate.check_run_dir(run_dir)  # a link there is refused before any data is read
    run_params = {"model": model_name, "dataset": dataset, "seed": seed, "recipe": recipe.to_dict()}
    if source.kind == "folder" or size or train_limit is not None or start is not None:  # (older runs lack these)
        run_params |= {"data": source.card_data(), "counts": source.counts, "train_limit": train_limit}
        run_params |= {"init": start.sha256, "freeze": freeze} if start is not None else {}
    if precision != "float32":  # a resumed run computes as it began (float32 runs' state predates this key)
        run_params["precision"] = precision
    with runstate.locked(run_dir):  # held until the model folder is saved and the run state removed
        state = open_run_state(run_dir, run_params, restart, command)
        done = state.epoch

        keras.utils.set_random_seed(seed)
        set_op_determinism(not jit)
        splits = data.load(
            dataset,
            batch_size=recipe.batch_size,
            data_dir=data_dir,
            seed=seed,
            augment=recipe.augment,
            val_fraction=recipe.validation,
            train_limit=train_limit,
            stream_above=stream_above,
            source=source,
            log=log,
        )
        if done:
            log(f"Resuming from {run_dir}: {done} of {plural(recipe.epochs, 'epoch')} done")
        train_stream = splits.epoch_stream(done, recipe.epochs)
        val, test = splits.val, splits.test
        if placement.workers > 1:  # shard each global batch over the workers (the data are in memory, not in files)
            train_stream, val, test = (
                ds if ds is None else distribute.shard_by_data(ds) for ds in (train_stream, val, test)
            )
        steps = -(-splits.num_train // recipe.batch_size)
        lineage = None
        with placement.strategy.scope():
            model = build_model(model_name, info, splits.first_images(5000), precision, fast_ops=is_cpu(device_name))
            if start is not None:
                finetune.apply(source_model, model, steps_plan)
                frozen = finetune.freeze_layers(model, freeze)
                lineage = finetune.lineage(start, steps_plan, frozen)
                log(finetune.describe(steps_plan, frozen, start))
            compile_model(model, recipe, steps, jit)
            # Built now, on every trainable weight, so that its state (and so a checkpoint) has the same variables
            # however many of them a run's epochs train (a bias that freezes after some epochs).
            model.optimizer.build(model.trainable_variables)
        if placement.workers > 1:
            x = splits.first_images(2)
            distribute.prepare_multiworker(model, data.normalize(x), np.zeros(len(x), np.int64))
        log(
            f"Training {model_name} ({model.count_params():,} params) on {dataset}: "
            f"{splits.num_train} train / {splits.num_val} val / {splits.num_test} test images, "
            f"{plural(recipe.epochs, 'epoch')} of batch {recipe.batch_size}"
        )
        callbacks = [_nan_guard(), runstate.checkpoint_callback(state), _reseed_layers(model, seed)]
        if recipe.whiten_bias_epochs < recipe.epochs:
            callbacks.append(_bias_schedule(model, "whiten", recipe.whiten_bias_epochs))
        if tensorboard is not None:  # per-epoch scalars for TensorBoard (`tensorboard --logdir DIR`)
            callbacks.append(keras.callbacks.TensorBoard(str(tensorboard), write_graph=False, profile_batch=0))
        fit(model, state, train_stream, val, recipe.epochs, steps, callbacks, verbose)
        jit_compiled = bool(model.jit_compile)  # what Keras compiled, not only what was asked (before the copy)
        fast_ops = fastops.in_use(model)
        saved = as_float32(model, model_name, info)
        if placement.workers == 1:  # (several workers score the distributed model together, in its precision)
            model = saved
        if recipe.tta and splits.streamed:
            log("Test-time augmentation is skipped for a streamed test split: scored on single views")
        metrics = score_test(model, splits, tta=recipe.tta, distributed_test=test if placement.workers > 1 else None)
        history = state.history()
        last_val = {k: history[k][-1] for k in ("val_accuracy", "val_loss") if history.get(k)}
        metrics = {**last_val, **metrics}
        runtime = {
            "jit_compile": jit_compiled,
            "device": device_name,
            "onednn": onednn_enabled(),
            "cpu_isa": vector_isa(),
            "precision": precision,  # what the training computed in; the saved model computes in float32
            "fast_ops": fast_ops,  # BatchNorm and GELU trained with zoo.fastops' kernels
            "strategy": placement.name,
            "replicas": placement.replicas,
            "workers": placement.workers,
        }
        label = recipe_name
        card = make_card(
            model_name=model_name,
            dataset=dataset,
            info=info,
            model=model,
            recipe=recipe,
            recipe_label=label,
            metrics=metrics,
            splits=splits,
            seed=seed,
            runtime=runtime,
            state=state,
            command=command,
            data_card={**source.card_data(), "train_limit": train_limit, "streamed": splits.streamed},
            init=lineage,
        )
        test_acc, test_loss, tta_acc = metrics["test_accuracy"], metrics["test_loss"], metrics.get("test_accuracy_tta")
        if not placement.is_chief:
            runstate.discard(run_dir)
            log(f"Test accuracy {test_acc:.4f}, loss {test_loss:.4f}; worker {placement.worker} done (the chief saves)")
            return TrainResult(out, card, history, model)
        curves = {"curves.png": curves_png({f"{model_name}-{dataset}": history})}
        model_dir = artifacts.save(out, saved, card, history, overwrite=overwrite, extra_files=curves)
        runstate.discard(run_dir)
        tta_note = f" ({tta_acc:.4f} with test-time augmentation)" if tta_acc is not None else ""
        log(f"Test accuracy {test_acc:.4f}{tta_note}, loss {test_loss:.4f}; saved to {model_dir}")
        return TrainResult(model_dir, card, history, model)
