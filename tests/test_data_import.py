"""`zoo data import` on tiny but valid files of each format, and clean refusals of bad ones."""

import gzip
import io
import pickle
import tarfile

import numpy as np
import pytest

from zoo.data import load_arrays
from zoo.data_import import SourceFileError, import_dataset, list_prepared

COUNTS = {"train": 30, "test": 12}
IDX = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 2051 if array.ndim == 3 else 2049
    header = magic.to_bytes(4, "big") + len(array).to_bytes(4, "big")
    if array.ndim == 3:
        header += (28).to_bytes(4, "big") + (28).to_bytes(4, "big")
    return header + array.astype(np.uint8).tobytes()


def tiny_idx(folder, gz=True, seed=0, blank=0.81):
    """MNIST-format files of random images with MNIST's share of blank pixels (0.5: Fashion-MNIST's)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, (images_name, labels_name) in IDX.items():
        ink = rng.random((COUNTS[split], 28, 28)) >= blank
        images = (rng.integers(1, 256, (COUNTS[split], 28, 28)) * ink).astype(np.uint8)
        labels = np.arange(COUNTS[split]) % 10
        arrays[split] = (images, labels)
        for name, array in ((images_name, images), (labels_name, labels)):
            data = idx_bytes(array)
            (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return arrays


def examples(images, labels):
    return sorted(zip(np.asarray(labels).tolist(), (img.tobytes() for img in images), strict=True))


def cifar_records(n, seed):
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return labels, pixels


def tiny_cifar_bin(folder):
    batches = folder / "cifar-10-batches-bin"
    batches.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        labels, pixels = cifar_records(6, i)
        np.concatenate([labels[:, None], pixels], axis=1).tofile(batches / f"{name}.bin")
    (batches / "batches.meta.txt").write_text("\n".join("abcdefghij") + "\n")
    return batches


@pytest.mark.parametrize("gz", [True, False])
def test_import_mnist_from_idx_files(tmp_path, gz):
    arrays = tiny_idx(tmp_path / "src", gz=gz)
    messages = []
    import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=messages.append)
    for split in ("train", "test"):  # tfds stores records in its own shuffled order: compare as multisets
        images, labels = load_arrays("mnist", split, str(tmp_path / "tfds"))
        assert examples(images[..., 0], labels) == examples(*arrays[split])
    assert "not the standard 60000 / 10000" in messages[0] and "prepared in" in messages[-1]
    again = []
    import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=again.append)
    assert again == [again[0]] and "already prepared" in again[0]
    [row] = [r for r in list_prepared(str(tmp_path / "tfds")) if r["name"] == "mnist"]
    assert row["prepared"] and row["splits"] == {"train": 30, "test": 12} and row["version"] == "3.0.1"


def test_import_cifar10_from_binary_folder_and_tarball(tmp_path):
    tiny_cifar_bin(tmp_path / "src")
    import_dataset("cifar10", tmp_path / "src" / "cifar-10-batches-bin", str(tmp_path / "a"), log=lambda m: None)
    images, labels = load_arrays("cifar10", "train", str(tmp_path / "a"))
    assert images.shape == (30, 32, 32, 3) and np.bincount(labels).tolist() == [5] * 6  # 6 records a batch
    with tarfile.open(tmp_path / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    import_dataset("cifar10", tmp_path / "cifar-10-binary.tar.gz", str(tmp_path / "b"), log=lambda m: None)
    test_a = load_arrays("cifar10", "test", str(tmp_path / "a"))
    test_b = load_arrays("cifar10", "test", str(tmp_path / "b"))
    assert examples(*test_a) == examples(*test_b)


def test_tarball_member_paths_and_links_are_never_followed(tmp_path):
    """Members named ../x or /abs/x land in the staging folder under their base names; links are ignored."""
    batches = tiny_cifar_bin(tmp_path / "src")
    archive = tmp_path / "in" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir()
    outside = ["../../escaped/", f"{tmp_path}/abs-escaped/", "a/../../"]
    with tarfile.open(archive, "w:gz") as tar:
        for i, path in enumerate(sorted(batches.iterdir())):
            tar.add(path, arcname=outside[i % 3] + path.name)
        link = tarfile.TarInfo("cifar-10-batches-bin/readme.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "../../../link-escaped"
        tar.addfile(link)
    import_dataset("cifar10", archive, str(tmp_path / "a"), log=lambda m: None)
    import_dataset("cifar10", batches, str(tmp_path / "b"), log=lambda m: None)
    for split in ("train", "test"):
        a, b = (load_arrays("cifar10", split, str(tmp_path / d)) for d in "ab")
        assert examples(*a) == examples(*b)
    assert not [p for p in tmp_path.parent.rglob("*escaped*")]


def write_python_archive(archive, batches: dict, protocol: int = pickle.DEFAULT_PROTOCOL) -> None:
    """A cifar-10-python.tar.gz holding ``batches`` (name → object), each pickled."""
    with tarfile.open(archive, "w:gz") as tar:
        for name, payload in batches.items():
            data = pickle.dumps(payload, protocol=protocol)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def python_batches() -> dict:
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        labels, pixels = cifar_records(4, i)
        batches[name] = {
            b"batch_label": b"batch",
            b"data": pixels,
            b"labels": labels.tolist(),
            b"filenames": [b"x.png"] * len(labels),
        }
    batches["batches.meta"] = {b"label_names": [c.encode() for c in "abcdefghij"]}
    return batches


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL])
def test_import_cifar10_from_python_pickles(tmp_path, protocol):
    archive = tmp_path / "cifar-10-python.tar.gz"
    batches = python_batches()
    write_python_archive(archive, batches, protocol)
    import_dataset("cifar10", archive, str(tmp_path / "tfds"), log=lambda m: None)
    images, labels = load_arrays("cifar10", "test", str(tmp_path / "tfds"))
    test = batches["test_batch"]
    want = {
        (int(lbl), px.reshape(3, 32, 32).transpose(1, 2, 0).tobytes())
        for lbl, px in zip(test[b"labels"], test[b"data"], strict=True)
    }
    assert {(int(lbl), img.tobytes()) for lbl, img in zip(labels, images, strict=True)} == want


class _RunsCode:
    """A pickle payload that calls os.system when unpickled by plain ``pickle.loads``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_python_archive_carrying_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    batches = python_batches()
    batches["data_batch_1"] = {b"data": _RunsCode(marker), b"labels": []}
    archive = tmp_path / "cifar-10-python.tar.gz"
    write_python_archive(archive, batches)
    with pytest.raises(SourceFileError, match="refused posix.system|refused os.system"):
        import_dataset("cifar10", archive, str(tmp_path / "tfds"), log=lambda m: None)
    assert not marker.exists()
    assert not (tmp_path / "tfds" / "cifar10").exists() or not any((tmp_path / "tfds" / "cifar10").iterdir())


