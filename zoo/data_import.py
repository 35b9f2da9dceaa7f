"""Air-gapped data: prepare mnist, fashion_mnist and cifar10 as ordinary tfds datasets from files fetched by hand.

tfds' own builders run (so the result is the standard layout and version); only their download step is
pointed at the local files, after zoo has checked them. Nothing half-prepared is left behind on failure.

Accepted sources (a folder, or for cifar10 also an archive):
- mnist, fashion_mnist: a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
  and t10k-labels-idx1-ubyte, each gzipped (.gz) or not.
- cifar10: cifar-10-binary.tar.gz, its extracted cifar-10-batches-bin/ folder (or a folder holding either), or
  cifar-10-python.tar.gz (converted to the binary layout tfds reads).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import pickle
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from zoo.atomic import file_problem, process_alive
from zoo.data import check_name, list_datasets, tfds_temp_files
from zoo.errors import UsageError, ZooError, first_line
from zoo.sources import image_keys

IDX_FILES = {
    "train_data": ("train-images-idx3-ubyte", 2051),
    "train_labels": ("train-labels-idx1-ubyte", 2049),
    "test_data": ("t10k-images-idx3-ubyte", 2051),
    "test_labels": ("t10k-labels-idx1-ubyte", 2049),
}
STANDARD_COUNTS = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000)}
CIFAR_RECORD = 1 + 32 * 32 * 3
CIFAR_BIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
MAX_CIFAR_BATCH_BYTES = 60_000 * CIFAR_RECORD  # a batch file of more records than all of CIFAR-10 is refused
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class SourceFileError(ZooError, ValueError):
    """A source file that is missing, truncated or not of the expected format."""


MAX_IDX_ITEMS = 1_000_000  # more images than this in one MNIST-format file is refused, not read


def _read_bytes(path: Path, magic: int) -> bytes:
    """An IDX file's bytes, un-gzipped; never more than its header's counts promise (a gzip bomb stops there)."""
    header = 16 if magic == 2051 else 8
    try:
        with gzip.open(path) if path.suffix == ".gz" else open(path, "rb") as f:
            head = f.read(header)
            if len(head) < header:
                return head  # check_idx reports the truncation
            count = int.from_bytes(head[4:8], "big")
            if count > MAX_IDX_ITEMS:
                raise SourceFileError(
                    f"{path}: its header claims {count:,} items, more than {MAX_IDX_ITEMS:,}; "
                    "expected an MNIST-format IDX file"
                )
            item = 28 * 28 if magic == 2051 else 1
            return head + f.read(count * item + 1)  # one byte more than promised shows padding
    except (OSError, EOFError, zlib.error) as err:
        raise SourceFileError(f"{path}: unreadable ({first_line(err)}); expected an IDX file, gzipped or not") from None


def _find(source: Path, base: str) -> Path:
    for name in (base, base + ".gz"):
        if os.path.lexists(source / name):
            return checked_source_file(source, source / name)
    raise SourceFileError(f"{source}: no {base} or {base}.gz; expected the four MNIST-format IDX files there")


def checked_source_file(folder: Path, path: Path, max_bytes: int | None = None) -> Path:
    """``path`` is a regular file inside ``folder`` (a symlink may point within it, not out of it), of at most
    ``max_bytes``: a link to /dev/zero or to a file elsewhere is refused, not read."""
    target = path.resolve()
    if folder.resolve() not in target.parents:
        raise SourceFileError(f"{path}: a link out of {folder}; copy the file itself into the folder")
    problem = file_problem(target, max_bytes)
    if problem:
        raise SourceFileError(f"{path}: {problem}")
    return path


def check_idx(path: Path, magic: int, data: bytes) -> int:
    """Validate an IDX file's magic number, shape and length; return its item count."""
    header = 16 if magic == 2051 else 8
    if len(data) < header:
        raise SourceFileError(f"{path}: truncated: {len(data)} bytes, shorter than the {header}-byte IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise SourceFileError(
            f"{path}: wrong magic number {found}, expected {magic} ({'images' if magic == 2051 else 'labels'} IDX file)"
        )
    count = int.from_bytes(data[4:8], "big")
    item = 1
    if magic == 2051:
        rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
        if (rows, cols) != (28, 28):
            raise SourceFileError(f"{path}: images are {rows}x{cols}, expected 28x28")
        item = 28 * 28
    if len(data) != header + count * item:
        raise SourceFileError(
            f"{path}: truncated or padded: {len(data)} bytes, expected {header + count * item} for {count} items"
        )
    if magic == 2049 and count and max(data[header:]) > 9:
        raise SourceFileError(f"{path}: label {max(data[header:])} found, expected 10 classes (0-9)")
    return count


