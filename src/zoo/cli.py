"""The ``zoo`` command line: one small function per command; the library does the work.

Expected errors (``ZooError``, click's usage errors) print one line to stderr and exit non-zero.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import signal
import sys
import threading

import click

from zoo.artifacts import check_file_output, check_writable
from zoo.card import MAX_CLASSES
from zoo.data import AUGMENTATIONS
from zoo.device import DEVICES, PRECISIONS
from zoo.distribute import STRATEGIES
from zoo.errors import INTERRUPTED, UsageError, ZooError, for_cli
from zoo.kernels import KERNELS
from zoo.quiet import import_tensorflow
from zoo.recipes import MAX_BATCH, MAX_EPOCHS, MAX_SEED
from zoo.text import printable


class FiniteFloat(click.FloatRange):
    """A finite number in a range, by default greater than zero (click's FloatRange lets nan through)."""

    def __init__(self, **bounds) -> None:
        super().__init__(**(bounds or {"min": 0, "min_open": True}))

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


EPOCHS = click.IntRange(1, MAX_EPOCHS)
BATCH = click.IntRange(1, MAX_BATCH)
COUNT = click.IntRange(min=1)
FRACTION = FiniteFloat(min=0, max=1, max_open=True)  # from 0 to under 1, finite


def option_names(group: click.Group) -> set[str]:
    """Every option of every command, as the library's argument names (``batch_size``; ``source`` for --from)."""
    names = set()
    for command in group.commands.values():
        names |= option_names(command) if isinstance(command, click.Group) else set()
        names |= {p.name for p in command.params if isinstance(p, click.Option)}
    return names | {"source"}


def _terminated(signum, frame):
    INTERRUPTED.set()  # a library that catches what TensorFlow raises from the interrupt still knows it was one
    raise KeyboardInterrupt  # so that every cleanup runs, as on Ctrl-C (temporary folders, half-done commits)


class ZooGroup(click.Group):
    """A click group that turns every expected error into one line on stderr and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminated)
            signal.signal(signal.SIGINT, _terminated)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ZooError as err:
            click.echo(f"zoo: error: {printable(for_cli(str(err), option_names(self)))}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            click.echo(f"zoo: error: {err.format_message()}", err=True)
            sys.exit(err.exit_code)
        except OSError as err:  # a full disk, a permission, a folder that is a file: the system's own words
            where = f": {err.filename}" if getattr(err, "filename", None) else ""
            click.echo(f"zoo: error: {err.strerror or err}{where}", err=True)
            sys.exit(1)
        except (click.Abort, KeyboardInterrupt) as err:
            reason = str(err.__cause__ or err)  # click turns a KeyboardInterrupt into Abort
            click.echo("zoo: interrupted" + (f"; {reason}" if reason else ""), err=True)
            sys.exit(130)
        except RuntimeError as err:  # (after click.Abort, a RuntimeError too)
            if not str(err).startswith("Symlink loop"):
                raise
            click.echo(f"zoo: error: {printable(str(err))}: a loop of symbolic links", err=True)  # pathlib's own
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _command_line() -> str:
    return "zoo " + " ".join(shlex.quote(a) for a in sys.argv[1:])


precision_option = click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="auto",
    show_default=True,
    help="Compute precision of training (a saved model computes in float32): auto is mixed_bfloat16 on CPUs with "
    "native bfloat16 for a recipe measured as accurate and faster in it (none yet), else float32; mixed_float16 is "
    "for GPUs.",
)

device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="auto",
    show_default=True,
    help="cpu hides GPUs; gpu fails if there is none; auto picks a GPU when there is one.",
)


def _check_data_dir(ctx, param, value):
    if value is not None and os.path.exists(value) and not os.path.isdir(value):
        raise UsageError(f"--data-dir {value} is not a folder")
    return value


def _check_output(ctx, param, value):
    """An output path whose folder cannot be made fails before any work (existing files are replaced)."""
    if value is not None:
        check_writable(value, overwrite=True)
    return value


def _check_file_output(ctx, param, value):
    """A file output: never an existing folder; its folder can be made (an existing file is replaced)."""
    if value is not None:
        check_file_output(value)
    return value


data_dir_option = click.option(
    "--data-dir",
    default=None,
    callback=_check_data_dir,
    help="tensorflow-datasets data folder (tfds' default if unset).",
)


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zoo", prog_name="zoo")
def cli() -> None:
    """zoo: train, evaluate and export the classic CNNs (MLP, LeNet-5, a CIFAR-10 CNN)."""


def start_tensorflow(device: str = "auto") -> None:
    """Hide GPUs for ``--device cpu`` before TensorFlow starts, then import it quietly."""
    if device == "cpu" and "tensorflow" not in sys.modules:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    import_tensorflow()


def echo_table(headers: list[str], rows: list[list[object]], right: tuple[int, ...] = ()) -> None:
    """Columns as wide as their widest cell; the columns in ``right`` (numbers) right-aligned."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        line = "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        click.echo(line.rstrip())


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "-"


@cli.command("list")
@click.option("--recipes", is_flag=True, help="List the tuned training recipes instead, with their targets.")
@click.option("--json", "as_json", is_flag=True, help="Print the same as JSON.")
def list_cmd(recipes, as_json) -> None:
    """List the models, the pretrained tags (with their test accuracy) and the datasets."""
    from zoo import data, tags

    if recipes:
        from zoo.recipes import describe

        rows = [
            {"model": m, "dataset": d, "recipe": n, "target": tags.find_tag(m, d).target if n == "default" else None}
            | {"description": describe(r), "fields": r.to_dict()}
            for m, d, n, r in tags.all_recipes()
        ]
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        table = [
            [r["model"], r["dataset"], r["recipe"], _percent(r["target"]) if r["target"] else "", r["description"]]
            for r in rows
        ]
        echo_table(["model", "dataset", "recipe", "target", "what it does"], table, right=(3,))
        return

    start_tensorflow()
    from zoo import models
    from zoo.pretrained import tag_rows

    listing = {
        "models": [
            {
                "name": name,
                "params": config.params,
                "input_shape": list(config.input_shape),
                "num_classes": config.num_classes,
                "default_dataset": config.default_dataset,
                "description": config.description,
            }
            for name, config in ((n, models.get_config(n)) for n in models.list_models())
        ],
        "pretrained": tag_rows(),
        "datasets": [
            {"name": i.name, "input_shape": list(i.input_shape), "num_classes": i.num_classes}
            for i in (data.get_info(n) for n in data.list_datasets())
        ],
    }
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    echo_table(
        ["model", "params", "default input", "description"],
        [
            [m["name"], f"{m['params']:,}", "x".join(map(str, m["input_shape"])), m["description"]]
            for m in listing["models"]
        ],
        right=(1,),
    )
    click.echo()
    echo_table(
        ["pretrained tag", "test acc", "w/ TTA", "target", "recipes", "weights"],
        [
            [
                r["tag"],
                _percent(r["accuracy"]),
                _percent(r["accuracy_tta"]),
                _percent(r["target"]) if r["target"] else "",
                ", ".join(r["recipes"]),
                r["weights"],
            ]
            for r in listing["pretrained"]
        ],
        right=(1, 2, 3),
    )
    click.echo()
    echo_table(
        ["dataset", "image", "classes"],
        [[d["name"], "x".join(map(str, d["input_shape"])), d["num_classes"]] for d in listing["datasets"]],
        right=(2,),
    )


@cli.command()
@click.argument("model_dir")
@click.option("--json", "as_json", is_flag=True, help="Print the whole card as JSON.")
def info(model_dir, as_json) -> None:
    """What MODEL_DIR (a saved-model folder or a pretrained tag such as lenet5.mnist) is, what it scored, how it was
    trained, its exports and the SHA-256 of its weights; --json prints the whole card."""
    from zoo import pretrained

    if as_json:
        click.echo(pretrained.read_card(model_dir).to_json(), nl=False)
        return
    for line in pretrained.describe(model_dir):
        click.echo(printable(line))


@cli.command()
@click.argument("model")
@click.option("--dataset", "-d", default=None, help="mnist, fashion_mnist or cifar10 (default: the model's).")
@click.option("--epochs", type=EPOCHS, default=None, help="Epochs (default: the recipe's).")
@click.option("--batch-size", type=BATCH, default=None, help="Batch size (default: the recipe's).")
@click.option(
    "--learning-rate", "--lr", type=FiniteFloat(), default=None, help="Peak learning rate (default: the recipe's)."
)
@click.option(
    "--recipe",
    "recipe_name",
    default="default",
    show_default=True,
    help="A named recipe for the model and dataset (e.g. 'fast' for lenet5 on mnist).",
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
    from zoo.training import train as run

    command = _command_line()
    try:
        run(
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
            log=click.echo,
            command=command,
        )
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"run `{command}` again to resume from the last completed epoch") from None


@cli.command()
@click.argument("model_dir")
@click.option("--dataset", "-d", default=None, help="Dataset to score on (default: the card's).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option(
    "--tta", is_flag=True, help="Test-time augmentation: average the image, its mirror and 1-px translations of both."
)
@device_option
@data_dir_option
def evaluate(model_dir, dataset, as_json, tta, device, data_dir) -> None:
    """Score MODEL_DIR (a saved-model folder or a pretrained tag such as lenet5.mnist) on a test split: loss,
    accuracy, per-class accuracy, confusion matrix."""
    start_tensorflow(device)
    from zoo.device import use_device
    from zoo.evaluation import evaluate as run

    description = use_device(device)
    result = run(model_dir, dataset, data_dir=data_dir, tta=tta, log=lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"Device: {description}")
    views = f", {len(result['tta'])} TTA views" if result["tta"] else ""
    click.echo(
        f"{result['model']} on {result['dataset']} test ({result['examples']} images{views}): "
        f"accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f}"
    )
    click.echo("\nper-class accuracy:")
    for name, acc in result["per_class_accuracy"].items():
        click.echo(f"  {name:<14} {acc:.4f}")
    click.echo("\nconfusion matrix (rows: true class, columns: predicted):")
    for row in result["confusion_matrix"]:
        click.echo("  " + " ".join(f"{v:>5}" for v in row))


@cli.command()
@click.argument("model_dir")
@click.option(
    "--format",
    "-f",
    "formats",
    multiple=True,
    default=["savedmodel"],
    show_default=True,
    help="savedmodel, keras, tflite, onnx, or all; repeat for several.",
)
@click.option(
    "--quantize",
    type=click.Choice(["int8", "int16x8"]),
    multiple=True,
    help="With tflite (or all): also write model_int8.tflite (int8 weights and activations) or "
    "model_int16x8.tflite (int8 weights, int16 activations); repeat for both.",
)
@click.option(
    "--output", "-o", default=None, callback=_check_output, help="Folder for the exports (default: the model folder)."
)
@data_dir_option
def export(model_dir, formats, quantize, output, data_dir) -> None:
    """Export MODEL_DIR (a saved-model folder or a pretrained tag) for other applications and check each export's
    parity with Keras."""
    start_tensorflow()
    from zoo.export import export as run
    from zoo.export import format_names

    results = run(model_dir, format_names(formats, quantize), output=output, data_dir=data_dir, log=click.echo)
    failed = [name for name, r in results.items() if not r["parity"]["ok"]]
    if failed:
        raise ZooError(f"parity check failed for {', '.join(failed)} (see the table above)")


@cli.command()
@click.argument("model_dir")
@click.argument("images", nargs=-1, required=True)
@click.option("--top-k", "-k", type=COUNT, default=3, show_default=True, help="How many classes to show per image.")
@click.option(
    "--invert/--no-invert",
    default=None,
    help="Invert images (dark-on-light → light-on-dark). Default: automatic for MNIST-style models.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the predictions as JSON.")
def predict(model_dir, images, top_k, invert, as_json) -> None:
    """Classify image files (PNG, JPEG, ... of any size and mode) with MODEL_DIR, a saved-model folder or a
    pretrained tag such as lenet5.mnist."""
    start_tensorflow()
    from zoo.prediction import predict as run

    results = run(model_dir, list(images), top_k=top_k, invert=invert)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2))
    for r in results:
        if r.error:
            click.echo(f"zoo: error: {printable(r.error)}", err=True)
        elif not as_json:
            guesses = ", ".join(f"{t['class_name']} {t['probability']:.3f}" for t in r.top_k)
            click.echo(printable(f"{r.source}: {guesses}" + (" (inverted)" if r.inverted else "")))
    if any(r.error for r in results):
        sys.exit(1)


