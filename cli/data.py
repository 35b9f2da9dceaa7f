"""``zoo data import`` and ``zoo data list``."""

from __future__ import annotations

import json

import click

from cli.options import (
    data_dir_option,
    start_tensorflow,
)


@click.group()
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
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def data_list(data_dir, as_json) -> None:
    """Every dataset prepared in the data folder, and the three zoo knows: version, splits with example counts,
    image shape, classes, and where. Any of them trains with `zoo train MODEL --dataset NAME`."""
    start_tensorflow()
    from zoo.data_import import list_prepared
    from zoo.text import printable

    rows = list_prepared(data_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        splits = ", ".join(f"{k} {v:,}" for k, v in row["splits"].items()) or "-"
        state = "prepared" if row["prepared"] else "not prepared"
        shape = "x".join("?" if d < 0 else str(d) for d in row["image_shape"]) if row["image_shape"] else "-"
        names = row["classes"]
        classes = f"{len(names)} classes ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" if names else "-"
        click.echo(
            printable(
                f"{row['name']:<14} {row['version']:<7} {state:<13} {splits:<28} {shape:<9} {classes:<40} {row['path']}"
            )
        )
