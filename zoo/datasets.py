"""The datasets zoo knows by name (MNIST, Fashion-MNIST, CIFAR-10): their facts as plain data, and their tfds
builders, prepared (or downloaded where the network allows) and read whole into uint8 arrays."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.atomic import process_alive
from zoo.errors import DataNotFoundError, UnknownNameError, first_line


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset."""

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    class_names: list[str] = field(default_factory=list)


# Static facts, so that shapes and names are known without touching tfds (they are tfds' own metadata).
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", (28, 28, 1), 10, [str(i) for i in range(10)]),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist",
        (28, 28, 1),
        10,
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
    "cifar10": DatasetInfo(
        "cifar10",
        (32, 32, 3),
        10,
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    ),
}


# Where tfds downloads each dataset from; probed first so that a machine with no internet fails in seconds.
DOWNLOAD_HOSTS = {
    "mnist": "storage.googleapis.com",
    "fashion_mnist": "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
    "cifar10": "www.cs.toronto.edu",
}


def _reachable(host: str, timeout: float = 5.0) -> bool:
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def list_datasets() -> list[str]:
    return sorted(DATASETS)


def check_name(name: str) -> str:
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, list_datasets())
    return name


def get_info(name: str) -> DatasetInfo:
    """Shape, class count and class names of a known dataset (prepared or not)."""
    return DATASETS[check_name(name)]


@contextlib.contextmanager
def tfds_temp_files() -> Iterator[None]:
    """Python's temporary folder pointed at a fresh one of zoo's meanwhile, removed after: tfds makes a
    ``tmp*tfds`` folder for a dataset's metadata and never removes it."""
    saved = tempfile.tempdir
    root = Path(tempfile.gettempdir())
    for dead in root.glob("zoo-tfds-*-*"):  # a killed process's (named with its pid)
        pid = dead.name.split("-")[2]
        if pid.isdigit() and not process_alive(int(pid)) and dead.is_dir() and not dead.is_symlink():
            shutil.rmtree(dead, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"zoo-tfds-{os.getpid()}-") as folder:
        tempfile.tempdir = folder
        try:
            yield
        finally:
            tempfile.tempdir = saved


def _builder(name: str, data_dir: str | None):
    with tfds_temp_files():
        return _prepared_builder(name, data_dir)


def _prepared_builder(name: str, data_dir: str | None):
    import tensorflow_datasets as tfds

    check_name(name)
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        try:
            if not _reachable(DOWNLOAD_HOSTS[name]):
                raise ConnectionError(f"no connection to {DOWNLOAD_HOSTS[name]}")
            builder.download_and_prepare()
        except Exception as err:  # no internet, proxy, disk: all end the same way for the user
            where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
            reason = first_line(err, 160)
            nearby = _prepared_nearby(name, Path(where).expanduser())
            hint = (
                f"it is prepared in {nearby}: pass `data_dir='{nearby}'`"
                if nearby
                else "point `data_dir` (or TFDS_DATA_DIR) at the folder where it is prepared, or, with no internet, "
                f"prepare it from downloaded files: zoo data import {name} --from DIR"
                + (f" --data-dir {data_dir}" if data_dir else "")
            )
            raise DataNotFoundError(
                f"dataset {name!r} is not prepared in {where} and could not be downloaded ({reason}); {hint}"
            ) from None
    return builder


def _prepared_nearby(name: str, where: Path) -> Path | None:
    """A tfds data folder one level off ``where`` that holds ``name`` (``where/tensorflow_datasets/mnist/3.0.1``,
    or ``where`` being the dataset's own folder): the usual slip when pointing at a copied folder."""
    candidates = [where.parent] if where.name == name else []
    with contextlib.suppress(OSError):
        candidates += sorted(p for p in where.iterdir() if p.is_dir())
    for folder in candidates:
        with contextlib.suppress(OSError):
            if any((v / "dataset_info.json").is_file() for v in (folder / name).iterdir()):
                return folder
    return None


def dataset_info(name: str, data_dir: str | None = None) -> DatasetInfo:
    """The info of ``name``, once it is prepared (downloaded now where it is not and the network allows)."""
    _builder(name, data_dir)
    return DATASETS[name]


def load_arrays(name: str, split: str, data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A whole split as uint8 images [N, H, W, C] and int64 labels [N], read once into memory."""
    builder = _builder(name, data_dir)
    ds = builder.as_dataset(split=split, as_supervised=True)
    return to_arrays(ds, f"split {split!r} of {name} is empty", batch=8192)


def to_arrays(ds, empty: str, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """A dataset of (image, label) read whole into uint8 images [N, H, W, C] and int64 labels [N]; an empty one
    raises ``empty`` as its message."""
    import tensorflow_datasets as tfds

    batches = list(tfds.as_numpy(ds.batch(batch)))
    if not batches:
        raise DataNotFoundError(empty)
    images = np.concatenate([b[0] for b in batches]).astype(np.uint8, copy=False)
    labels = np.concatenate([b[1] for b in batches]).astype(np.int64, copy=False)
    return images, labels