# The share of blank (0) pixels tells MNIST's digits (81 % blank) from Fashion-MNIST's clothes (50 %), on any
# thousand images of either; the files of one imported under the other's name would train a model that scores
# 9 % on the real test split.
BLANK_SHARE = {"mnist": 0.81, "fashion_mnist": 0.50}


def _check_identity(source: Path, name: str, images: Path) -> None:
    """The IDX images are the named dataset's, not the other MNIST-format one's (by their share of blank pixels)."""
    pixels = np.fromfile(images, np.uint8, count=16 + 1000 * 784)[16:]
    share = float((pixels == 0).mean()) if pixels.size else BLANK_SHARE[name]
    closest = min(BLANK_SHARE, key=lambda known: abs(BLANK_SHARE[known] - share))
    if closest != name:
        raise SourceFileError(
            f"{source}: these images look like {closest}'s, not {name}'s ({share:.0%} blank pixels; {closest} has "
            f"{BLANK_SHARE[closest]:.0%}, {name} {BLANK_SHARE[name]:.0%}); import them as {closest}"
        )


def _stage_idx(source: Path, work: Path, name: str) -> tuple[dict[str, Path], dict[str, int]]:
    """Check the four IDX files and write them un-gzipped into ``work``; return paths and split counts."""
    if not source.is_dir():
        raise SourceFileError(f"{source}: not a folder; expected a folder with the four IDX files")
    paths, counts = {}, {}
    for key, (base, magic) in IDX_FILES.items():
        path = _find(source, base)
        data = _read_bytes(path, magic)
        counts[key] = check_idx(path, magic, data)
        paths[key] = work / base
        paths[key].write_bytes(data)
    _check_identity(source, name, paths["train_data"])
    for split in ("train", "test"):
        if counts[f"{split}_data"] != counts[f"{split}_labels"]:
            raise SourceFileError(
                f"{source}: {split} has {counts[f'{split}_data']} images but {counts[f'{split}_labels']} labels"
            )
    return paths, {"train": counts["train_data"], "test": counts["test_data"]}


MAX_PICKLE_ITEMS = 200_000  # list and dict items in one batch: CIFAR-10's hold 10,000 labels and 10,000 file names


