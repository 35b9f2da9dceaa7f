"""The saved-model folder, the contract with other applications.

    <model_dir>/model.keras   Keras 3 native format, no optimizer state
    <model_dir>/card.json     what the model is, how it was trained, what it scored, its exports
    <model_dir>/history.csv   per-epoch metrics

Every write is atomic: files are written to a temporary name and renamed, folders are built beside
their destination and swapped in, so a crash never leaves a half-written model. Loading keeps Keras
``safe_mode`` on, so a model file cannot run code.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.card import CardError, ModelCard
from zoo.errors import ModelFileError, UsageError, first_line

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
HISTORY_FILE = "history.csv"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename (never over a folder)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name to write (an existing file is replaced)")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a saved model is for others to read
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


SWAP_OLD = ".old"  # inside a swap folder: the previous version, moved aside; its presence marks a swap under way


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``dest`` to write a file or folder at; on success it replaces
    ``dest`` (the old one is removed only after the swap), on failure it is removed and ``dest`` is untouched.

    A folder cannot be replaced by one rename, so the swap is two: the old folder moves into the temporary folder
    (``.old``), then the new one moves to ``dest``. A process killed between the two leaves the complete new
    version in the temporary folder: :func:`recover` (run by every zoo command that opens ``dest``) finishes it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    recover(dest)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        tmp = work / dest.name
        yield tmp
        if dest.is_dir() and not dest.is_symlink():
            os.replace(dest, work / SWAP_OLD)  # a folder cannot be replaced by rename in one step
            try:
                os.replace(tmp, dest)
            except OSError:
                os.replace(work / SWAP_OLD, dest)  # put the previous version back
                raise
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def recover(dest: str | os.PathLike) -> None:
    """Finish a folder swap into ``dest`` that a killed process left half done (see :func:`atomic_path`)."""
    dest = Path(dest)
    for work in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):
        if not (work / SWAP_OLD).exists():
            continue  # not a swap under way (another process may still be writing there): leave it
        if not dest.exists() and (work / dest.name).exists():
            os.replace(work / dest.name, dest)  # the new version was complete: the swap had begun
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(dest: str | os.PathLike) -> Iterator[Path]:
    """:func:`atomic_path` for a file: an existing file at ``dest`` is replaced, a folder never is."""
    check_file_output(dest)
    with atomic_path(dest) as tmp:
        yield tmp


def check_file_output(dest: str | os.PathLike) -> Path:
    """``dest`` may be written as a file: not an existing folder, and its parent can be made and written."""
    dest = Path(dest)
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder; give a file name to write (an existing file is replaced)")
    return check_writable(dest, overwrite=True)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``dest`` on success; an existing ``dest`` needs ``overwrite``."""
    if Path(dest).exists() and not overwrite:
        raise UsageError(f"{dest} already exists; pass `overwrite=True` to replace it")
    with atomic_path(dest) as tmp:
        tmp.mkdir(mode=0o777 & ~_umask())
        yield tmp


def check_writable(dest: str | os.PathLike, overwrite: bool) -> Path:
    """Fail early, before any work, if ``dest`` exists (without ``overwrite``) or cannot be created."""
    dest = Path(dest)
    if dest.parent.is_dir():
        recover(dest)
    if dest.exists() and not overwrite:
        raise UsageError(f"{dest} already exists; pass `overwrite=True` to replace it")
    parent = dest.parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write to {dest}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write to {dest}: {parent} is not writable")
    return dest


def check_model_output(dest: str | os.PathLike, overwrite: bool) -> Path:
    """A model folder to write: not empty, not the current folder or one above it (nor /), not a file, not a
    folder of something else; an existing model folder only with ``overwrite``."""
    if not str(dest).strip():
        raise UsageError("the output folder must not be empty")
    dest = Path(dest)
    resolved, here = dest.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise UsageError(f"output {dest} is the current folder or one above it; name a new folder for the model")
    if dest.is_file():
        raise UsageError(f"output {dest} is a file, not a model folder")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / CARD_FILE).is_file():
        raise UsageError(f"output {dest} is a folder that holds no zoo model ({CARD_FILE}); name a new folder")
    return check_writable(dest, overwrite)


