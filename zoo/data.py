"""Datasets → shuffled, batched, augmented, prefetched ``tf.data`` pipelines of float32 pixels in [0, 1].

A dataset is one of the three zoo knows, any tfds image-classification dataset, or a folder of images
(:mod:`zoo.sources` resolves and reads them all through tensorflow-datasets). A split under ``stream_above`` bytes
is read once into uint8 arrays; a larger one streams from its files. Each batch is cast to float32, augmented on
its 0-255 pixels, then scaled by 1/255 with :func:`normalize`, the one place zoo does it: the pipelines yield
float32 in [0, 1], what every zoo model takes (as in the keras-io examples). Everything else that takes pixels
(``zoo predict``, ``zoo serve``, evaluation on arrays) calls the same :func:`normalize`; the exports carry the same
step in their graphs, so they take raw uint8. Validation is the last ``val_fraction`` of the train split
(deterministic); the test split is for evaluation only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo import sources
from zoo.datasets import (  # noqa: F401  (the dataset facts, here as before)
    DATASETS,
    DatasetInfo,
    check_name,
    dataset_info,
    get_info,
    list_datasets,
    load_arrays,
    tfds_temp_files,
)
from zoo.errors import ArgumentTypeError, UnknownNameError, UsageError
from zoo.sources import STREAM_ABOVE, Source

if TYPE_CHECKING:
    import tensorflow as tf


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


BLOCK_BYTES = 256 * 2**20  # a streamed epoch shuffles blocks of consecutive images this large (at most 10,000)


def stream_epochs(
    source: Source,
    part: tuple[str, int, int],
    batch_size: int,
    *,
    seed: int,
    first_epoch: int,
    epochs: int,
    augment: Sequence[str] = (),
) -> tf.data.Dataset:
    """Training batches for epochs ``first_epoch..epochs-1`` streamed from the dataset's files (fit it with
    ``steps_per_epoch``): epoch e shuffles each block of consecutive images (:data:`BLOCK_BYTES`, at most
    10,000) by the stateless seed (seed, e, block), and batch b's augmentation is drawn from (seed, e, b), so a run
    resumed at an epoch boundary sees exactly the batches an uninterrupted run would."""
    import tensorflow as tf

    check_augment(augment)
    split, start, count = part
    h, w, c = source.info.input_shape
    block = int(max(256, min(10_000, BLOCK_BYTES // (h * w * c))))
    images = sources.read(source, split).skip(start).take(count).enumerate()
    seed_t = tf.constant(seed, tf.int64)

    def one_epoch(epoch):
        def shuffle_block(k, elems):
            idx, (x, y) = elems
            order = tf.random.experimental.stateless_shuffle(
                tf.range(tf.shape(idx)[0]), seed=tf.stack([seed_t, epoch * 1_000_003 + k])
            )
            return tf.gather(idx, order), tf.gather(x, order), tf.gather(y, order)

        shuffled = images.batch(block).enumerate().map(shuffle_block).unbatch()
        batches = shuffled.batch(batch_size).enumerate()
        return batches.map(lambda b, e: (e, tf.stack([seed_t, epoch * 1_000_003 + b]), epoch))

    def load_batch(elems, batch_seed, epoch):
        idx, x, y = elems
        x = as_float(x)
        if "altflip" in augment:  # each image's first flip from a hash of its index, then reversed on odd epochs
            first = tf.equal(((idx * 2654435761 + seed_t) // 65536) % 2, 1)
            flip = tf.not_equal(first, tf.equal(epoch % 2, 1))
            x = tf.where(flip[:, None, None, None], tf.reverse(x, axis=[2]), x)
        x = augment_batch(x, batch_seed, augment) if augment else x
        return normalize(x), y

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    return ds.map(load_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def stream_part(source: Source, part: tuple[str, int, int], batch_size: int) -> tf.data.Dataset:
    """One part (validation or test) streamed from its files, in order, batched and normalized."""
    import tensorflow as tf

    split, start, count = part
    ds = sources.read(source, split).skip(start).take(count).batch(batch_size)
    return ds.map(lambda x, y: (normalize(x), y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


@dataclass
class Splits:
    """Train, validation and test pipelines with the dataset's info; the uint8 arrays too, where the dataset was
    read into memory (``streamed`` False)."""

    val: tf.data.Dataset | None  # None where no validation split was held out
    test: tf.data.Dataset
    info: DatasetInfo
    train_arrays: tuple[np.ndarray, np.ndarray] | None  # None where streamed
    test_arrays: tuple[np.ndarray, np.ndarray] | None  # read once: the test pipeline and the final scoring share them
    num_train: int
    num_val: int
    num_test: int
    batch_size: int = 128
    seed: int | None = 0
    augment: tuple[str, ...] = ()
    source: Source | None = None
    parts: sources.Parts | None = None
    streamed: bool = False

    @property
    def train(self) -> tf.data.Dataset:
        """The training split, reshuffled each epoch and augmented (built on use: ``zoo train`` uses
        :meth:`epoch_stream` instead, for exact resumes)."""
        if self.streamed:
            return self.epoch_stream(0, 1)
        return make_pipeline(*self.train_arrays, self.batch_size, shuffle=True, seed=self.seed, augment=self.augment)

    def epoch_stream(self, first_epoch: int, epochs: int) -> tf.data.Dataset:
        """Training batches for epochs ``first_epoch..epochs-1``, exactly repeatable from any epoch boundary."""
        seed = self.seed or 0
        if self.streamed:
            return stream_epochs(
                self.source,
                self.parts.train,
                self.batch_size,
                seed=seed,
                first_epoch=first_epoch,
                epochs=epochs,
                augment=self.augment,
            )
        return make_epoch_stream(
            *self.train_arrays, self.batch_size, seed=seed, first_epoch=first_epoch, epochs=epochs, augment=self.augment
        )

    def first_images(self, count: int) -> np.ndarray:
        """The first ``count`` training images, uint8 (e.g. to compute a whitening layer from)."""
        if not self.streamed:
            return self.train_arrays[0][:count]
        split, start, n = self.parts.train
        ds = sources.read(self.source, split).skip(start).take(min(count, n))
        return sources.to_arrays(ds, f"{self.info.name} {split}")[0]

    def test_labels_and_images(self) -> tuple[np.ndarray | None, np.ndarray]:
        """The test split's uint8 images (None where streamed) and its labels."""
        if self.test_arrays is not None:
            return self.test_arrays
        labels = np.concatenate([y for _, y in self.test.as_numpy_iterator()])
        return None, labels


