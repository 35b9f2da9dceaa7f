"""``zoo list``, ``zoo info``, ``zoo summary``: what zoo holds."""

from __future__ import annotations

import json

import click

from cli.options import (
    echo_table,
    percent,
    start_tensorflow,
)
from zoo.card import MAX_CLASSES
from zoo.text import printable


@click.command("list")
@click.option("--recipes", is_flag=True, help="List the tuned training recipes instead, with their targets.")
@click.option("--json", "as_json", is_flag=True, help="Print the same as JSON.")
def list_cmd(recipes, as_json) -> None:
    """List the models, the pretrained tags (with their test accuracy) and the datasets."""
    if recipes:
        from zoo.tags import recipe_rows

        rows = recipe_rows()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        table = [
            [r["model"], r["dataset"], r["recipe"], percent(r["target"]) if r["target"] else "", r["description"]]
            for r in rows
        ]
        echo_table(["model", "dataset", "recipe", "target", "what it does"], table, right=(3,))
        return

    start_tensorflow()
    import zoo.catalog

    listing = zoo.catalog.listing()
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
                percent(r["accuracy"]),
                percent(r["accuracy_tta"]),
                percent(r["target"]) if r["target"] else "",
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


@click.command()
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


@click.command()
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
