"""``zoo evaluate``, ``zoo predict``, ``zoo export``: using a trained model."""

from __future__ import annotations

import json
import sys

import click

from cli.options import (
    COUNT,
    data_dir_option,
    device_option,
    output_folder_callback,
    start_tensorflow,
)
from zoo.errors import ZooError
from zoo.text import printable


@click.command()
@click.argument("model_dir")
@click.option(
    "--dataset",
    "-d",
    default=None,
    help="Dataset (a name or a folder of images) to score on (default: the card's own).",
)
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
    import zoo.evaluation
    from zoo.device import use_device

    description = use_device(device)
    result = zoo.evaluation.evaluate(
        model_dir, dataset, data_dir=data_dir, tta=tta, log=lambda m: click.echo(m, err=True)
    )
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


@click.command()
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
    "--output",
    "-o",
    default=None,
    callback=output_folder_callback,
    help="Folder for the exports (default: the model folder).",
)
@data_dir_option
def export(model_dir, formats, quantize, output, data_dir) -> None:
    """Export MODEL_DIR (a saved-model folder or a pretrained tag) for other applications and check each export's
    parity with Keras."""
    start_tensorflow()
    import zoo.export

    results = zoo.export.export(
        model_dir, zoo.export.format_names(formats, quantize), output=output, data_dir=data_dir, log=click.echo
    )
    failed = [name for name, r in results.items() if not r["parity"]["ok"]]
    if failed:
        raise ZooError(f"parity check failed for {', '.join(failed)} (see the table above)")


@click.command()
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
    import zoo.prediction

    results = zoo.prediction.predict(model_dir, list(images), top_k=top_k, invert=invert)
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
