"""The saved-model folder, the contract with other applications.

    <model_dir>/model.keras   Keras 3 native format, no optimizer state
    <model_dir>/card.json     what the model is, how it was trained, what it scored, its exports
    <model_dir>/history.csv   per-epoch metrics

Every write is atomic: files are written to a temporary name and renamed, folders are built beside
their destination and swapped in, so a crash never leaves a half-written model. Loading keeps Keras
``safe_mode`` on, so a model file cannot run code.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.atomic import (
    NAME_MAX,
    SIBLING_NAME_EXTRA,
    atomic_dir,
    atomic_write_text,
    check_regular_file,
    check_writable,
    commit,
    pending_swap,
    writing,
)
from zoo.card import CardError, ModelCard
from zoo.errors import ModelFileError, UsageError, first_line

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
HISTORY_FILE = "history.csv"


def commit_with_card(model_dir: Path, work: Path, files: dict[str, Path], card: ModelCard) -> None:
    """Replace files or folders and the model folder's card together (:func:`zoo.atomic.commit`)."""
    commit(model_dir, work, files, card.to_json(), CARD_FILE)


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
    if dest.is_symlink():
        raise UsageError(f"output {dest} is a symbolic link; name the folder it points to, or a new one")
    longest = len(dest.name) + SIBLING_NAME_EXTRA  # e.g. .<name>.XXXXXXXX.tmp, the temporary folder of a swap
    if longest > NAME_MAX:
        raise UsageError(
            f"output folder name {dest.name[:40]}... is {len(dest.name)} characters; at most "
            f"{NAME_MAX - SIBLING_NAME_EXTRA} (zoo keeps hidden folders beside it named after it)"
        )
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

    with writing(model_dir), atomic_dir(model_dir, overwrite=overwrite) as tmp:
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
    model_dir = readable(model_dir)
    if not model_dir.exists():
        raise ModelFileError(f"model folder {model_dir} does not exist")
    if not model_dir.is_dir():
        raise ModelFileError(f"{model_dir} is a file, not a model folder")
    path = model_dir / CARD_FILE
    if not os.path.lexists(path):
        raise ModelFileError(f"{path} is missing: {model_dir} is not a zoo model folder")
    check_regular_file(path, MAX_CARD_BYTES)
    try:
        card = ModelCard.from_dict(json.loads(path.read_text()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not a readable card ({first_line(err)})") from None
    except RecursionError:
        raise ModelFileError(f"{path} is not a readable card (nested too deeply)") from None
    except CardError as err:
        raise ModelFileError(f"{path} is not a valid card: {err}") from None
    return card


def readable(model_dir: str | os.PathLike) -> Path:
    """The folder a read finds ``model_dir`` at: itself, or its complete new version where a killed writer left it
    mid-swap (:func:`pending_swap`; the next writer finishes the swap). A read never changes a folder."""
    return pending_swap(model_dir) or Path(model_dir)


MAX_CARD_BYTES = 1 << 20  # a card is a few kB; 1 MiB is far more than any honest one
# What a .keras archive's small members may inflate to: Keras reads config.json into memory whole, so a crafted
# 4 MB archive that inflates to 3.9 GB (under Keras' own 4 GiB guard) would take 8 GB and a minute. The weights
# (model.weights.h5) are read in pieces and may be as large as the model is.
MAX_ARCHIVE_MEMBER_BYTES = {"config.json": 64 << 20, "metadata.json": 1 << 20}


MAX_PARAMS = 250_000_000  # 1 GB of float32 weights: AlexNet, the largest zoo model, has 62 million
ARCHIVE_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")  # what Keras writes for a zoo model


def check_archive(path: Path, card: ModelCard) -> None:
    """Before Keras builds or reads anything of a .keras archive: only the members Keras writes for a zoo model,
    each inflating to a bounded size, and a model whose parameter count (from its config, with no weights made) is
    the card's and at most :data:`MAX_PARAMS`; the weights no larger than that many float32 values."""
    with zipfile.ZipFile(path) as archive:
        members = {m.filename: m for m in archive.infolist()}
        extra = sorted(set(members) - set(ARCHIVE_MEMBERS))
        if extra:
            raise ModelFileError(
                f"{path} is refused: it holds {extra[0][:60]!r}, not a member of a zoo model "
                f"({', '.join(ARCHIVE_MEMBERS)})"
            )
        for name, limit in MAX_ARCHIVE_MEMBER_BYTES.items():
            if name in members and members[name].file_size > limit:
                raise ModelFileError(
                    f"{path} is refused: its {name} inflates to {members[name].file_size:,} bytes "
                    f"(at most {limit:,}); a zip bomb or not a zoo model"
                )
        if "config.json" not in members:
            raise ModelFileError(f"{path} is not a Keras 3 .keras archive: it has no config.json")
        try:
            config = json.loads(archive.read("config.json"))
        except (ValueError, RecursionError, zipfile.BadZipFile) as err:
            raise ModelFileError(f"{path} could not be loaded safely: its config.json ({first_line(err)})") from None
        params = config_params(config, path)
        if params is None:  # a Keras without the stateless scope tested: the card's count bounds the weights
            params = card.params if card.params is not None else MAX_PARAMS
        if params > MAX_PARAMS:
            raise ModelFileError(f"{path} is refused: its config makes {params:,} parameters; at most {MAX_PARAMS:,}")
        if card.params is not None and params != card.params:
            raise ModelFileError(
                f"{path} is refused: its config makes {params:,} parameters, but its card says {card.params:,}: "
                "the card is another model's"
            )
        weights = members.get("model.weights.h5")
        limit = 4 * params + (1 << 20)  # float32 values and HDF5's own headers
        if weights is not None and weights.file_size > limit:
            raise ModelFileError(
                f"{path} is refused: its model.weights.h5 inflates to {weights.file_size:,} bytes, more than "
                f"{params:,} parameters need ({limit:,}); a zip bomb or not this model's weights"
            )


def config_params(config: dict, path: Path) -> int | None:
    """The parameter count of the model a Keras config describes, counted from the variables' shapes with none of
    them made (Keras' stateless scope defers their initialization), in ``safe_mode``: no code runs. None where the
    Keras in use lacks that scope (tested on Keras 3.15: a private module)."""
    import keras

    try:
        from keras.src.backend.common import global_state
        from keras.src.backend.common.stateless_scope import StatelessScope
    except ImportError:
        return None
    if not keras.__version__.startswith("3."):
        return None

    pending = global_state.get_global_attribute("uninitialized_variables")
    try:
        with StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
            return int(model.count_params())
    except Exception as err:  # Keras raises many types for a bad config; all mean the same to the user
        raise ModelFileError(f"{path} could not be loaded safely: {first_line(err)}") from None
    finally:  # the deferred variables are dropped, never initialized
        global_state.set_global_attribute("uninitialized_variables", pending)


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
    if card.params is not None and model.count_params() != card.params:
        raise ModelFileError(
            f"{path} has {model.count_params():,} parameters, but its card says {card.params:,}: "
            f"the card is another model's"
        )
    if card.schema_version >= 2 and model.name != card.model:
        raise ModelFileError(
            f"{path} is a {model.name} model, but its card says {card.model}: the card is another model's"
        )
    last = model.layers[-1]
    if getattr(last, "activation", None) is not keras.activations.softmax:
        raise ModelFileError(f"{path} does not end in a softmax: its outputs are not probabilities")


def load(model_dir: str | os.PathLike) -> tuple[keras.Model, ModelCard]:
    """Load ``(model, card)`` from a saved-model folder with Keras ``safe_mode`` on. (A folder or a tag:
    :func:`zoo.pretrained.load`.)"""
    import keras

    card = read_card(model_dir)
    path = readable(model_dir) / MODEL_FILE
    if not os.path.lexists(path):
        raise ModelFileError(f"{path} is missing")
    check_regular_file(path)
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is corrupt: not a Keras 3 .keras archive (truncated or overwritten?)")
    check_archive(path, card)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for bad files; all mean the same to the user
        first = first_line(err)
        raise ModelFileError(f"{path} could not be loaded safely: {first}") from None
    check_model_matches(model, card, path)
    if card.pixels_in_model:
        model = taking_unit_pixels(model)
    return model, card


def taking_unit_pixels(model: keras.Model) -> keras.Model:
    """A model of schema 2, which scales raw pixels 0-255 itself (its card says ``"in_model": true``), behind a ×255
    layer, so that it takes pixels / 255 in [0, 1] like every zoo model."""
    import keras

    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    x = keras.layers.Rescaling(255.0, name="unscale")(inputs)
    return keras.Model(inputs, model(x), name=model.name)
