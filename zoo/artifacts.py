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
import errno
import fcntl
import glob
import hashlib
import io
import json
import os
import shutil
import stat
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


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, in sorted order), in 1 MiB reads."""
    path, digest = Path(path), hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def writing(model_dir: str | os.PathLike, log=None) -> Iterator[None]:
    """One writer at a time for a model folder: ``zoo train``'s swap and ``zoo export`` hold an exclusive lock on
    ``.<name>.lock`` beside it (not inside: the folder itself is swapped); a second writer waits for the first.
    The lock file is removed by its holder, so none is left behind; a waiter that then holds a removed file's lock
    sees that and takes the new one. Holding the lock, the writer first finishes or undoes what a killed writer
    left (:func:`repair`): only writers repair, a read never changes a folder."""
    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    path = model_dir.parent / f".{model_dir.name}.lock"
    waited = False
    while True:
        fd = open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log and not waited:
                log(f"Waiting for another zoo command that writes {model_dir} to finish")
            waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.lstat(path).st_ino:
                break  # the lock of the file that is there now
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed that file: take the lock of the one there now
    try:
        repair(model_dir)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still held, so that no one can take this one after us
        os.close(fd)


def open_lock_file(path: Path) -> int:
    """A lock file's descriptor, made if missing; never through a link, and only a regular file (a FIFO, a device
    or a link in its place is refused in one line naming it)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as err:
        why = "it is a symbolic link" if err.errno == errno.ELOOP else err.strerror
        raise UsageError(f"cannot use the lock file {path} ({why}); remove it if no zoo command is running") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"the lock file {path} is not a regular file (a FIFO, device or folder); remove it")
    return fd


def repair(model_dir: str | os.PathLike) -> None:
    """Finish or undo what a killed writer left in and beside ``model_dir``: a half-done folder swap, an export's
    commit, staging folders of dead processes. Called by writers only, holding the folder's lock."""
    model_dir = Path(model_dir)
    recover(model_dir)
    if is_real_dir(model_dir):
        sweep_staging(model_dir)
        for entry in model_dir.iterdir():  # a folder export (savedmodel/) killed mid-swap
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and is_real_dir(entry):
                swapped = entry.name[1:].rsplit(".", 2)[0]
                if swapped and _plain_name(swapped):
                    recover(model_dir / swapped)