@cli.command()
@click.argument("model")
@click.option("--dataset", "-d", default=None, help="Build for this dataset's image shape and classes.")
@click.option("--input-shape", default=None, help="Build for H,W,C (e.g. 32,32,3) instead.")
@click.option(
    "--classes",
    type=click.IntRange(2, MAX_CLASSES),
    default=None,
    help="Number of classes (default: the dataset's or model's).",
)
def summary(model, dataset, input_shape, classes) -> None:
    """Layer table of MODEL with the hand arithmetic of every conv and pooling layer."""
    start_tensorflow()
    from zoo.summary import summary_of

    click.echo(summary_of(model, dataset, input_shape, classes))


@cli.command()
@click.argument("image")
@click.option("--kernel", "-k", required=True, type=click.Choice(list(KERNELS)))
@click.option(
    "--output",
    "-o",
    required=True,
    callback=_check_file_output,
    help="PNG file to write (an existing file is replaced; a folder never is).",
)
def kernels(image, kernel, output) -> None:
    """Apply a classic 3x3 kernel to IMAGE (as grayscale) with tf.nn.conv2d and save the result."""
    start_tensorflow()
    from zoo.kernels import filter_image

    height, width = filter_image(image, kernel, output)
    click.echo(f"{kernel} applied to {image}: {width}x{height} written to {output}")