def write_history(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    rows = len(history[keys[0]]) if keys else 0
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for i in range(rows):
        writer.writerow([i + 1, *(f"{history[k][i]:.6g}" for k in keys)])
    atomic_write_text(path, buf.getvalue())


def read_history(model_dir: str | os.PathLike) -> dict[str, list[float]]:
    with open(Path(model_dir) / HISTORY_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    return {k: [float(r[k]) for r in rows] for k in keys}


def write_card(model_dir: str | os.PathLike, card: ModelCard) -> None:
    atomic_write_text(Path(model_dir) / CARD_FILE, card.to_json())


def save(
    model_dir: str | os.PathLike,
    model: keras.Model,
    card: ModelCard,
    history: dict[str, list[float]] | None = None,
    overwrite: bool = False,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write the model folder atomically: model.keras (weights and architecture only), card.json, history.csv."""

    with atomic_dir(model_dir, overwrite=overwrite) as tmp:
        # A copy rebuilt from the config carries no optimizer state or compile config (clone_model keeps them).
        clean = model.__class__.from_config(model.get_config())
        clean.set_weights(model.get_weights())
        clean.save(tmp / MODEL_FILE)
        write_card(tmp, card)
        if history is not None:
            write_history(tmp / HISTORY_FILE, history)
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
    return Path(model_dir)


def read_card(model_dir: str | os.PathLike) -> ModelCard:
    """The card of a saved-model folder; a missing or unreadable one is a one-line error. (A folder or a tag:
    :func:`zoo.pretrained.read_card`.)"""
    model_dir = Path(model_dir)
    recover(model_dir)
    if not model_dir.exists():
        raise ModelFileError(f"model folder {model_dir} does not exist")
    if not model_dir.is_dir():
        raise ModelFileError(f"{model_dir} is a file, not a model folder")
    path = model_dir / CARD_FILE
    try:
        card = ModelCard.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ModelFileError(f"{path} is missing: {model_dir} is not a zoo model folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not a readable card ({err})") from None
    except CardError as err:
        raise ModelFileError(f"{path} is not a valid card: {err}") from None
    for entry in card.exports.values():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str) and "/" not in entry["path"].strip("/"):
            recover(model_dir / entry["path"])  # e.g. savedmodel/, if an export was killed mid-swap
    return card


def check_model_matches(model, card: ModelCard, path: Path) -> None:
    """The model beside a card takes the card's input shape and gives a probability for each of its classes."""
    import keras

    if list(model.input_shape[1:]) != list(card.input_shape):
        raise ModelFileError(
            f"{path} takes inputs of shape {list(model.input_shape[1:])}, but its card says {card.input_shape}"
        )
    if list(model.output_shape[1:]) != [card.num_classes]:
        raise ModelFileError(
            f"{path} gives outputs of shape {list(model.output_shape[1:])}, but its card says "
            f"{card.num_classes} classes"
        )
    last = model.layers[-1]
    if getattr(last, "activation", None) is not keras.activations.softmax:
        raise ModelFileError(f"{path} does not end in a softmax: its outputs are not probabilities")


def load(model_dir: str | os.PathLike) -> tuple[keras.Model, ModelCard]:
    """Load ``(model, card)`` from a saved-model folder with Keras ``safe_mode`` on. (A folder or a tag:
    :func:`zoo.pretrained.load`.)"""
    import keras

    card = read_card(model_dir)
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise ModelFileError(f"{path} is missing")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is corrupt: not a Keras 3 .keras archive (truncated or overwritten?)")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for bad files; all mean the same to the user
        first = first_line(err)
        raise ModelFileError(f"{path} could not be loaded safely: {first}") from None
    check_model_matches(model, card, path)
    if not card.pixels_in_model:
        model = with_rescaling(model)
    return model, card


def with_rescaling(model: keras.Model) -> keras.Model:
    """A model saved before zoo models took raw pixels (its card says ``"in_model": false``: it wants x / 255)
    behind a ``rescale`` layer, so that it takes raw pixels 0-255 like every zoo model."""
    import keras

    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    return keras.Model(inputs, model(x), name=model.name)
