"""A training run's resumable state, owned by zoo: ``.<name>.run/`` beside the output folder.

    run.json                  the run's settings (a rerun with other settings is refused)
    epoch-00003.weights.h5    weights and optimizer state (so the schedule's position and any weight average) after
                              epoch 3, written under a temporary name, flushed and renamed into place
    state.json                the manifest, written last and atomically: the epoch, the weights file that belongs to
                              it, and the per-epoch history and seconds

Because the manifest names its weights file and is replaced in one rename, a kill at any instruction leaves
either the previous epoch's state or the new one, never a mix; older weights files are deleted only after the new
manifest is in place. The folder is removed only after the model folder is saved. A lock file keeps two runs out
of one folder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo.atomic import atomic_write_text, is_real_dir, open_lock_file
from zoo.errors import UsageError, ZooError, first_line
from zoo.quiet import muted_stderr

STATE_FILE = "state.json"
LOCK_FILE = "lock"


class DamagedRunState(ZooError, ValueError):
    """The run folder's state cannot be read; ``--restart`` discards it."""


def check_run_dir(run_dir: Path) -> None:
    """The run-state folder is zoo's own: a real folder or none, never a link (followed, it would let zoo write
    or delete files elsewhere)."""
    if run_dir.is_symlink():
        raise UsageError(f"{run_dir} is a symbolic link; zoo keeps its run state in a folder of its own: remove it")
    if os.path.lexists(run_dir) and not is_real_dir(run_dir):
        raise UsageError(f"{run_dir} is not a folder; zoo keeps its run state there: remove it")


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir`` (made if missing); a second holder is refused with the first's pid."""
    check_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_dir(run_dir)
    fd = open_lock_file(run_dir / LOCK_FILE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise UsageError(
                f"{run_dir} is in use by another zoo train (pid {holder}); wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


RUN_FILES = re.compile(
    r"(run\.json|state\.json|epoch-\d{5}\.weights\.h5|\.tmp-\d+-epoch-\d{5}\.weights\.h5|\.[\w.]+\.tmp)"
)


def discard(run_dir: Path, keep_lock: bool = False) -> None:
    """Delete what zoo wrote in ``run_dir`` (its files, by name; never a folder or a link's target), then the
    folder itself where nothing else is left in it (``keep_lock``: the lock file and the folder stay)."""
    if not is_real_dir(run_dir):
        return
    for path in run_dir.iterdir():
        if RUN_FILES.fullmatch(path.name) or (path.name == LOCK_FILE and not keep_lock):
            if not is_real_dir(path):
                with contextlib.suppress(OSError):
                    path.unlink()
    if not keep_lock:
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # only where it is empty: what zoo did not write stays


class RunState:
    """The last completed epoch of a run, its weights file and its per-epoch history."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.epoch = 0
        self.weights: str | None = None
        self.epochs: dict[int, dict[str, float]] = {}
        self.epoch_seconds: dict[int, float] = {}

    @classmethod
    def open(cls, run_dir: Path) -> RunState:
        """The state in ``run_dir`` (empty if none was saved); a damaged one is a one-line error."""
        state = cls(run_dir)
        path = run_dir / STATE_FILE
        if not path.exists():
            return state
        try:
            saved = json.loads(path.read_text())
            state.epoch = int(saved["epoch"])
            state.weights = saved["weights"]
            state.epochs = {int(k): {m: float(v) for m, v in row.items()} for k, row in saved["history"].items()}
            state.epoch_seconds = {int(k): float(v) for k, v in saved["epoch_seconds"].items()}
            if state.epoch < 0 or not isinstance(state.weights, str) or "/" in state.weights:
                raise ValueError("bad epoch or weights entry")
            if not (run_dir / state.weights).is_file():
                raise ValueError(f"its weights file {state.weights} is missing")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise damaged(run_dir, err) from None
        return state

    @property
    def seconds(self) -> float:
        return sum(self.epoch_seconds.values())

    def history(self) -> dict[str, list[float]]:
        rows = [self.epochs[k] for k in sorted(self.epochs)]
        keys = list(rows[0]) if rows else []
        return {k: [r.get(k, float("nan")) for r in rows] for k in keys}

    def restore(self, model) -> None:
        """Load the saved weights and optimizer state into ``model`` (compiled, built)."""
        if self.weights is None:
            return
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
        try:
            model.load_weights(self.dir / self.weights)
        except Exception as err:  # h5py and Keras raise many types for a damaged file
            raise damaged(self.dir, err) from None

    def save(self, model, epoch: int, logs: dict[str, Any], seconds: float) -> None:
        """Record epoch ``epoch`` (1-based count of completed epochs): weights file first, then the manifest."""
        name = f"epoch-{epoch:05d}.weights.h5"
        tmp = self.dir / f".tmp-{os.getpid()}-{name}"  # Keras wants the .weights.h5 suffix
        try:
            check_free_space(self.dir, checkpoint_bytes(model, self.dir / self.weights if self.weights else None))
            with muted_stderr():  # HDF5 prints its own error stack from C; the Python error below says it in a line
                model.save_weights(tmp, overwrite=True)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.dir / name)
            self.epochs[epoch] = {k: float(v) for k, v in logs.items() if k != "learning_rate"}
            self.epoch_seconds[epoch] = round(seconds, 3)
            self.epoch, self.weights = epoch, name
            atomic_write_text(
                self.dir / STATE_FILE,
                json.dumps(
                    {
                        "epoch": epoch,
                        "weights": name,
                        "history": {str(k): v for k, v in sorted(self.epochs.items())},
                        "epoch_seconds": {str(k): v for k, v in sorted(self.epoch_seconds.items())},
                    }
                ),
            )
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ZooError(
                f"could not write the checkpoint of epoch {epoch} in {self.dir} "
                f"({err.strerror or err}); the previous one is kept, rerun to resume"
            ) from None
        for old in self.dir.glob("epoch-*.weights.h5"):
            if old.name != name and RUN_FILES.fullmatch(old.name):
                with contextlib.suppress(OSError):
                    old.unlink()


def damaged(run_dir: Path, err: Exception) -> DamagedRunState:
    reason = first_line(err, 160)
    return DamagedRunState(
        f"the run state in {run_dir} is damaged ({reason}); pass `restart=True` to discard it and train from the start"
    )


def checkpoint_bytes(model, previous: Path | None) -> int:
    """About how large the next checkpoint file will be: the last one's size, or the model's and optimizer's
    variables."""
    import numpy as np

    if previous is not None and previous.is_file():
        return previous.stat().st_size
    variables = [*model.weights, *(model.optimizer.variables if model.optimizer else [])]
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


def check_free_space(folder: Path, needed: int) -> None:
    """Fail in one line before writing ``needed`` bytes (with a margin) where the disk has less: HDF5, which
    writes the checkpoints, reacts to a full disk with pages of errors and sometimes a crash."""
    free = shutil.disk_usage(folder).free
    if free < 2 * needed + (16 << 20):
        raise OSError(
            errno.ENOSPC, f"{mib(free)} free, a checkpoint needs about {mib(needed)} (with room for one more)"
        )


def mib(size: int) -> str:
    """A byte count in MiB, to a tenth for small ones (a LeNet checkpoint is 0.7 MiB, not "0 MiB")."""
    return f"{size / (1 << 20):,.1f} MiB" if size < (100 << 20) else f"{size >> 20:,} MiB"


def checkpoint_callback(state: RunState):
    """A Keras callback that restores ``state`` when training begins and saves it after every epoch."""
    import keras

    class Checkpoint(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            state.restore(self.model)

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            state.save(self.model, epoch + 1, logs or {}, time.perf_counter() - self.start)

    return Checkpoint()
