"""``zoo data import`` and ``zoo data list``."""

from __future__ import annotations

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
def data_list(data_dir) -> None:
    """Each known dataset: prepared or not, its version, splits with example counts, and where."""
    start_tensorflow()
    from zoo.data_import import list_prepared

    for row in list_prepared(data_dir):
        splits = ", ".join(f"{k} {v:,}" for k, v in row["splits"].items()) or "-"
        state = "prepared" if row["prepared"] else "not prepared"
        click.echo(f"{row['name']:<14} {row['version']:<7} {state:<13} {splits:<28} {row['path']}")
