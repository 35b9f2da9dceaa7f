"""Training that survives faults: resume after kill -9, determinism, NaN guard, atomic saves."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import weights_of

from zoo import artifacts
from zoo.runstate import RunState
from zoo.training import train

ROOT = Path(__file__).resolve().parent.parent


def test_same_seed_gives_bit_identical_weights(tiny_data, tmp_path):
    quiet = {"epochs": 2, "batch_size": 32, "device": "cpu", "verbose": 0, "log": lambda *a: None}
    train("lenet5", "mnist", seed=3, output=tmp_path / "a", **quiet)
    train("lenet5", "mnist", seed=3, output=tmp_path / "b", **quiet)
    train("lenet5", "mnist", seed=4, output=tmp_path / "c", **quiet)
    a, b, c = (weights_of(tmp_path / n) for n in "abc")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize(
    ("model", "lr", "says"),
    [
        ("mlp", "1e9", "training diverged: loss"),  # NaN or a blown-up loss, whichever comes first
        ("lenet5", "1e6", "over 4x its first value"),  # explodes without a NaN: stopped all the same
    ],
)
def test_a_diverging_run_stops_saves_nothing_and_says_where(tiny_data, tmp_path, cli_runner, zoo_cli, model, lr, says):
    out = tmp_path / "m"
    result = cli_runner.invoke(
        zoo_cli, ["train", model, "--lr", lr, "--epochs", "2", "--batch-size", "16", "--output", str(out)]
    )
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert says in line and "at epoch 1, batch" in line
    assert "no epoch completed, nothing was kept" in line  # not "the checkpoint of the last good epoch (0)"
    assert not out.exists() and not (tmp_path / ".m.run").exists()


def test_failed_save_keeps_the_previous_model(trained_lenet, tmp_path, monkeypatch):
    import keras

    dest = tmp_path / "model"
    model, card = artifacts.load(trained_lenet)
    artifacts.save(dest, model, card)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}

    def crash(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        artifacts.save(dest, model, dataclasses.replace(card, model="changed"), overwrite=True)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"], "no temporary folders left behind"


def _train_cmd(data_dir, out):
    train = "train lenet5 --dataset mnist --epochs 5 --batch-size 16 --seed 1 --device cpu"
    return [sys.executable, "-m", "zoo", *train.split(), "--data-dir", str(data_dir), "--output", str(out)]


@pytest.mark.slow
def test_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    from test_data_import import tiny_idx

    from zoo.data_import import import_dataset

    tiny_idx(tmp_path / "src")  # 30 train images: too few for timing, so import a larger set below
    rng = np.random.default_rng(0)
    from conftest import synthetic_images
    from test_data_import import idx_bytes

    labels = rng.integers(0, 10, 1500)
    (tmp_path / "src" / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "src" / "train-labels-idx1-ubyte.gz").unlink()
    images = synthetic_images((28, 28, 1), labels, 0)[..., 0]
    images = np.where(images < 48, 0, images)  # MNIST's share of blank pixels (the import checks the dataset)
    (tmp_path / "src" / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "src" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    data_dir = tmp_path / "tfds"
    import_dataset("mnist", tmp_path / "src", str(data_dir), log=lambda m: None)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}

    reference = subprocess.run(
        _train_cmd(data_dir, tmp_path / "ref"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert reference.returncode == 0, reference.stderr[-2000:]

    out = tmp_path / "run"
    run_dir = tmp_path / ".run.run"

    def completed_epochs(run_dir):
        try:
            return RunState.open(run_dir).epoch
        except Exception:  # read while being written: try again
            return 0

    proc = subprocess.Popen(
        _train_cmd(data_dir, out), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    while completed_epochs(run_dir) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = completed_epochs(run_dir)
    assert 2 <= killed_at < 5 and not out.exists(), killed_at

    resumed = subprocess.run(
        _train_cmd(data_dir, out), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resuming from {tmp_path / '.run.run'}: {killed_at} of 5 epochs done" in resumed.stdout
    assert f"Epoch {killed_at + 1}/5" in resumed.stdout and "Epoch 1/5" not in resumed.stdout
    history = (out / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2", "3", "4", "5"]
    assert all(np.array_equal(x, y) for x, y in zip(weights_of(out), weights_of(tmp_path / "ref"), strict=True))
    assert json.loads((out / "card.json").read_text())["epochs"] == 5
    assert not (tmp_path / ".run.run").exists()
