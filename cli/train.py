"""``zoo train`` and ``zoo bench``."""

from __future__ import annotations

import json

import click

from cli.options import (
    BATCH,
    COUNT,
    EPOCHS,
    FRACTION,
    CountOrFraction,
    FiniteFloat,
    ImageSize,
    command_line,
    data_dir_option,
    device_option,
    output_file_callback,
    precision_option,
    start_tensorflow,
)
from zoo.data import AUGMENTATIONS
from zoo.distribute import STRATEGIES
from zoo.recipes import MAX_SEED


@click.command()
@click.argument("model")
@click.option(
    "--dataset",
    "-d",
    default=None,
    help="mnist, fashion_mnist, cifar10, any tfds image dataset (kmnist, emnist/balanced, ...), or a folder "
    "ROOT/train/<class>/*.png (default: the model's).",
)
@click.option(
    "--from",
    "init",
    default=None,
    metavar="TAG|DIR",
    help="Start from this pretrained tag's or model folder's weights (fine-tuning; the 'finetune' recipe by default).",
)
@click.option(
    "--freeze",
    default=None,
    metavar="backbone|N",
    help="With --from: train only the head (backbone: a linear probe), or freeze the first N layers with weights.",
)
@click.option(
    "--image-size",
    type=ImageSize(),
    default=None,
    help="Fit every image to H,W: aspect kept, scaled to cover, centre crop (default: the images' own size).",
)
@click.option(
    "--train-limit",
    type=CountOrFraction(),
    default=None,
    help="Train on the first N training images, or a fraction of them (reproducible subsets).",
)
@click.option(
    "--skip-bad", is_flag=True, help="Train without a folder's unreadable images (they are named and counted)."
)
@click.option(
    "--stream-above",
    type=FiniteFloat(min=0),
    default=2.0,
    show_default=True,
    metavar="GB",
    help="Stream the training images from their files, not from memory, above this many decoded gigabytes.",
)
@click.option("--epochs", type=EPOCHS, default=None, help="Epochs (default: the recipe's).")
@click.option("--batch-size", type=BATCH, default=None, help="Batch size (default: the recipe's).")
@click.option(
    "--learning-rate", "--lr", type=FiniteFloat(), default=None, help="Peak learning rate (default: the recipe's)."
)
@click.option(
    "--recipe",
    "recipe_name",
    default=None,
    help="A named recipe for the model and dataset (e.g. 'fast' for lenet5 on mnist; 'finetune', 'probe'); "
    "default: 'default', or with --from 'finetune' ('probe' with --freeze backbone).",
)
@click.option(
    "--augment",
    default=None,
    help=f"Comma-separated: {', '.join(AUGMENTATIONS)}; 'none' for none (default: the recipe's).",
)
@click.option(
    "--validation",
    type=FRACTION,
    default=None,
    help="Fraction of the training split held out for validation, 0 for none (default: the recipe's).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="Seed for Python, NumPy and TensorFlow.",
)
@click.option("--output", "-o", default=None, help="Model folder (default: runs/MODEL-DATASET).")
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
@click.option("--restart", is_flag=True, help="Discard an unfinished run's state instead of resuming it.")
@precision_option
@click.option("--jit/--no-jit", default=False, show_default=True, help="XLA-compile the training step.")
@click.option(
    "--tensorboard",
    default=None,
    type=click.Path(file_okay=False),
    help="Also write per-epoch logs for TensorBoard into this folder.",
)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default="auto",
    show_default=True,
    help="tf.distribute: one device, all local GPUs, or the machines in TF_CONFIG.",
)
@device_option
@data_dir_option
def train(
    model,
    dataset,
    init,
    freeze,
    image_size,
    train_limit,
    skip_bad,
    stream_above,
    epochs,
    batch_size,
    learning_rate,
    recipe_name,
    augment,
    validation,
    seed,
    output,
    overwrite,
    restart,
    precision,
    jit,
    tensorboard,
    strategy,
    device,
    data_dir,
) -> None:
    """Train MODEL and save it with its card; an interrupted run resumes when started again."""
    start_tensorflow(device)
    import zoo.training

    command = command_line()
    try:
        zoo.training.train(
            model,
            dataset,
            recipe=recipe_name,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            augment=augment,
            validation=validation,
            seed=seed,
            output=output,
            overwrite=overwrite,
            restart=restart,
            data_dir=data_dir,
            device=device,
            strategy=strategy,
            precision=precision,
            jit=jit,
            tensorboard=tensorboard,
            image_size=image_size,
            train_limit=train_limit,
            skip_bad=skip_bad,
            stream_above=stream_above * 1e9,
            init=init,
            freeze=freeze,
            log=click.echo,
            command=command,
        )
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"run `{command}` again to resume from the last completed epoch") from None


@click.command()
@click.argument("model")
@click.option("--dataset", "-d", default=None, help="Dataset whose images to use (default: the model's).")
@click.option("--batch-size", type=BATCH, default=None, help="Training batch size (default: the recipe's).")
@click.option("--steps", type=COUNT, default=100, show_default=True, help="Training steps timed after warm-up.")
@click.option("--jit/--no-jit", default=False, show_default=True, help="XLA-compile the training step.")
@click.option(
    "--steps-per-execution",
    type=COUNT,
    default=1,
    show_default=True,
    help="Training steps per tf.function call (Keras steps_per_execution).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
@click.option(
    "--save",
    default=None,
    callback=output_file_callback,
    help="Also write the measurements to this JSON file (an existing file is replaced).",
)
@precision_option
@device_option
@data_dir_option
def bench(
    model, dataset, batch_size, steps, jit, steps_per_execution, as_json, save, precision, device, data_dir
) -> None:
    """Training images/s, inference images/s at batch 1 and 256, and batch-1 latency p50/p99, with the machine."""
    start_tensorflow(device)
    import zoo.bench
    from zoo.atomic import atomic_write_text
    from zoo.bench import format_report

    result = zoo.bench.bench(
        model,
        dataset,
        batch_size=batch_size,
        device=device,
        train_steps=steps,
        jit=jit,
        steps_per_execution=steps_per_execution,
        precision=precision,
        data_dir=data_dir,
        log=lambda m: click.echo(m, err=True),
    )
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))
    if save:
        atomic_write_text(save, json.dumps(result, indent=2) + "\n")
