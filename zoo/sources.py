"""Any dataset zoo trains on, read through tensorflow-datasets: one of the three it knows, any tfds
image-classification dataset by name (``kmnist``, ``emnist/balanced``, ``tf_flowers``), or a folder of images
(``ROOT/train/<class>/*.png``, read by tfds' ``ImageFolder`` after :mod:`zoo.folders` has checked it).

Every image is brought to one size and channel count by :mod:`zoo.images` (only where it differs). A split
smaller than ``stream_above`` bytes (decoded) is read once into uint8 arrays, as the three datasets always were;
a larger one streams from its files every epoch: epoch e's order is a shuffle seeded by (seed, e) through a
buffer of :data:`SHUFFLE_BUFFER` images and batch b's augmentation is seeded by (seed, e, b), so a resumed run
is exact from the epoch boundary it resumes at.

Splits: the dataset's ``test`` split where it has one, else the last :data:`TEST_FRACTION` of ``train`` (said in
the output); validation is the last ``val_fraction`` of what remains; ``train_limit`` keeps the first N (or a
fraction) of the training part, so that small-data runs are reproducible.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo import datasets, folders
from zoo.datasets import DatasetInfo
from zoo.errors import ArgumentTypeError, DataNotFoundError, UnknownDatasetError, UsageError, first_line, plural
from zoo.images import RESIZE_RULE, SUFFIXES, decode, fit_image, to_channels

if TYPE_CHECKING:
    import tensorflow as tf

GCS = "storage.googleapis.com"  # where tfds downloads most datasets from: probed first, as for the three
TEST_FRACTION = 0.2  # of train, held out as the test split where a dataset has no test split
STREAM_ABOVE = 2e9  # bytes of decoded training images above which the training split streams from its files
SHUFFLE_BUFFER = 10_000  # images: the streamed shuffle's buffer
READ_BATCH = 1024  # images decoded per step when a split is read into memory
TESTED_TFDS = "4.9"  # ImageFolder's private list of file types is widened on this version (checked below)


@dataclass
class Source:
    """A resolved dataset: what it is called, where it is, its images as the model takes them, its splits."""

    kind: str  # "tfds" or "folder"
    name: str  # the tfds name, or the folder's own name: the card's `dataset`
    info: DatasetInfo  # shape after resizing and colour conversion
    path: Path | None = None  # a folder's root
    data_dir: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # images per split, after bad ones are skipped
    resize: bool = False  # images are fitted to info.input_shape by zoo.images' rule
    native_channels: int | None = None  # what the images have where they are converted
    keys: tuple[str, str] = ("image", "label")  # a tfds dataset's image and label features
    scan: folders.FolderScan | None = None
    skip_bad: bool = False

    @property
    def has_test(self) -> bool:
        return "test" in self.counts

    def card_data(self) -> dict[str, Any]:
        """How the images were read, for the card (``predict`` and ``serve`` apply the same)."""
        h, w, c = self.info.input_shape
        out: dict[str, Any] = {
            "source": self.kind,
            "name": self.name,
            "image_size": [h, w],
            "resize": RESIZE_RULE if self.resize else None,
            "channels": c,
            "colour": "rgb" if c == 3 else "grey",
            "converted": (
                None
                if self.native_channels in (None, c)
                else f"{'grey' if self.native_channels == 1 else 'rgb'} -> {'rgb' if c == 3 else 'grey'}"
            ),
            "test_split": "test" if self.has_test else f"held out: the last {TEST_FRACTION:.0%} of train",
        }
        if self.kind == "folder":
            out["path"] = str(self.path)
            out["skipped_images"] = len(self.scan.bad) if self.scan else 0
            out["skipped"] = [p for p, _ in self.scan.bad[:20]] if self.scan and self.skip_bad else []
        return out


def is_folder_name(dataset: str) -> bool:
    """A dataset argument names a folder where it reads as a path (``./x``, ``/x``, ``~/x``), or where a folder of
    that name is there and it is not one of the three datasets zoo knows (``./mnist`` is the folder)."""
    if dataset.startswith(("/", "./", "../", "~", ".")):
        return True
    return dataset not in datasets.DATASETS and Path(dataset).is_dir()


def parse_image_size(value: Any) -> tuple[int, int] | None:
    """``"64,64"``, ``"64"``, ``64`` or ``(64, 48)`` → (height, width); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace("x", ",").split(",")]
        if not all(p.isdigit() for p in parts) or len(parts) not in (1, 2):
            raise UsageError(f"`image_size` must be H,W (e.g. 64,64) or one side, got {value!r}")
        value = tuple(int(p) for p in parts) * (2 if len(parts) == 1 else 1)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ArgumentTypeError(f"`image_size` must be (height, width) in pixels, got {value!r}")
    if not all(1 <= v <= 4096 for v in value):
        raise UsageError(f"`image_size` sides must be from 1 to 4096 pixels, got {value[0]}x{value[1]}")
    return int(value[0]), int(value[1])