def test_truncated_idx_file_is_refused_and_nothing_is_left(tmp_path):
    tiny_idx(tmp_path / "src", gz=False)
    path = tmp_path / "src" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(SourceFileError, match="train-images-idx3-ubyte: truncated or padded"):
        import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=lambda m: None)
    assert not (tmp_path / "tfds" / "mnist").exists() or not any((tmp_path / "tfds" / "mnist").iterdir())


def test_wrong_magic_number_is_refused(tmp_path):
    tiny_idx(tmp_path / "src", gz=False)
    path = tmp_path / "src" / "t10k-labels-idx1-ubyte"
    path.write_bytes((2051).to_bytes(4, "big") + path.read_bytes()[4:])
    with pytest.raises(SourceFileError, match="wrong magic number 2051, expected 2049"):
        import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=lambda m: None)


def test_wrong_folder_is_refused(tmp_path, cli_runner, zoo_cli):
    (tmp_path / "empty").mkdir()
    result = cli_runner.invoke(
        zoo_cli,
        ["data", "import", "fashion_mnist", "--from", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "tfds")],
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz" in result.stderr
    result = cli_runner.invoke(
        zoo_cli, ["data", "import", "cifar10", "--from", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "tfds")]
    )
    assert result.exit_code == 1 and "data_batch_1.bin is missing" in result.stderr


