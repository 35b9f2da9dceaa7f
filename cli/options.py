"""What the commands share: click types for numbers, options, callbacks that check paths, table output."""

from __future__ import annotations

import math
import os
import shlex
import sys

import click

from zoo.atomic import check_file_output, check_writable
from zoo.device import DEVICES, PRECISIONS
from zoo.errors import UsageError
from zoo.quiet import import_tensorflow
from zoo.recipes import MAX_BATCH, MAX_EPOCHS


class FiniteFloat(click.FloatRange):
    """A finite number in a range, by default greater than zero (click's FloatRange lets nan through)."""

    def __init__(self, **bounds) -> None:
        super().__init__(**(bounds or {"min": 0, "min_open": True}))

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class CountOrFraction(click.ParamType):
    """A whole number of images (1000) or a fraction of them (0.1)."""

    name = "N|FRACTION"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        try:
            number = int(text) if text.isdigit() else float(text)
        except ValueError:
            self.fail(f"{value!r} is neither a count of images (1000) nor a fraction (0.1).", param, ctx)
        if isinstance(number, int) and number < 1 or isinstance(number, float) and not 0 < number <= 1:
            self.fail(f"{value!r} must be a count of at least 1 or a fraction over 0 and at most 1.", param, ctx)
        return number


class ImageSize(click.ParamType):
    """H,W in pixels (or one number for a square)."""

    name = "H,W"

    def convert(self, value, param, ctx):
        from zoo.sources import parse_image_size

        try:
            return parse_image_size(value)
        except UsageError as err:
            self.fail(str(err).replace("`image_size`", "the size"), param, ctx)


EPOCHS = click.IntRange(1, MAX_EPOCHS)
BATCH = click.IntRange(1, MAX_BATCH)
COUNT = click.IntRange(min=1)
FRACTION = FiniteFloat(min=0, max=1, max_open=True)  # from 0 to under 1, finite


def command_line() -> str:
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


def data_dir_callback(ctx, param, value):
    if value is not None and os.path.exists(value) and not os.path.isdir(value):
        raise UsageError(f"--data-dir {value} is not a folder")
    return value


def output_folder_callback(ctx, param, value):
    """An output path whose folder cannot be made fails before any work (existing files are replaced)."""
    if value is not None:
        check_writable(value, overwrite=True)
    return value


def output_file_callback(ctx, param, value):
    """A file output: never an existing folder; its folder can be made (an existing file is replaced)."""
    if value is not None:
        check_file_output(value)
    return value


data_dir_option = click.option(
    "--data-dir",
    default=None,
    callback=data_dir_callback,
    help="tensorflow-datasets data folder (tfds' default if unset).",
)


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


def percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "-"