@cli.command()
@click.argument("model_dir")
@click.option("--image", default=None, help="Image file to look at.")
@click.option(
    "--index",
    type=click.IntRange(min=0),
    default=None,
    help="Or: index of a test image of the card's dataset (default 0).",
)
@click.option("--output", "-o", required=True, callback=_check_output, help="Folder for the PNG grids.")
@data_dir_option
def visualize(model_dir, image, index, output, data_dir) -> None:
    """PNG grids of the first conv layer's filters and of every conv layer's activation maps for one input."""
    start_tensorflow()
    from zoo.plots import visualize as run

    for path in run(model_dir, output, image=image, index=index, data_dir=data_dir):
        click.echo(path)


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True)
@click.option(
    "--output",
    "-o",
    default="curves.png",
    show_default=True,
    callback=_check_file_output,
    help="PNG file to write (an existing file is replaced; a folder never is).",
)
def plot(run_dirs, output) -> None:
    """Overlay the training curves (loss, accuracy; train vs validation) of several model folders."""
    from zoo.plots import plot_runs

    click.echo(plot_runs(list(run_dirs), output))


@cli.command()
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
    callback=_check_file_output,
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
    from zoo.artifacts import atomic_write_text
    from zoo.bench import bench as run
    from zoo.bench import format_report

    result = run(
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


@cli.command()
@click.argument("models_dir", default="saved_models")
@click.option(
    "--bench-dir",
    default="benchmarks/results",
    show_default=True,
    help="Folder of `zoo bench --save` JSON files to include.",
)
@click.option(
    "--output",
    "-o",
    default=".",
    show_default=True,
    callback=_check_output,
    help="Folder to write RESULTS.md and results.csv into.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if RESULTS.md or results.csv is out of date.")
def results(models_dir, bench_dir, output, check) -> None:
    """Write RESULTS.md and results.csv from the cards of the saved models (and the saved benchmarks)."""
    from zoo.results import write_results

    for path, state in write_results(models_dir, bench_dir, output, check=check):
        click.echo(f"{path}: {state}")


@cli.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(0, 65535), default=8501, show_default=True, help="TensorFlow Serving's.")
@click.option(
    "--max-batch", type=click.IntRange(1, 4096), default=64, show_default=True, help="Images in one model call."
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(0, 1000),
    default=0.0,
    show_default=True,
    help="How long a batch that is not full waits for more requests (0: it takes what queued meanwhile).",
)
@click.option("--batching/--no-batching", default=True, show_default=True, help="Gather concurrent requests.")
@click.option(
    "--max-body-mb", type=click.FloatRange(0.01, 1024), default=8.0, show_default=True, help="Largest request body."
)
@click.option("--cors", default=None, help="Let pages from this origin (e.g. http://localhost:3000) call the API.")
@device_option
def serve(models, host, port, max_batch, batch_wait_ms, batching, max_body_mb, cors, device) -> None:
    """Serve MODEL_DIR|TAG... over TensorFlow Serving's REST API (POST /v1/models/NAME:predict), with a page to
    draw on at /; each model under its tag or folder name."""
    start_tensorflow(device)
    from zoo.device import use_device
    from zoo.serving import ServerConfig
    from zoo.serving import serve as run

    use_device(device)
    config = ServerConfig(max_batch, batch_wait_ms, batching, int(max_body_mb * (1 << 20)), cors)
    try:
        run(list(models), host=host, port=port, config=config, log=click.echo)
    except KeyboardInterrupt:
        pass
    click.echo("Stopped.")


@cli.group()
def data() -> None:
    """Prepare datasets from files downloaded by hand (air-gapped machines) and list what is prepared."""


@data.command("import")
@click.argument("name")
@click.option("--from", "source", required=True, help="Folder or archive with the downloaded files.")
@data_dir_option
def data_import(name, source, data_dir) -> None:
    """Prepare NAME (mnist, fashion_mnist, cifar10) as an ordinary tfds dataset from local files."""
    start_tensorflow()
    from zoo.data_import import import_dataset

    import_dataset(name, source, data_dir, log=click.echo)


@data.command("list")
@data_dir_option
def data_list(data_dir) -> None:
    """Each known dataset: prepared or not, its version, splits with example counts, and where."""
    start_tensorflow()
    from zoo.data_import import list_prepared

    for row in list_prepared(data_dir):
        splits = ", ".join(f"{k} {v:,}" for k, v in row["splits"].items()) or "-"
        state = "prepared" if row["prepared"] else "not prepared"
        click.echo(f"{row['name']:<14} {row['version']:<7} {state:<13} {splits:<28} {row['path']}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
