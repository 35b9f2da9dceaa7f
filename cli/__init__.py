"""The ``zoo`` command line: one small function per command, in a module per group of commands; the library
(``zoo``) does the work, the commands map flags to it and print what it returns.

Expected errors (``ZooError``, click's usage errors) print one line to stderr and exit non-zero.
"""

from __future__ import annotations

import signal
import sys
import threading

import click

from cli import catalog, data, learn, serve, train, use
from zoo.errors import INTERRUPTED, ZooError, for_cli
from zoo.text import printable


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


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zoo", prog_name="zoo")
def cli() -> None:
    """zoo: train, evaluate and export the classic CNNs (MLP, LeNet-5, a CIFAR-10 CNN)."""


for command in (
    catalog.list_cmd,
    catalog.info,
    train.train,
    use.evaluate,
    use.export,
    use.predict,
    catalog.summary,
    learn.kernels,
    learn.visualize,
    learn.plot,
    train.bench,
    serve.serve,
    data.data,
):
    cli.add_command(command)


def main() -> None:
    cli()