def is_real_dir(path: Path) -> bool:
    """A folder that is not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


STAGING_MARKER = ".zoo-staging"  # in every staging folder zoo makes: only folders with it (or empty) are swept


def staging_dir(folder: Path, kind: str) -> Path:
    """A fresh hidden folder in ``folder`` for work under way, named with this process's id so that a later run
    can tell a dead process's leftovers from live work (:func:`sweep_staging`), and marked as zoo's."""
    work = Path(tempfile.mkdtemp(dir=folder, prefix=f".{kind}.{os.getpid()}.", suffix=".tmp"))
    (work / STAGING_MARKER).touch()
    return work


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


COMMIT_JOURNAL = "commit.json"


def _made_by_zoo(work: Path) -> bool:
    """A staging folder zoo made: a real folder (not a link) holding zoo's marker, or empty (a kill came between
    its making and its marker)."""
    return is_real_dir(work) and (os.path.lexists(work / STAGING_MARKER) or not any(work.iterdir()))


def sweep_staging(folder: str | os.PathLike, kind: str = "export") -> None:
    """Finish or undo what a killed process left in ``folder`` (a writer's job, under the folder's lock): a commit
    it had begun (its journal) is rolled back, unless its card was already in place; the staging folders of dead
    processes are removed. Only folders zoo made are touched, and a journal moves files only inside ``folder``."""
    folder = Path(folder)
    for work in folder.glob(f".{kind}.*.tmp"):
        pid = work.name.split(".")[2]
        if pid.isdigit() and process_alive(int(pid)) and int(pid) != os.getpid():
            continue  # another live process's work
        if not _made_by_zoo(work):
            continue  # not zoo's: left as it is
        journal = work / COMMIT_JOURNAL
        if os.path.lexists(journal):
            check_regular_file(journal, MAX_CARD_BYTES)
            try:
                entries = json.loads(journal.read_text())
            except (OSError, ValueError, RecursionError):
                entries = None  # a journal cut short by the kill: written before any file moved
            if entries is not None:
                _finish_commit(_checked_journal(entries, folder, work), folder, work)
        shutil.rmtree(work, ignore_errors=True)


def commit_with_card(model_dir: Path, work: Path, files: dict[str, Path], card: ModelCard) -> None:
    """Replace files or folders and the model folder's card together: either all change or none does.

    ``files`` maps each destination, a name in ``model_dir``, to its staged version inside ``work`` (a staging
    folder in ``model_dir``). The new card is written first (a full disk fails here, before anything moved); a
    journal of base names then lists the moves; each old version moves aside into ``work`` and the new one into
    place; the card's rename is the commit. A failure before it (a read-only card, a full disk) moves everything
    back; a kill before it is rolled back by the next writer's :func:`sweep_staging`.
    """
    new_card = work / "card.json.new"
    atomic_write_text(new_card, card.to_json())
    moves = [{"dest": dest, "new": new.name, "old": f"old.{i}"} for i, (dest, new) in enumerate(files.items())]
    journal = {"moves": moves}
    _checked_journal(journal, model_dir, work)
    atomic_write_text(work / COMMIT_JOURNAL, json.dumps(journal))
    try:
        for move in moves:
            if os.path.lexists(model_dir / move["dest"]):
                os.replace(model_dir / move["dest"], work / move["old"])
            os.replace(work / move["new"], model_dir / move["dest"])
        os.replace(new_card, model_dir / CARD_FILE)
    except BaseException:
        _finish_commit(journal, model_dir, work)  # the card did not move: undo the file moves
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(work / COMMIT_JOURNAL)


def _checked_journal(journal: object, folder: Path, work: Path) -> dict:
    """A commit journal whose every name is a plain file name, so that its moves stay inside ``folder`` and
    ``work``: anything else (an absolute path, ``..``, a separator, a journal of an older zoo) is refused in one
    line, and nothing moves."""
    moves = journal.get("moves") if isinstance(journal, dict) else None
    ok = isinstance(moves, list) and all(
        isinstance(m, dict) and all(isinstance(m.get(k), str) and _plain_name(m[k]) for k in ("dest", "new", "old"))
        for m in moves
    )
    if ok:
        resolved = folder.resolve()
        ok = all((folder / m["dest"]).parent.resolve() == resolved for m in moves)
    if not ok:
        raise ModelFileError(
            f"{work / COMMIT_JOURNAL} names files outside {folder}; zoo did not write it and will not follow it: "
            f"remove {work} if no zoo command is running"
        )
    return journal


def _finish_commit(journal: dict, folder: Path, work: Path) -> None:
    """A commit that did not reach its card's rename is undone: new files out, old ones back."""
    if not os.path.lexists(work / "card.json.new"):
        return  # the card was renamed into place: the commit is complete
    for move in reversed(journal["moves"]):
        dest, new, old = folder / move["dest"], work / move["new"], work / move["old"]
        if os.path.lexists(old):
            if os.path.lexists(dest) and not os.path.lexists(new):
                os.replace(dest, new)  # the new version moves back to staging, to be removed with it
            os.replace(old, dest)
        elif os.path.lexists(dest) and not os.path.lexists(new):
            os.replace(dest, new)  # there was no old version: the destination did not exist before


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


def _swaps(dest: Path) -> Iterator[Path]:
    """The swap folders beside ``dest`` that a killed process left mid-swap: real folders (not links) holding the
    previous version (``.old``) and the complete new one."""
    for work in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):
        if is_real_dir(work) and os.path.lexists(work / SWAP_OLD) and os.path.lexists(work / dest.name):
            yield work


def pending_swap(dest: str | os.PathLike) -> Path | None:
    """Where a read finds ``dest`` when a killed writer left it mid-swap (the new version, complete, still in its
    swap folder), without moving anything; None when ``dest`` is there or no swap was under way."""
    dest = Path(dest)
    if os.path.lexists(dest):
        return None
    return next((work / dest.name for work in _swaps(dest)), None)


def recover(dest: str | os.PathLike) -> None:
    """Finish a folder swap into ``dest`` that a killed process left half done (see :func:`atomic_path`); a
    writer's job, holding ``dest``'s lock."""
    dest = Path(dest)
    for work in _swaps(dest):
        if not os.path.lexists(dest):
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
    if (dest.exists() or pending_swap(dest)) and not overwrite:
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


NAME_MAX = 255  # characters in one file name on Linux and macOS file systems
SIBLING_NAME_EXTRA = len(".") + len(".run.worker999") + 8  # the longest hidden sibling a model folder gets


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


def file_problem(path: Path, max_bytes: int | None = None) -> str | None:
    """Why ``path`` is not a regular file (a FIFO, a device, a folder, unreadable) of at most ``max_bytes``, or None
    where it is one: checked before anything reads it."""
    try:
        info = path.stat()
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, pipe or folder)"
    if max_bytes is not None and info.st_size > max_bytes:
        return f"is {info.st_size:,} bytes, more than the {max_bytes:,} zoo reads"
    return None


def check_regular_file(path: Path, max_bytes: int | None = None) -> None:
    """``path`` is a regular file of at most ``max_bytes`` (:func:`file_problem`), or a one-line error."""
    problem = file_problem(path, max_bytes)
    if problem:
        raise ModelFileError(f"{path} {problem}")


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
