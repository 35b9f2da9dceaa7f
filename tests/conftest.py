"""Shared fixtures: tiny, learnable, synthetic datasets served through tfds' own mocking (no real data).

The suite is hermetic, whatever machine runs it: before anything imports TensorFlow or tfds, HOME becomes an empty
folder (no ``~/tensorflow_datasets``, ``~/.cache/zoo`` or ``~/.keras``), TFDS_DATA_DIR and ZOO_CACHE are unset
(subprocesses inherit all three), and this process may connect to loopback only. A test that silently needs real
data or the network fails here as it would on a bare machine.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
from pathlib import Path

# One empty home for the session and the helper processes it starts (they import this file too): made once,
# removed when the process that made it ends.
HERMETIC_HOME = os.environ.get("ZOO_TEST_HOME") or ""
if not HERMETIC_HOME or not os.path.isdir(HERMETIC_HOME):
    HERMETIC_HOME = tempfile.mkdtemp(prefix="zoo-test-home-")
    atexit.register(shutil.rmtree, HERMETIC_HOME, True)
os.environ["ZOO_TEST_HOME"] = HERMETIC_HOME
os.environ["HOME"] = HERMETIC_HOME
# Temporary files too (TensorFlow's autograph leaves its generated sources in the temporary folder): under the home,
# so that nothing the suite or its helpers make is left in the system's /tmp.
os.environ["TMPDIR"] = os.path.join(HERMETIC_HOME, "tmp")
os.makedirs(os.environ["TMPDIR"], exist_ok=True)
tempfile.tempdir = None  # recomputed from TMPDIR on next use
for _var in ("TFDS_DATA_DIR", "ZOO_CACHE", "XDG_CACHE_HOME"):
    os.environ.pop(_var, None)


def _is_loopback(host) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


_getaddrinfo, _connect = socket.getaddrinfo, socket.socket.connect


def _loopback_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host.decode() if isinstance(host, bytes) else host):
        raise socket.gaierror(socket.EAI_NONAME, f"tests are offline: no lookup of {host}")
    return _getaddrinfo(host, *args, **kwargs)


def _loopback_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise ConnectionRefusedError(f"tests are offline: no connection to {address[0]}")
    return _connect(self, address)


socket.getaddrinfo, socket.socket.connect = _loopback_getaddrinfo, _loopback_connect


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(HERMETIC_HOME, ignore_errors=True)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("ZOO_TEST_GPU"):  # tests never depend on a GPU; ZOO_TEST_GPU=1 pytest -m gpu uses one
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SPLIT_SIZES = {"train": 400, "test": 120}
SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def synthetic_images(shape: tuple[int, int, int], labels: np.ndarray, seed: int) -> np.ndarray:
    """uint8 images whose class is a bright square at one of ten grid cells, over noise: easy to learn."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    images = rng.integers(0, 60, size=(len(labels), h, w, c), dtype=np.uint8)
    cell = h // 5
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        top, left = row * cell * 2 + 2, col * cell + 1
        images[i, top : top + cell, left : left + cell - 1, :] = 230
    return images


def damaged_png() -> bytes:
    """A PNG whose IDAT length byte is changed: PIL raises SyntaxError ("broken PNG file"), not an OSError."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3)).astype(np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[36] = 220
    return bytes(data)


def synthetic_split(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    base = split.split("[")[0]
    n = SPLIT_SIZES[base]
    seed = {"train": 1, "test": 2}[base] + 10 * list(SHAPES).index(name)
    labels = np.arange(n, dtype=np.int64) % 10
    np.random.default_rng(seed).shuffle(labels)
    return synthetic_images(SHAPES[name], labels, seed), labels


@contextlib.contextmanager
def tiny_tfds():
    """Every tfds dataset reads as a small synthetic one (400 train, 120 test images); nothing is downloaded."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
        images, labels = synthetic_split(self.name, str(split))
        return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})

    import zoo.datasets

    reachable = zoo.datasets._reachable
    zoo.datasets._reachable = lambda host, timeout=5.0: True  # the mocked download_and_prepare needs no network
    try:
        with tfds.testing.mock_data(as_dataset_fn=as_dataset):
            yield
    finally:
        zoo.datasets._reachable = reachable


@pytest.fixture
def tiny_data():
    with tiny_tfds():
        yield


@pytest.fixture(scope="session")
def trained_lenet(tmp_path_factory):
    """A LeNet-5 trained for a few epochs on the tiny synthetic MNIST, shared read-only by the tests.

    Tests that change it must copy it first (``copy_of_trained``)."""
    from zoo.training import train

    out = tmp_path_factory.mktemp("models") / "lenet5-mnist"
    with tiny_tfds():
        train(
            "lenet5",
            "mnist",
            epochs=6,
            batch_size=32,
            learning_rate=3e-3,
            output=out,
            device="cpu",
            verbose=0,
            log=lambda *a: None,
        )
    return out


@pytest.fixture
def copy_of_trained(trained_lenet, tmp_path):
    dest = tmp_path / trained_lenet.name
    shutil.copytree(trained_lenet, dest)
    return dest


@pytest.fixture
def cli_runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="session")
def zoo_cli():
    from cli import cli

    return cli


def run(cli_runner, zoo_cli, *args):
    """``zoo ARGS...`` through click's runner (exceptions propagate, so a traceback fails the test)."""
    return cli_runner.invoke(zoo_cli, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, code, *fragments):
    """The command failed with exit ``code`` and one ``zoo...: error: ...`` line holding every fragment."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zoo") and "error" in lines[0]
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def weights_of(model_dir):
    """The weights of a saved model folder's model.keras."""
    import keras

    return keras.saving.load_model(Path(model_dir) / "model.keras").get_weights()