class _CifarUnpickler(pickle._Unpickler):  # noqa: SLF001  (the Python one: its opcodes can be counted)
    """Admits only what CIFAR's pickled batches hold (dicts, lists, bytes, numbers and uint8 NumPy arrays):
    any other global a crafted pickle names (``os.system``, ``builtins.eval``, ...) is refused before it runs; and
    no more list or dict items than a batch holds (a few bytes of pickle can repeat one row millions of times)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
    items = 0

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}: not part of a CIFAR-10 batch")
        return super().find_class(module, name)

    def _count(self, items: int) -> None:
        self.items += items
        if self.items > MAX_PICKLE_ITEMS:
            raise pickle.UnpicklingError(f"more than {MAX_PICKLE_ITEMS:,} list or dict items: not a CIFAR-10 batch")

    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001

    def load_append(self):
        self._count(1)
        pickle._Unpickler.load_append(self)  # noqa: SLF001

    def load_appends(self):
        self._count(len(self.stack))  # the items since the mark
        pickle._Unpickler.load_appends(self)  # noqa: SLF001

    def load_setitem(self):
        self._count(1)
        pickle._Unpickler.load_setitem(self)  # noqa: SLF001

    def load_setitems(self):
        self._count(len(self.stack) // 2)
        pickle._Unpickler.load_setitems(self)  # noqa: SLF001

    def load_list(self):  # MARK items LIST, as protocols 0 and 1 write lists (TUPLE and DICT likewise)
        self._count(len(self.stack))
        pickle._Unpickler.load_list(self)  # noqa: SLF001

    def load_tuple(self):
        self._count(len(self.stack))
        pickle._Unpickler.load_tuple(self)  # noqa: SLF001

    def load_dict(self):
        self._count(len(self.stack) // 2)
        pickle._Unpickler.load_dict(self)  # noqa: SLF001

    dispatch[pickle.LIST[0]] = load_list
    dispatch[pickle.TUPLE[0]] = load_tuple
    dispatch[pickle.DICT[0]] = load_dict
    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems


def load_cifar_pickle(data: bytes) -> Any:
    """Unpickle one CIFAR-10 python batch with :class:`_CifarUnpickler` (no code from the file runs)."""
    import io

    return _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()


def _cifar_from_python(archive: Path, out: Path) -> None:
    """cifar-10-python.tar.gz (pickled batches) → the binary record layout tfds reads."""
    batches = {}
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                name = Path(member.name).name
                if name.startswith(("data_batch_", "test_batch", "batches.meta")) and member.isfile():
                    if member.size > MAX_CIFAR_BATCH_BYTES:
                        raise SourceFileError(f"{archive}: {name} is {member.size:,} bytes, more than a batch holds")
                    batches[name] = load_cifar_pickle(tar.extractfile(member).read())
    except (tarfile.TarError, EOFError, OSError, zlib.error, pickle.UnpicklingError, ValueError, TypeError) as err:
        raise SourceFileError(f"{archive}: not a readable cifar-10-python.tar.gz ({first_line(err)})") from None
    for name, batch in batches.items():
        if not isinstance(batch, dict):
            raise SourceFileError(f"{archive}: {name} holds a {type(batch).__name__}, expected a CIFAR-10 batch dict")
        if name != "batches.meta":
            _check_batch(archive, name, batch)
    missing = [n for n in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"] if n not in batches]
    if missing:
        raise SourceFileError(f"{archive}: missing {', '.join(missing)}; expected cifar-10-python.tar.gz")
    out.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = batches[name]
        pixels, labels = batch[b"data"], np.asarray(batch[b"labels"], np.uint8)
        np.concatenate([labels[:, None], pixels], axis=1).tofile(out / f"{name}.bin")
    names = batches.get("batches.meta", {}).get(b"label_names")
    if not (isinstance(names, list) and len(names) == 10 and all(isinstance(n, bytes) and len(n) < 64 for n in names)):
        names = [c.encode() for c in CIFAR_CLASSES]
    (out / "batches.meta.txt").write_text("\n".join(n.decode() for n in names) + "\n")


def _check_batch(archive: Path, name: str, batch: dict) -> None:
    """A CIFAR-10 python batch is what the format holds, checked before any array is built from it: ``data`` a
    uint8 array [N, 3072] and ``labels`` a list of N class numbers, N at most 60,000 (a crafted pickle can repeat
    one row millions of times in a few bytes)."""
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if not isinstance(labels, list) or not 0 < len(labels) <= 60_000:
        raise SourceFileError(f"{archive}: {name} has no list of at most 60,000 labels; not a CIFAR-10 batch")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape == (len(labels), 3072)):
        shape = list(data.shape) if isinstance(data, np.ndarray) else type(data).__name__
        raise SourceFileError(f"{archive}: {name} has data {shape}, expected a uint8 array [{len(labels)}, 3072]")
    if not all(type(label) is int and 0 <= label <= 9 for label in labels):
        raise SourceFileError(f"{archive}: {name} has labels that are not classes 0-9")


def _stage_cifar(source: Path, work: Path) -> tuple[Path, dict[str, int]]:
    """Find or extract cifar-10-batches-bin/, check it, and return the folder that holds it."""
    root = work / "cifar"
    batches = root / "cifar-10-batches-bin"
    if source.is_dir() and (source / "cifar-10-batches-bin").is_dir():
        source = source / "cifar-10-batches-bin"
    elif source.is_dir() and (source / "cifar-10-binary.tar.gz").is_file():
        source = source / "cifar-10-binary.tar.gz"
    elif source.is_dir() and (source / "cifar-10-python.tar.gz").is_file():
        source = source / "cifar-10-python.tar.gz"
    if source.is_dir():
        batches.mkdir(parents=True)
        for name in [*CIFAR_BIN_FILES, "batches.meta.txt"]:
            if os.path.lexists(source / name):
                limit = MAX_CIFAR_BATCH_BYTES if name.endswith(".bin") else 4096
                shutil.copyfile(checked_source_file(source, source / name, limit), batches / name)
    elif source.is_file() and "python" in source.name:
        _cifar_from_python(source, batches)
    elif source.is_file():
        try:
            with tarfile.open(source) as tar:
                wanted = [m for m in tar if m.isfile() and Path(m.name).name in [*CIFAR_BIN_FILES, "batches.meta.txt"]]
                too_big = [m for m in wanted if m.size > MAX_CIFAR_BATCH_BYTES]
                if too_big:
                    raise SourceFileError(
                        f"{source}: {too_big[0].name} is {too_big[0].size:,} bytes, more than a CIFAR-10 batch holds"
                    )
                # Regular files only, each written under its base name: no path or link from the archive is used
                # (and no need for extractall's filter=, which Python 3.11 has only from 3.11.4).
                batches.mkdir(parents=True, exist_ok=True)
                for member in wanted:
                    with (
                        tar.extractfile(member) as src,
                        open(batches / Path(member.name).name, "wb") as dst,
                    ):
                        shutil.copyfileobj(src, dst)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            raise SourceFileError(f"{source}: not a readable cifar-10-binary.tar.gz ({first_line(err)})") from None
    else:
        raise SourceFileError(
            f"{source}: no such file or folder; expected cifar-10-binary.tar.gz, "
            "cifar-10-batches-bin/ or cifar-10-python.tar.gz"
        )
    counts = {"train": 0, "test": 0}
    for name in CIFAR_BIN_FILES:
        path = batches / name
        if not path.is_file():
            raise SourceFileError(f"{source}: {name} is missing; expected data_batch_1..5.bin and test_batch.bin")
        size = path.stat().st_size
        if size == 0 or size % CIFAR_RECORD:
            raise SourceFileError(
                f"{source}: {name} is {size} bytes, not a whole number of {CIFAR_RECORD}-byte records (truncated?)"
            )
        labels = np.fromfile(path, np.uint8).reshape(-1, CIFAR_RECORD)[:, 0]
        if labels.max() > 9:
            raise SourceFileError(f"{source}: {name} has label {labels.max()}, expected 10 classes (0-9)")
        counts["test" if name.startswith("test") else "train"] += len(labels)
    meta = batches / "batches.meta.txt"
    if not meta.is_file() or len([n for n in meta.read_text().split("\n") if n.strip()]) != 10:
        raise SourceFileError(f"{source}: batches.meta.txt is missing or does not name 10 classes")
    return root, counts


@contextlib.contextmanager
def _tfds_quiet():
    """tfds without its progress bars, its printed lines and its info logs, restored after."""
    import io

    import tensorflow_datasets as tfds
    from absl import logging as absl_logging

    level = absl_logging.get_verbosity()
    tfds.disable_progress_bar()
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        absl_logging.set_verbosity(level)
        tfds.enable_progress_bar()


@contextlib.contextmanager
def _local_downloads(local: Any, counts: dict[str, int]):
    """Point tfds' download step at ``local`` (and the MNIST builder's fixed counts at the files' counts)."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.image_classification import mnist as tfds_mnist

    def download_and_extract(self, urls):
        if isinstance(urls, dict):
            return {k: tfds.core.Path(local[k]) for k in urls}
        return tfds.core.Path(local)

    saved = (tfds.download.DownloadManager.download_and_extract, tfds_mnist._TRAIN_EXAMPLES, tfds_mnist._TEST_EXAMPLES)
    tfds.download.DownloadManager.download_and_extract = download_and_extract
    tfds_mnist._TRAIN_EXAMPLES, tfds_mnist._TEST_EXAMPLES = counts["train"], counts["test"]
    try:
        yield
    finally:
        (tfds.download.DownloadManager.download_and_extract, tfds_mnist._TRAIN_EXAMPLES, tfds_mnist._TEST_EXAMPLES) = (
            saved
        )