def _native(source: Source) -> bool:
    """One of the three datasets, read as it is: through the fast whole-split read, as before."""
    return source.name in DATASETS and not source.resize and source.native_channels == source.info.input_shape[2]


def _split_arrays(source: Source, split: str, data_dir: str | None):
    if _native(source):
        return load_arrays(source.name, split, data_dir)
    return sources.to_arrays(sources.read(source, split), f"{source.name} {split}")


def load(
    name: str,
    *,
    batch_size: int = 128,
    data_dir: str | None = None,
    seed: int | None = 0,
    val_fraction: float = 0.1,
    augment: Sequence[str] = (),
    image_size: Any = None,
    channels: int | None = None,
    train_limit: int | float | None = None,
    stream_above: float = STREAM_ABOVE,
    skip_bad: bool = False,
    source: Source | None = None,
    log: Callable[[str], object] = print,
) -> Splits:
    """Load ``name`` (a dataset name or a folder of images): train (shuffled, augmented; the first
    ``train_limit`` images or fraction of it, where given), validation (last ``val_fraction`` of train; none for 0)
    and test (see :mod:`zoo.sources`). ``image_size`` (``"64,64"`` or ``(64, 64)``) and ``channels`` (1 or 3)
    convert every image; a training split over ``stream_above`` decoded bytes streams from its files."""
    if not 0 <= val_fraction < 1:
        raise UsageError(f"val_fraction must be at least 0 and under 1, got {val_fraction}")
    sources.check_train_limit(train_limit)
    if source is None:
        size = sources.parse_image_size(image_size)
        source = sources.resolve(name, data_dir, image_size=size, channels=channels, skip_bad=skip_bad, log=log)
    parts = sources.parts(source, val_fraction, train_limit)
    if not source.has_test:
        log(f"{source.name} has no test split: the last {sources.TEST_FRACTION:.0%} of train is held out as its test")
    size = sources.decoded_bytes(source, source.counts["train"])
    common = dict(
        info=source.info, batch_size=batch_size, seed=seed, augment=tuple(augment), source=source, parts=parts
    )
    counts = dict(num_train=parts.train[2], num_val=parts.val[2], num_test=parts.test[2])
    if size > stream_above:
        log(
            f"Streaming {source.name} from its files: {size / 1e9:.2f} GB of decoded training images is over the "
            f"in-memory limit of {stream_above / 1e9:g} GB"
        )
        val = stream_part(source, parts.val, batch_size) if parts.val[2] else None
        test = stream_part(source, parts.test, batch_size)
        return Splits(val, test, train_arrays=None, test_arrays=None, streamed=True, **common, **counts)
    x, y = _split_arrays(source, "train", data_dir)

    def cut(part):
        split, start, count = part
        xs, ys = (x, y) if split == "train" else _split_arrays(source, split, data_dir)
        return xs[start : start + count], ys[start : start + count]

    train_arrays, val_arrays, test_arrays = cut(parts.train), cut(parts.val), cut(parts.test)
    return Splits(
        val=make_pipeline(*val_arrays, batch_size) if parts.val[2] else None,
        test=make_pipeline(*test_arrays, batch_size),
        train_arrays=train_arrays,
        test_arrays=test_arrays,
        **common,
        **counts,
    )


def card_dataset(card) -> str:
    """What a model was trained on, as ``dataset`` takes it: its folder (where it still is) or its dataset name."""
    return card.data.get("path") if card.data.get("source") == "folder" else card.dataset


def source_for(card, dataset: str | None = None, data_dir: str | None = None, log=None) -> Source:
    """``dataset`` (default: the card's own) read as the model takes its images: fitted to its size and channels,
    a folder's unreadable images left out (and said)."""
    h, w, c = card.input_shape
    say = log or (lambda message: None)
    return sources.resolve(
        dataset or card_dataset(card), data_dir, image_size=(h, w), channels=c, skip_bad=True, log=say
    )


def part_arrays(source: Source, part: tuple[str, int, int], data_dir: str | None = None):
    """One part of ``source`` (:func:`zoo.sources.parts`) as uint8 images and int64 labels."""
    split, start, count = part
    if _native(source):
        x, y = load_arrays(source.name, split, data_dir)
        return x[start : start + count], y[start : start + count]
    ds = sources.read(source, split).skip(start).take(count)
    return sources.to_arrays(ds, f"{source.name} {split}")


def test_arrays(source: Source, data_dir: str | None = None, limit: int | None = None):
    """The test split of ``source`` (its own, or the part of train held out; its first ``limit`` images where
    given) as uint8 images and int64 labels."""
    split, start, count = sources.parts(source, 0, None).test
    return part_arrays(source, (split, start, count if limit is None else min(limit, count)), data_dir)
