"""``zoo kernels``, ``zoo visualize``, ``zoo plot``: looking inside the networks."""

from __future__ import annotations

import click

from cli.options import (
    data_dir_option,
    output_file_callback,
    output_folder_callback,
    start_tensorflow,
)
from zoo.kernels import KERNELS


@click.command()
@click.argument("image")
@click.option("--kernel", "-k", required=True, type=click.Choice(list(KERNELS)))
@click.option(
    "--output",
    "-o",
    required=True,
    callback=output_file_callback,
    help="PNG file to write (an existing file is replaced; a folder never is).",
)
def kernels(image, kernel, output) -> None:
    """Apply a classic 3x3 kernel to IMAGE (as grayscale) with tf.nn.conv2d and save the result."""
    start_tensorflow()
    from zoo.kernels import filter_image

    height, width = filter_image(image, kernel, output)
    click.echo(f"{kernel} applied to {image}: {width}x{height} written to {output}")


@click.command()
@click.argument("model_dir")
@click.option("--image", default=None, help="Image file to look at.")
@click.option(
    "--index",
    type=click.IntRange(min=0),
    default=None,
    help="Or: index of a test image of the card's dataset (default 0).",
)
@click.option("--output", "-o", required=True, callback=output_folder_callback, help="Folder for the PNG grids.")
@data_dir_option
def visualize(model_dir, image, index, output, data_dir) -> None:
    """PNG grids of the first conv layer's filters and of every conv layer's activation maps for one input."""
    start_tensorflow()
    import zoo.plots

    for path in zoo.plots.visualize(model_dir, output, image=image, index=index, data_dir=data_dir):
        click.echo(path)


@click.command()
@click.argument("run_dirs", nargs=-1, required=True)
@click.option(
    "--output",
    "-o",
    default="curves.png",
    show_default=True,
    callback=output_file_callback,
    help="PNG file to write (an existing file is replaced; a folder never is).",
)
def plot(run_dirs, output) -> None:
    """Overlay the training curves (loss, accuracy; train vs validation) of several model folders."""
    from zoo.plots import plot_runs

    click.echo(plot_runs(list(run_dirs), output))
