"""Datasets through tensorflow-datasets → in-memory, shuffled, batched, prefetched ``tf.data``.

Images stay uint8 in memory; each batch is cast to float32, augmented on its 0-255 pixels, then scaled by 1/255
with :func:`normalize`, the one place zoo does it: the pipelines yield float32 in [0, 1], what every zoo model takes
(as in the keras-io examples). Everything else that takes pixels (``zoo predict``, ``zoo serve``, evaluation on
arrays) calls the same :func:`normalize`; the exports carry the same step in their graphs, so they take raw uint8.
Validation is the last ``val_fraction`` of the train split (deterministic); the test split is for evaluation only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo.atomic import process_alive
from zoo.errors import ArgumentTypeError, DataNotFoundError, UnknownNameError, UsageError, first_line

if TYPE_CHECKING:
    import tensorflow as tf


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


SCALE = 1 / 255  # pixels 0-255 → [0, 1]: multiplied in float32, as a Keras Rescaling layer computes it


def as_float(images: tf.Tensor) -> tf.Tensor:
    """uint8 pixels → float32 pixels, still 0-255 (what the augmentations work on; :func:`normalize` scales them)."""
    import tensorflow as tf

    return tf.cast(images, tf.float32)


def normalize(images):
    """Pixels 0-255 (uint8 or any numeric dtype; a NumPy array or a tensor) → float32 in [0, 1]: what every zoo
    model takes. A NumPy array gives a NumPy array, a tensor a tensor."""
    if isinstance(images, np.ndarray) or np.isscalar(images):
        return np.asarray(images, np.float32) * np.float32(SCALE)
    import tensorflow as tf

    return tf.cast(images, tf.float32) * SCALE


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
    import tensorflow_datasets as tfds

    builder = _builder(name, data_dir)
    ds = builder.as_dataset(split=split, as_supervised=True).batch(8192)
    batches = list(tfds.as_numpy(ds))
    if not batches:
        raise DataNotFoundError(f"split {split!r} of {name} is empty")
    images = np.concatenate([b[0] for b in batches]).astype(np.uint8, copy=False)
    labels = np.concatenate([b[1] for b in batches]).astype(np.int64, copy=False)
    return images, labels


def make_pipeline(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    augment: Sequence[str] = (),
) -> tf.data.Dataset:
    """In-memory uint8 arrays → shuffled per epoch → batched → float32 pixels per batch → (augmented) → normalized
    to [0, 1] → prefetched.

    For evaluation and for library users; ``zoo train`` uses :func:`make_epoch_stream`, whose shuffles and
    augmentations are replayed exactly on resume.
    """
    import tensorflow as tf

    check_augment(augment)
    augment = tuple("flip" if a == "altflip" else a for a in augment)  # no epochs here: plain random flips
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (as_float(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda batch, r: (augment_batch(batch[0], tf.stack([r, r // 2]), augment), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    ds = ds.map(lambda x, y: (normalize(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_epoch_stream(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    first_epoch: int,
    epochs: int,
    augment: Sequence[str] = (),
) -> tf.data.Dataset:
    """Training batches for epochs ``first_epoch..epochs-1`` as one stream (fit it with ``steps_per_epoch``).

    Epoch e's order is a stateless shuffle seeded by (seed, e) and batch b's augmentation is drawn from the
    stateless seed (seed, e, b), so a run resumed at epoch k sees exactly the batches an uninterrupted run would.
    """
    import tensorflow as tf

    check_augment(augment)
    # Decoded once and kept in memory as uint8 (4x less than float32): a batch is one gather and one cast.
    x, y, n = tf.constant(images), tf.constant(labels), len(images)

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([seed, epoch]))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate()
        return batches.map(lambda b, idx: (idx, tf.stack([tf.constant(seed, tf.int64), epoch * 1_000_003 + b]), epoch))

    # Alternating flip (airbench): each image gets a random flip in epoch 0 and the opposite one in every odd
    # epoch, so over two epochs every image is seen both ways (random flips repeat a view half the time).
    first_flip = tf.random.stateless_uniform([n], tf.constant([seed, 0x5EED], tf.int64)) < 0.5

    def load_batch(idx, batch_seed, epoch):
        images = as_float(tf.gather(x, idx))
        if "altflip" in augment:
            flip = tf.not_equal(tf.gather(first_flip, idx), tf.equal(epoch % 2, 1))
            images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
        images = augment_batch(images, batch_seed, augment) if augment else images
        return normalize(images), tf.gather(y, idx)  # augmented on 0-255 pixels, then scaled to [0, 1]

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    ds = ds.map(load_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


# Augmentations, applied to whole batches of float32 pixels. Each is a random affine map per image (one
# ImageProjectiveTransform for all of them) or a flip, drawn from a stateless seed.
AUGMENTATIONS = {
    "flip": "horizontal flip with probability 1/2",
    "altflip": "horizontal flip, random in epoch 0 and reversed on every odd epoch (each image seen both ways)",
    "crop": "translation by up to 2 px (whole pixels), reflected edges: pad-and-crop",
    "shift": "translation by up to 1/8 of the size, reflected edges",
    "translate": "translation by up to 7.5 % (2 px on 28x28), black fill: for digits",
    "distort": "rotation up to 8 degrees and zoom up to 8 %, black fill: small affine distortions for digits",
}


def check_augment(augment: Sequence[str]) -> None:
    unknown = [a for a in augment if a not in AUGMENTATIONS]
    if unknown:
        raise UnknownNameError("augmentation", unknown[0], sorted(AUGMENTATIONS))


def parse_augment(augment: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Augmentations as names: ``"flip,crop"`` or ``["flip", "crop"]``; ``"none"`` or ``""`` for none; None stays
    None (the recipe's). Unknown names fail, listing the known ones."""
    if augment is None:
        return None
    if isinstance(augment, str):
        augment = [a.strip() for a in augment.split(",")]
    elif not isinstance(augment, (list, tuple)) or not all(isinstance(a, str) for a in augment):
        raise ArgumentTypeError(f"`augment` must be a string like 'flip,crop' or a list of names, got {augment!r}")
    names = tuple(a for a in augment if a not in ("", "none"))
    check_augment(names)
    return names


