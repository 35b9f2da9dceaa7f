"""User-facing errors: each prints as one line with no traceback and carries its exit code.

Each is also the built-in exception a Python caller expects (a bad argument is a ``ValueError``, an unknown name a
``KeyError``, a missing dataset a ``FileNotFoundError``). Messages name arguments as Python does, in backticks
(`` `epochs` must be positive``, ``pass `overwrite=True` ``); the CLI prints them as its flags (:func:`for_cli`).
"""

from __future__ import annotations

import re
import threading

# Set by the CLI's SIGINT and SIGTERM handler: TensorFlow and the converters sometimes turn the KeyboardInterrupt
# into an error of their own, which a library that catches their errors reports as the interrupt it was.
INTERRUPTED = threading.Event()


def raise_if_interrupted() -> None:
    """Re-raise a Ctrl-C or SIGTERM that a library turned into another error (see :data:`INTERRUPTED`)."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


class ZooError(Exception):
    """An expected failure the user can fix: the CLI prints ``str(err)`` and exits with ``exit_code``."""

    exit_code = 1

    def __str__(self) -> str:  # KeyError and OSError would quote or decorate the message
        return str(self.args[0]) if self.args else ""


class UsageError(ZooError, ValueError):
    """A bad argument: unknown name, bad number, wrong shape (exit code 2, like click's own)."""

    exit_code = 2


class ArgumentTypeError(UsageError, TypeError):
    """An argument of the wrong type (``epochs=1.5``, ``epochs="1"``, ``epochs=True``)."""


class UnknownNameError(UsageError, KeyError):
    """A name that is not in a known list; the message lists the accepted names."""

    def __init__(self, kind: str, name: str, known: list[str]):
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(known)}")


class UnknownDatasetError(UsageError, KeyError):
    """A dataset name tfds does not know (the message suggests close ones)."""


class DataNotFoundError(ZooError, FileNotFoundError):
    """A dataset that is neither prepared nor downloadable."""


class ModelFileError(ZooError, ValueError):
    """A missing, truncated, tampered or unreadable saved model."""


def first_line(err: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type where it has none:
    how a library's multi-line error becomes part of a one-line zoo error."""
    text = str(err).strip()
    if not text:
        return type(err).__name__
    line = text.splitlines()[0]
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " ..."


_ARGUMENT = re.compile(r"`([a-z][a-z0-9_]*)(?:=([^`]*))?`")
_FLAG_NAMES = {"source": "from", "init": "from"}  # Python arguments whose flag has another name


def for_cli(message: str, flags: set[str] | frozenset[str] | None = None) -> str:
    """A library message in the CLI's words: `` `batch_size` `` → ``--batch-size``, `` `overwrite=True` `` →
    ``--overwrite``, `` `device='gpu'` `` → ``--device gpu``; only the names in ``flags`` (the CLI's options, as
    Python names), where given: another backticked name stays as it is."""

    def flag(match: re.Match) -> str:
        if flags is not None and match.group(1) not in flags:
            return match.group(0)
        name, value = "--" + _FLAG_NAMES.get(match.group(1), match.group(1)).replace("_", "-"), match.group(2)
        if value is None or value == "True":
            return name
        return f"{name} {value.strip(chr(39) + chr(34))}"

    return _ARGUMENT.sub(flag, message)


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``: a count with its noun, for messages."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