def test_truncated_cifar_batch_is_refused(tmp_path):
    batches = tiny_cifar_bin(tmp_path / "src")
    path = batches / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(SourceFileError, match="data_batch_3.bin is .* not a whole number of 3073-byte records"):
        import_dataset("cifar10", batches, str(tmp_path / "tfds"), log=lambda m: None)


def test_data_list_cli(tmp_path, cli_runner, zoo_cli):
    tiny_idx(tmp_path / "src")
    assert (
        cli_runner.invoke(
            zoo_cli, ["data", "import", "mnist", "--from", str(tmp_path / "src"), "--data-dir", str(tmp_path / "tfds")]
        ).exit_code
        == 0
    )
    result = cli_runner.invoke(zoo_cli, ["data", "list", "--data-dir", str(tmp_path / "tfds")])
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "prepared" in lines["mnist"] and "train 30, test 12" in lines["mnist"]
    assert "not prepared" in lines["cifar10"] and "not prepared" in lines["fashion_mnist"]


def test_a_gzip_bomb_is_read_no_further_than_its_header_promises(tmp_path, monkeypatch):
    tiny_idx(tmp_path / "src")
    path = tmp_path / "src" / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(path.read_bytes())
    read = []
    real_open = gzip.open

    def counting_open(p, *a, **k):
        f = real_open(p, *a, **k)
        real_read = f.read
        f.read = lambda n=-1: read.append(n) or real_read(n)
        return f

    with gzip.open(path, "wb") as f:  # the same header and images, then 20 MB of zeros (a few KB gzipped)
        f.write(data + bytes(20_000_000))
    monkeypatch.setattr(gzip, "open", counting_open)
    with pytest.raises(SourceFileError, match="truncated or padded"):
        import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=lambda m: None)
    assert -1 not in read and sum(read) <= len(data) + 1, "read only what the header promised, plus one byte"


def test_an_idx_header_claiming_a_billion_items_is_refused(tmp_path):
    tiny_idx(tmp_path / "src", gz=False)
    path = tmp_path / "src" / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:4] + (10**9).to_bytes(4, "big") + path.read_bytes()[8:])
    with pytest.raises(SourceFileError, match="claims 1,000,000,000 items, more than 1,000,000"):
        import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=lambda m: None)


def test_a_full_disk_while_preparing_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    import tensorflow_datasets as tfds

    from zoo.errors import ZooError

    tiny_idx(tmp_path / "src")

    def disk_full(self, *args, **kwargs):
        (tmp_path / "tfds" / "downloads" / "extracted").mkdir(parents=True)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", disk_full)
    with pytest.raises(ZooError, match=r"could not prepare mnist in .* \(.*No space left on device\); nothing"):
        import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=lambda m: None)
    assert not any((tmp_path / "tfds").rglob("*")) if (tmp_path / "tfds").exists() else True


@pytest.mark.parametrize(("files", "named"), [("mnist", "fashion_mnist"), ("fashion_mnist", "mnist")])
def test_one_mnist_format_dataset_imported_as_the_other_is_refused(tmp_path, cli_runner, zoo_cli, files, named):
    """MNIST's files imported as Fashion-MNIST trained a model that scored 8.68 % with no warning."""
    tiny_idx(tmp_path / "src", blank={"mnist": 0.81, "fashion_mnist": 0.5}[files])
    args = ["data", "import", named, "--from", str(tmp_path / "src"), "--data-dir", str(tmp_path / "tfds")]
    result = cli_runner.invoke(zoo_cli, args)
    assert result.exit_code == 1, result.output
    [line] = result.output.strip().splitlines()
    assert f"these images look like {files}'s, not {named}'s" in line and f"import them as {files}" in line
    assert not (tmp_path / "tfds" / named).exists()
    ok = cli_runner.invoke(zoo_cli, [*args[:2], files, *args[3:]])
    assert ok.exit_code == 0, ok.output