def augment_batch(images: tf.Tensor, seed: tf.Tensor, augment: Sequence[str]) -> tf.Tensor:
    """``images`` [B, H, W, C] with the named augmentations drawn from the stateless ``seed`` (two int64)."""
    import math

    import tensorflow as tf

    b = tf.shape(images)[0]
    h, w = float(images.shape[1]), float(images.shape[2])
    flip_seed, angle_seed, zoom_seed, shift_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 4))

    def uniform(limit: float, s: tf.Tensor, shape=None) -> tf.Tensor:
        return tf.random.stateless_uniform(shape or [b], s, -limit, limit)

    if "flip" in augment:
        flip = tf.random.stateless_uniform([b], flip_seed) < 0.5
        images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
    affine = [a for a in augment if a not in ("flip", "altflip")]  # altflip needs the epoch: make_epoch_stream
    if not affine:
        return images
    angle = uniform(8 * math.pi / 180, angle_seed) if "distort" in affine else tf.zeros([b])
    scale = 1.0 + uniform(0.08, zoom_seed) if "distort" in affine else tf.ones([b])
    pad = 0
    if "crop" in affine:  # whole-pixel shifts in [-2, 2]
        shift = tf.cast(tf.random.stateless_uniform([2, b], shift_seed, -2, 3, dtype=tf.int32), tf.float32)
        if affine == ["crop"]:
            # airbench's pad-and-crop: edges reflected without repeating the edge pixel (PyTorch's and tf.pad's
            # REFLECT, as in the TTA views; the transform's own REFLECT repeats it), then every shift is in bounds
            pad = 2
            images = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            shift -= pad
    else:
        fraction = 0.125 if "shift" in affine else 0.075 if "translate" in affine else 0.0
        shift = uniform(fraction, shift_seed, [2, b]) * tf.constant([[w], [h]])
    # Output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2): rotate and zoom about the centre,
    # then move the content by the shift.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    transforms = tf.stack(
        [
            cos,
            -sin,
            cx - cos * cx + sin * cy - shift[0],
            sin,
            cos,
            cy - sin * cx - cos * cy - shift[1],
            tf.zeros([b]),
            tf.zeros([b]),
        ],
        axis=1,
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3] - 2 * pad,
        fill_value=0.0,
        interpolation="NEAREST" if affine == ["crop"] else "BILINEAR",
        fill_mode="REFLECT" if {"shift", "crop"} & set(affine) else "CONSTANT",
    )


@dataclass
class Splits:
    """Train, validation and test pipelines with the dataset's info."""

    val: tf.data.Dataset | None  # None where no validation split was held out
    test: tf.data.Dataset
    info: DatasetInfo
    train_arrays: tuple[np.ndarray, np.ndarray]
    test_arrays: tuple[np.ndarray, np.ndarray]  # read once: the test pipeline and the final scoring share them
    num_train: int
    num_val: int
    num_test: int
    batch_size: int = 128
    seed: int | None = 0
    augment: tuple[str, ...] = ()

    @property
    def train(self) -> tf.data.Dataset:
        """The training split, reshuffled each epoch and augmented (built on use: ``zoo train`` uses
        :func:`make_epoch_stream` instead, for exact resumes)."""
        return make_pipeline(*self.train_arrays, self.batch_size, shuffle=True, seed=self.seed, augment=self.augment)


def load(
    name: str,
    *,
    batch_size: int = 128,
    data_dir: str | None = None,
    seed: int | None = 0,
    val_fraction: float = 0.1,
    augment: Sequence[str] = (),
) -> Splits:
    """Load ``name``: train (shuffled, augmented), validation (last ``val_fraction`` of train; none for 0) and
    test."""
    if not 0 <= val_fraction < 1:
        raise UsageError(f"val_fraction must be at least 0 and under 1, got {val_fraction}")
    info = dataset_info(name, data_dir)
    x, y = load_arrays(name, "train", data_dir)
    x_test, y_test = load_arrays(name, "test", data_dir)
    n_val = max(1, int(round(len(x) * val_fraction))) if val_fraction else 0
    cut = len(x) - n_val  # the validation split is the last n_val images (none for 0)
    x_train, y_train, x_val, y_val = x[:cut], y[:cut], x[cut:], y[cut:]
    return Splits(
        val=make_pipeline(x_val, y_val, batch_size) if n_val else None,
        test=make_pipeline(x_test, y_test, batch_size),
        info=info,
        train_arrays=(x_train, y_train),
        test_arrays=(x_test, y_test),
        num_train=len(x_train),
        num_val=len(x_val),
        num_test=len(x_test),
        batch_size=batch_size,
        seed=seed,
        augment=tuple(augment),
    )