def _sweep_dead_imports(temp_root: Path, dataset_root: Path) -> None:
    """Remove what killed imports left (the caller holds the dataset's import lock, so no other zoo import of it is
    live): ``zoo-import-*`` temp folders of dead processes, and tfds' ``incomplete.*`` folders, full or empty."""
    for work in temp_root.glob("zoo-import-*-*-*"):
        pid = work.name.split("-")[-2]
        if pid.isdigit() and not process_alive(int(pid)) and work.is_dir() and not work.is_symlink():
            shutil.rmtree(work, ignore_errors=True)
    for leftover in dataset_root.glob("*incomplete*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _import_lock(data_root: Path, name: str):
    """One zoo import of a dataset at a time in a data folder (``.zoo-import-<name>.lock`` beside its folder)."""
    import fcntl

    from zoo.atomic import open_lock_file

    data_root.mkdir(parents=True, exist_ok=True)
    path = data_root / f".zoo-import-{name}.lock"
    fd = open_lock_file(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another zoo data import of {name} is running in {data_root}; wait for it") from None
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # removed by its holder, while held: none is left behind
    finally:
        os.close(fd)


def import_dataset(name: str, source: str | os.PathLike, data_dir: str | None = None, log=print) -> Path:
    """Check the files in ``source`` and prepare ``name`` from them with tfds' own builder."""
    temp_root = Path(tempfile.gettempdir())  # (tfds_temp_files points Python's elsewhere meanwhile)
    with tfds_temp_files():
        return _import(name, source, data_dir, log, temp_root)


def _import(name: str, source: str | os.PathLike, data_dir: str | None, log, temp_root: Path) -> Path:
    import tensorflow_datasets as tfds

    check_name(name)
    builder = tfds.builder(name, data_dir=data_dir)
    if builder.is_prepared():
        log(f"{name} {builder.version} is already prepared in {builder.data_dir}; nothing to do")
        return Path(builder.data_dir)
    source = Path(source).expanduser()
    if not source.exists():
        raise UsageError(f"`source` {source}: no such file or folder")
    dataset_root = Path(builder.data_dir).parent  # <data_dir>/<name>/<version> → <data_dir>/<name>
    with tempfile.TemporaryDirectory(prefix=f"zoo-import-{name}-{os.getpid()}-", dir=temp_root) as tmp:
        # The files are checked (and staged in the temporary folder) before anything is written in the data folder.
        if name == "cifar10":
            local, counts = _stage_cifar(source, Path(tmp))
        else:
            local, counts = _stage_idx(source, Path(tmp), name)
        if (counts["train"], counts["test"]) != STANDARD_COUNTS[name]:
            log(
                f"note: {counts['train']} train / {counts['test']} test examples, not the standard "
                f"{STANDARD_COUNTS[name][0]} / {STANDARD_COUNTS[name][1]}"
            )
        data_root_existed = dataset_root.parent.exists()
        try:
            with _import_lock(dataset_root.parent, name):
                _sweep_dead_imports(temp_root, dataset_root)
                _prepare(builder, name, local, counts, dataset_root, log)
        except BaseException:
            if not data_root_existed:
                with contextlib.suppress(OSError):
                    dataset_root.parent.rmdir()  # made for the lock, and empty again
            raise
    log(
        f"{name} {builder.version} prepared in {builder.data_dir}: "
        f"{counts['train']} train / {counts['test']} test examples"
    )
    return Path(builder.data_dir)


def _prepare(builder, name: str, local, counts: dict[str, int], dataset_root: Path, log) -> None:
    """tfds' own builder prepares ``name`` from the staged files; a failure leaves nothing behind."""
    import tensorflow_datasets as tfds

    downloads = dataset_root.parent / "downloads"
    existed, downloads_existed = dataset_root.exists(), downloads.exists()
    log(f"Preparing {name} {builder.version} with tensorflow-datasets' own builder from the checked files ...")
    try:
        # tfds' own "Downloading and preparing" lines and progress bars say what is not so here (nothing is
        # downloaded): zoo's lines before and after say what happens
        with _local_downloads(local, counts), _tfds_quiet():
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    except BaseException as err:
        for leftover in dataset_root.glob("*incomplete*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if not existed:
            shutil.rmtree(dataset_root, ignore_errors=True)
        if not downloads_existed:
            shutil.rmtree(downloads, ignore_errors=True)
        if not isinstance(err, Exception):
            raise
        first = first_line(err)
        raise ZooError(
            f"could not prepare {name} in {dataset_root.parent} ({first}); nothing was left behind"
        ) from None


def list_prepared(data_dir: str | None = None) -> list[dict[str, Any]]:
    """Every dataset prepared in the data folder (any tfds dataset, found by its ``dataset_info.json``), and the
    three zoo knows where they are not: name, prepared, version, splits with example counts, image shape, classes,
    and where."""
    import tensorflow_datasets as tfds

    rows = []
    for name in list_datasets():
        with tfds_temp_files():
            rows.append(_prepared_row(tfds, name, data_dir))
    root = Path(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()
    known = {row["name"] for row in rows}
    for info_file in sorted(_info_files(root)):
        folder = info_file.parent
        parts = folder.relative_to(root).parts  # name/version or name/config/version
        name = "/".join(parts[:-1])
        if name in known or name.split("/")[0] == "downloads":
            continue
        known.add(name)
        with tfds_temp_files():
            rows.append(_folder_row(tfds, name, folder))
    return rows


def _info_files(root: Path) -> list[Path]:
    """``dataset_info.json`` two or three folders down (name/version, name/config/version), links not followed."""
    found = []
    for pattern in ("*/*/dataset_info.json", "*/*/*/dataset_info.json"):
        with contextlib.suppress(OSError):
            found += [p for p in root.glob(pattern) if not any(q.is_symlink() for q in (p, p.parent, p.parent.parent))]
    return found


def _features(builder) -> tuple[list[int] | None, list[str]]:
    """The image shape and class names of a dataset (None and [] where it is not one of image classification)."""
    try:
        image, label = (builder.info.features[k] for k in image_keys(builder, builder.name))
        shape = [d if d is not None else -1 for d in image.shape]
        return shape, list(label.names)
    except Exception:  # noqa: BLE001  (not an image-classification dataset)
        return None, []


def _folder_row(tfds, name: str, folder: Path) -> dict[str, Any]:
    try:
        builder = tfds.builder_from_directory(str(folder))
        info = builder.info
        shape, classes = _features(builder)
        splits = {k: v.num_examples for k, v in info.splits.items()}
        version, prepared = str(info.version), True
    except Exception as err:  # noqa: BLE001  (a damaged or partial folder is listed as such)
        shape, classes, splits, version, prepared = None, [], {}, folder.name, False
        name = f"{name} (unreadable: {first_line(err, 60)})"
    return {
        "name": name,
        "prepared": prepared,
        "version": version,
        "splits": splits,
        "image_shape": shape,
        "classes": classes,
        "path": str(folder),
    }


def _prepared_row(tfds, name: str, data_dir: str | None) -> dict[str, Any]:
    builder = tfds.builder(name, data_dir=data_dir)
    prepared = builder.is_prepared()
    shape, classes = _features(builder)
    return {
        "name": name,
        "prepared": prepared,
        "version": str(builder.version),
        "splits": {k: v.num_examples for k, v in builder.info.splits.items()} if prepared else {},
        "image_shape": shape,
        "classes": classes,
        "path": str(builder.data_dir),
    }
