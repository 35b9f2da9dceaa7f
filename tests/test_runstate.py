"""zoo's own run state: resume after a stop at any point, a damaged state, a full disk, a second run, averaging."""

import errno

import numpy as np
import pytest
from test_faults import weights_of

from zoo import runstate
from zoo.recipes import Recipe
from zoo.training import train

QUIET = {"epochs": 4, "batch_size": 32, "device": "cpu", "verbose": 0, "log": lambda *a: None}


class Killed(BaseException):
    """Stands for kill -9: nothing after the chosen point runs, and no except clause catches it."""


def stop_after_epoch_2(monkeypatch, model="lenet5", dataset="mnist", **train_args):
    """Train until epoch 2's state is saved, then stop as a kill would."""
    real = runstate.RunState.save

    def save_then_stop(self, model, epoch, logs, seconds):
        real(self, model, epoch, logs, seconds)
        if epoch == 2:
            raise Killed

    monkeypatch.setattr(runstate.RunState, "save", save_then_stop)
    with pytest.raises(Killed):
        train(model, dataset, **train_args)
    monkeypatch.setattr(runstate.RunState, "save", real)


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(weights_of(a), weights_of(b), strict=True))


def run_dir_of(out):
    return out.with_name(f".{out.name}.run")


@pytest.fixture
def reference(tiny_data, tmp_path):
    train("lenet5", "mnist", output=tmp_path / "ref", **QUIET)
    return tmp_path / "ref"


def test_stop_between_the_weights_file_and_its_manifest_resumes_exactly(reference, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real = runstate.atomic_write_text

    def kill_at_epoch_3(path, text):
        if '"epoch": 3' in text:
            raise Killed
        real(path, text)

    monkeypatch.setattr(runstate, "atomic_write_text", kill_at_epoch_3)
    with pytest.raises(Killed):
        train("lenet5", "mnist", output=out, **QUIET)
    monkeypatch.setattr(runstate, "atomic_write_text", real)
    assert runstate.RunState.open(run_dir_of(out)).epoch == 2  # epoch 3's weights exist, its manifest does not
    logs = []
    train("lenet5", "mnist", output=out, **{**QUIET, "log": logs.append})
    assert any("2 of 4 epochs done" in line for line in logs)
    assert same(out, reference)
    assert [line.split(",")[0] for line in (out / "history.csv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]
    assert not run_dir_of(out).exists()


def test_stop_during_the_final_save_keeps_every_epoch(reference, tmp_path, monkeypatch):
    from zoo import artifacts

    out = tmp_path / "run"
    real = artifacts.save

    def kill(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(artifacts, "save", kill)
    with pytest.raises(Killed):
        train("lenet5", "mnist", output=out, **QUIET)
    monkeypatch.setattr(artifacts, "save", real)
    assert runstate.RunState.open(run_dir_of(out)).epoch == 4  # Keras' BackupAndRestore deleted it here
    logs = []
    train("lenet5", "mnist", output=out, **{**QUIET, "log": logs.append})
    assert any("4 of 4 epochs done" in line for line in logs)
    assert same(out, reference)


@pytest.mark.parametrize("damage", ["truncated manifest", "missing weights", "corrupt weights"])
def test_a_damaged_state_is_one_line_offering_restart(tiny_data, tmp_path, monkeypatch, cli_runner, zoo_cli, damage):
    out = tmp_path / "run"
    stop_after_epoch_2(monkeypatch, output=out, **QUIET)
    run_dir = run_dir_of(out)
    manifest = run_dir / runstate.STATE_FILE
    if damage == "truncated manifest":
        manifest.write_text(manifest.read_text()[:20])
    elif damage == "missing weights":
        (run_dir / "epoch-00002.weights.h5").unlink()
    else:
        (run_dir / "epoch-00002.weights.h5").write_bytes(b"\0" * 100)
    args = ["train", "lenet5", "--epochs", "4", "--batch-size", "32", "--output", str(out), "--device", "cpu"]
    result = cli_runner.invoke(zoo_cli, args)
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert f"the run state in {run_dir} is damaged" in line and "pass --restart" in line
    assert cli_runner.invoke(zoo_cli, [*args, "--restart"]).exit_code == 0
    assert (out / "model.keras").exists()


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(tiny_data, tmp_path, monkeypatch, reference):
    import keras

    out = tmp_path / "run"
    real = keras.Model.save_weights
    calls = []

    def disk_full_at_epoch_3(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            with open(path, "wb") as f:
                f.write(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", disk_full_at_epoch_3)
    with pytest.raises(Exception, match="could not write the checkpoint of epoch 3 .*No space left on device"):
        train("lenet5", "mnist", output=out, **QUIET)
    monkeypatch.setattr(keras.Model, "save_weights", real)
    run_dir = run_dir_of(out)
    assert runstate.RunState.open(run_dir).epoch == 2
    assert sorted(p.name for p in run_dir.iterdir()) == ["epoch-00002.weights.h5", "lock", "run.json", "state.json"]
    train("lenet5", "mnist", output=out, **QUIET)
    assert same(out, reference)


def test_a_second_run_into_the_same_output_is_refused_with_the_holder(tiny_data, tmp_path):
    from zoo.errors import UsageError

    out = tmp_path / "run"
    with runstate.locked(run_dir_of(out)), pytest.raises(UsageError, match=r"is in use by another zoo train \(pid"):
        train("lenet5", "mnist", output=out, **QUIET)
    train("lenet5", "mnist", output=out, **QUIET)  # free again once the first is done
    assert (out / "model.keras").exists()


def test_resume_is_bit_exact_with_weight_averaging(tiny_data, tmp_path, monkeypatch):
    recipe = Recipe(
        optimizer="sgd",
        learning_rate=0.05,
        schedule="linear",
        ema=0.9,
        ema_every=3,
        epochs=4,
        batch_size=32,
        label_smoothing=0.1,
    )
    quiet = {"device": "cpu", "verbose": 0, "log": lambda *a: None, "recipe": recipe}
    train("lenet5", "mnist", output=tmp_path / "ref", **quiet)
    stop_after_epoch_2(monkeypatch, output=tmp_path / "run", **quiet)
    train("lenet5", "mnist", output=tmp_path / "run", **quiet)
    assert same(tmp_path / "run", tmp_path / "ref")


def test_resume_is_bit_exact_with_lookahead_and_a_whitening_bias_frozen_mid_run(tiny_data, tmp_path, monkeypatch):
    """airbench's lookahead (BatchNorm statistics in its average) and a bias that freezes mid-run, resumed after
    epoch 2, end exactly where an uninterrupted run ends; with no validation split, all 400 images train."""
    from zoo.tags import AIRBENCH

    recipe = AIRBENCH.override(epochs=4, batch_size=100, lookahead=2, whiten_bias_epochs=1, validation=0.0, tta=False)
    quiet = {"device": "cpu", "verbose": 0, "log": lambda *a: None, "recipe": recipe}
    ref = train("cifar_cnn", "cifar10", output=tmp_path / "ref", **quiet)
    stop_after_epoch_2(monkeypatch, "cifar_cnn", "cifar10", output=tmp_path / "run", **quiet)
    train("cifar_cnn", "cifar10", output=tmp_path / "run", **quiet)
    assert same(tmp_path / "run", tmp_path / "ref")
    assert ref.card.examples == {"train": 400, "val": 0, "test": 120}
    assert "val_accuracy" not in ref.card.metrics and ref.card.recipe["lookahead"] == 2