def _suggest(name: str, known: list[str]) -> str:
    starting = sorted(k for k in set(known) if k.startswith(name) and k != name)[:2]
    close = list(dict.fromkeys(starting + difflib.get_close_matches(name, known, n=3, cutoff=0.6)))[:3]
    return f"; did you mean {', '.join(close)}?" if close else "; `zoo data list` shows the prepared ones"


def _prepared_names(data_dir: str | None) -> list[str]:
    """Names of the datasets prepared in the data folder (``NAME/VERSION/dataset_info.json``), for suggestions."""
    root = Path(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()
    with contextlib.suppress(OSError):
        return sorted({p.parent.parent.name for p in root.glob("*/*/dataset_info.json")})
    return []


def _lookup(name: str, data_dir: str | None):
    """The tfds builder of ``name`` (registered, or prepared in the data folder), prepared or not; an unknown name
    raises one line with the close names tfds knows."""
    import tensorflow_datasets as tfds

    with datasets.tfds_temp_files():
        try:
            return tfds.builder(name, data_dir=data_dir)
        except Exception as err:  # noqa: BLE001  (tfds raises its own not-found error, or others on a bad name)
            known = tfds.list_builders(with_community_datasets=False) + _prepared_names(data_dir)
            base = name.split("/")[0].split(":")[0]
            if base in known:  # a known dataset with an unknown config or version
                raise UsageError(f"dataset {name!r}: {first_line(err, 160)}") from None
            raise UnknownDatasetError(f"tfds knows no dataset {name!r}{_suggest(base, known)}") from None


def check_dataset(dataset: str, data_dir: str | None = None) -> None:
    """A dataset argument that names nothing is refused at once (a missing folder, a name tfds does not know),
    before any output is checked or any device touched; whether it is prepared is checked when it is read."""
    if not dataset.strip():
        raise UsageError("`dataset` must name a dataset (mnist, kmnist, ...) or a folder of images, got ''")
    if is_folder_name(dataset):
        if not Path(dataset).expanduser().is_dir():
            raise DataNotFoundError(f"{dataset}: no such folder of images")
    elif dataset not in datasets.DATASETS:
        _lookup(dataset, data_dir)


def display_name(dataset: str) -> str:
    """What a dataset is called on the card and in ``runs/MODEL-NAME``: a folder's own name, or the name."""
    return Path(dataset).expanduser().resolve().name if is_folder_name(dataset) else dataset


def _tfds_builder(name: str, data_dir: str | None):
    """The tfds builder of ``name``, prepared (downloaded now where it is not and there is internet)."""
    if name in datasets.DATASETS:
        return datasets._builder(name, data_dir)
    builder = _lookup(name, data_dir)
    with datasets.tfds_temp_files():
        if not builder.is_prepared():
            where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
            if not datasets._reachable(GCS):
                raise DataNotFoundError(
                    f"dataset {name!r} is not prepared in {where} and there is no internet to download it; prepare "
                    "it where there is (tfds build, or tfds.load) and copy the data folder here, then pass `data_dir`"
                )
            try:
                builder.download_and_prepare()
            except Exception as err:  # noqa: BLE001
                raise DataNotFoundError(
                    f"dataset {name!r} could not be prepared in {where}: {first_line(err)}"
                ) from None
    return builder


def image_keys(builder, name: str) -> tuple[str, str]:
    """The image and label features: the supervised keys, or else the one Image and the one ClassLabel."""
    import tensorflow_datasets as tfds

    features = dict(builder.info.features.items()) if builder.info.features else {}
    keys = builder.info.supervised_keys
    if isinstance(keys, tuple) and len(keys) == 2 and all(isinstance(k, str) for k in keys):
        pair = keys
    else:
        images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
        labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
        pair = (images[0], labels[0]) if len(images) == 1 and len(labels) == 1 else (None, None)
    if not isinstance(features.get(pair[0]), tfds.features.Image) or not isinstance(
        features.get(pair[1]), tfds.features.ClassLabel
    ):
        raise UsageError(
            f"{name} is not an image-classification dataset: no image and class label among its features "
            f"({', '.join(features) or 'none'})"
        )
    return pair


def resolve(
    dataset: str,
    data_dir: str | None = None,
    *,
    image_size: Sequence[int] | None = None,
    channels: int | None = None,
    default_size: Sequence[int] | None = None,
    skip_bad: bool = False,
    log: Callable[[str], object] = print,
) -> Source:
    """The dataset ``dataset`` (a name or a folder) with its images at ``image_size`` (default: their own size
    where they all have one, else ``default_size``) and ``channels`` (default: their own; 3 for a folder with any
    colour image). Nothing is decoded but a folder's images, once, to check them."""
    if is_folder_name(dataset):
        return _folder_source(dataset, image_size, channels, default_size, skip_bad, log)
    builder = _tfds_builder(dataset, data_dir)
    image_key, label_key = image_keys(builder, dataset)
    feature = builder.info.features[image_key]
    native = tuple(feature.shape)
    size = image_size or (native[:2] if None not in native[:2] else None) or default_size
    if size is None:
        raise UsageError(f"{dataset}'s images have no one size; pass `image_size` (e.g. `image_size='64,64'`)")
    if native[:2] != tuple(size) and image_size is None:
        log(f"{dataset}'s images come in several sizes: fitted to {size[0]}x{size[1]} ({RESIZE_RULE})")
    labels = builder.info.features[label_key]
    names = list(labels.names) if labels.names else [str(i) for i in range(labels.num_classes)]
    if dataset in datasets.DATASETS:  # zoo's own facts of the three (the same as tfds', when tfds has them)
        names = list(datasets.DATASETS[dataset].class_names)
    channels = channels or native[2]
    counts = {k: v.num_examples for k, v in builder.info.splits.items() if k in ("train", "test")}
    if not counts:  # a builder whose info has no split sizes (a mocked one): counted from its examples
        counts = _count_splits(builder)
    if "train" not in counts:
        raise DataNotFoundError(f"{dataset} has no train split (it has {', '.join(builder.info.splits) or 'none'})")
    return Source(
        "tfds",
        dataset,
        DatasetInfo(dataset, (int(size[0]), int(size[1]), int(channels)), len(names), names),
        data_dir=data_dir,
        counts=counts,
        resize=tuple(native[:2]) != tuple(size),
        native_channels=native[2],
        keys=(image_key, label_key),
    )


def _count_splits(builder) -> dict[str, int]:
    counts = {}
    for split in ("train", "test"):
        try:
            ds = builder.as_dataset(split=split)
        except Exception:  # noqa: BLE001  (no such split)
            continue
        n = int(ds.cardinality())
        counts[split] = n if n >= 0 else int(ds.reduce(0, lambda k, _: k + 1))
    return counts


def _folder_source(dataset, image_size, channels, default_size, skip_bad, log) -> Source:
    scan = folders.scan(dataset, suffixes=_folder_suffixes(), log=log)
    folders.check_bad(scan, skip_bad, log)
    root = Path(dataset).expanduser().resolve()
    sizes = scan.sizes
    size = image_size or (next(iter(sizes)) if len(sizes) == 1 else default_size)
    if size is None:
        raise UsageError(f"the images in {dataset} have several sizes; pass `image_size` (e.g. `image_size='64,64'`)")
    if image_size is None and len(sizes) > 1:
        (a, _), (b, _) = sizes.most_common(2)
        log(
            f"The images in {dataset} have {len(sizes)} sizes ({a[0]}x{a[1]}, {b[0]}x{b[1]}, ...): fitted to the "
            f"model's {size[0]}x{size[1]} ({RESIZE_RULE}); `image_size` picks another"
        )
    native = 3 if scan.colour else 1
    channels = channels or native
    counts = scan.counts()
    name = root.name
    return Source(
        "folder",
        name,
        DatasetInfo(name, (int(size[0]), int(size[1]), int(channels)), len(scan.classes), list(scan.classes)),
        path=root,
        counts=counts,
        resize=set(sizes) != {tuple(size)},
        native_channels=native,
        scan=scan,
        skip_bad=skip_bad,
    )


def _folder_suffixes() -> tuple[str, ...]:
    """The file types ImageFolder lists here: zoo's five on the tfds version tested, else tfds' own."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.folder_dataset import image_folder

    own = getattr(image_folder, "_SUPPORTED_IMAGE_FORMAT", (".jpg", ".jpeg", ".png"))
    return SUFFIXES if tfds.__version__.startswith(TESTED_TFDS) else tuple(own)


@contextlib.contextmanager
def _image_folder_types() -> Iterator[None]:
    """tfds' ImageFolder lists .jpg, .jpeg and .png only; zoo also reads .bmp and .gif (which TensorFlow decodes):
    its private list is widened meanwhile, on the tfds version tested."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.folder_dataset import image_folder

    saved = getattr(image_folder, "_SUPPORTED_IMAGE_FORMAT", None)
    widen = tfds.__version__.startswith(TESTED_TFDS) and isinstance(saved, tuple)
    if widen:
        image_folder._SUPPORTED_IMAGE_FORMAT = tuple(sorted(set(saved) | {".bmp", ".gif"}))
    try:
        yield
    finally:
        if widen:
            image_folder._SUPPORTED_IMAGE_FORMAT = saved


def read(source: Source, split: str) -> tf.data.Dataset:
    """Every (good) image of ``split`` in the dataset's own order, as (uint8 ``[H, W, C]``, int64 label)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    h, w, c = source.info.input_shape
    if source.kind == "folder":
        with datasets.tfds_temp_files(), _image_folder_types():
            builder = tfds.ImageFolder(str(source.path))
        # Encoded bytes and file names, decoded here: a bad image that was skipped is dropped by its name first.
        ds = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()}, shuffle_files=False)
        bad = sorted(str(source.path / p) for p in source.scan.bad_paths) if source.scan else []
        if bad:
            table = tf.constant(bad)
            ds = ds.filter(lambda ex: tf.logical_not(tf.reduce_any(tf.equal(ex["image/filename"], table))))
        return ds.map(
            lambda ex: (decode(ex["image"], c, (h, w)), ex["label"]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    builder = _tfds_builder(source.name, source.data_dir)
    image_key, label_key = source.keys
    with datasets.tfds_temp_files():
        ds = builder.as_dataset(split=split, shuffle_files=False)
    ds = ds.map(lambda ex: (ex[image_key], ex[label_key]))
    if source.native_channels == c and not source.resize:
        return ds.map(lambda x, y: (x, tf.cast(y, tf.int64)))
    return ds.map(
        lambda x, y: (fit_image(to_channels(x, c), (h, w)), tf.cast(y, tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def to_arrays(ds: tf.data.Dataset, what: str) -> tuple[np.ndarray, np.ndarray]:
    """A (image, label) dataset read into uint8 images and int64 labels."""
    return datasets.to_arrays(ds, f"{what} has no images", batch=READ_BATCH)


@dataclass(frozen=True)
class Parts:
    """Where train, validation and test lie: (split, first index, count) each."""

    train: tuple[str, int, int]
    val: tuple[str, int, int]
    test: tuple[str, int, int]


def parts(source: Source, val_fraction: float, train_limit: int | float | None) -> Parts:
    """The three parts of ``source`` as index ranges (see the module's docstring)."""
    total = source.counts["train"]
    if source.has_test:
        test, usable = ("test", 0, source.counts["test"]), total
    else:
        held = max(1, int(round(total * TEST_FRACTION)))
        test, usable = ("train", total - held, held), total - held
    n_val = max(1, int(round(usable * val_fraction))) if val_fraction else 0
    n_train = usable - n_val
    if train_limit is not None:
        keep = train_limit if isinstance(train_limit, int) else max(1, int(round(n_train * train_limit)))
        n_train = min(n_train, keep)
    if n_train < 1:
        raise UsageError(f"{source.name} has {plural(total, 'training image')}: none left to train on after the splits")
    return Parts(("train", 0, n_train), ("train", usable - n_val, n_val), test)


def check_train_limit(train_limit: Any) -> None:
    if train_limit is None:
        return
    if isinstance(train_limit, bool) or not isinstance(train_limit, (int, float)):
        raise ArgumentTypeError(f"`train_limit` must be a count of images or a fraction, got {train_limit!r}")
    if isinstance(train_limit, float) and not 0 < train_limit <= 1:
        raise UsageError(f"`train_limit` as a fraction must be over 0 and at most 1, got {train_limit}")
    if isinstance(train_limit, int) and train_limit < 1:
        raise UsageError(f"`train_limit` must be at least 1 image, got {train_limit}")


def decoded_bytes(source: Source, count: int) -> int:
    h, w, c = source.info.input_shape
    return count * h * w * c
