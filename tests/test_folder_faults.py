"""A model folder's faults: one writer at a time, card and exports change together or not at all, a
card is checked against its model, bombs and special files are refused, interrupted work leaves nothing behind."""

import dataclasses
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run, synthetic_images

import zoo
from zoo import artifacts, atomic, pretrained
from zoo.atomic import sha256
from zoo.errors import ModelFileError, ZooError
from zoo.export import export

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"log": lambda *a: None}


def folder_state(folder: Path) -> dict[str, str]:
    """Every file of a model folder (hidden ones too) with its SHA-256."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def exported_keras(tiny_data, copy_of_trained):
    export(copy_of_trained, ["keras"], **QUIET)
    return copy_of_trained


# --- one writer at a time -------------------------------------------------------------------------------------


def test_an_export_waits_for_a_train_swap_paused_in_its_window(tiny_data, copy_of_trained, monkeypatch):
    """`zoo train --overwrite` replacing the folder while `zoo export` starts: the export waits for the swap and
    exports the new model, never the old one into the new folder."""
    model, card = artifacts.load(copy_of_trained)
    new = zoo.create_model("lenet5")
    new.set_weights([w * 0.5 for w in model.get_weights()])
    in_window, release = threading.Event(), threading.Event()
    write_card = artifacts.write_card

    def paused_write_card(folder, card):  # inside save's swap, with the folder's lock held
        write_card(folder, card)
        in_window.set()
        release.wait(60)

    monkeypatch.setattr(artifacts, "write_card", paused_write_card)
    swap = threading.Thread(target=artifacts.save, args=(copy_of_trained, new, card), kwargs={"overwrite": True})
    swap.start()
    assert in_window.wait(60)
    results = {}
    exporter = threading.Thread(target=lambda: results.update(export(copy_of_trained, ["keras"], **QUIET)))
    exporter.start()
    exporter.join(2)
    assert exporter.is_alive()  # waiting for the swap's lock, not exporting the old model
    release.set()
    swap.join(60)
    exporter.join(120)
    assert results["keras"]["parity"]["ok"]
    exported, _ = artifacts.load(copy_of_trained)
    keras_export = __import__("keras").saving.load_model(copy_of_trained / "export.keras")
    images = synthetic_images((28, 28, 1), np.arange(8) % 10, seed=5)
    unit = images.astype(np.float32) / 255  # export.keras takes raw pixels, model.keras pixels / 255
    np.testing.assert_allclose(keras_export.predict(images, verbose=0), new.predict(unit, verbose=0), atol=1e-6)
    assert json.loads((copy_of_trained / "card.json").read_text())["exports"]["keras"]["sha256"] == sha256(
        copy_of_trained / "export.keras"
    )
    del exported


def test_an_export_whose_model_changed_under_it_commits_nothing(exported_keras, monkeypatch):
    """A writer that ignores the lock (a copy by hand) replaces model.keras mid-export: nothing is recorded."""
    from zoo import export as export_module

    before = folder_state(exported_keras)
    other = zoo.create_model("lenet5")
    write = export_module.FORMATS["keras"].write

    def write_then_swap(model, card, path, data_dir):
        write(model, card, path, data_dir)
        other.save(exported_keras / "model.keras")

    monkeypatch.setitem(
        export_module.FORMATS, "keras", dataclasses.replace(export_module.FORMATS["keras"], write=write_then_swap)
    )
    with pytest.raises(ZooError, match="changed while it was exported; nothing was changed"):
        export(exported_keras, ["keras"], **QUIET)
    after = folder_state(exported_keras)
    assert after.pop("model.keras") != before.pop("model.keras")
    assert after == before  # card and export.keras as they were, no staging left


# --- card and files together ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["card is read-only", "disk full writing the card"])
def test_card_and_exports_change_together_or_not_at_all(exported_keras, monkeypatch, fault):
    before = folder_state(exported_keras)
    if fault == "card is read-only":
        replace = os.replace

        def no_card(src, dst):
            if str(dst).endswith("card.json") and "card.json.new" in str(src):
                raise PermissionError(1, "Operation not permitted", str(dst))
            return replace(src, dst)

        monkeypatch.setattr(os, "replace", no_card)
    else:
        write = atomic.atomic_write_text

        def full(path, text):
            if str(path).endswith("card.json.new"):
                raise OSError(28, "No space left on device")
            return write(path, text)

        monkeypatch.setattr(atomic, "atomic_write_text", full)
    with pytest.raises(ZooError, match="could not record the exports .*; nothing was changed"):
        export(exported_keras, ["keras", "tflite"], **QUIET)
    assert folder_state(exported_keras) == before


def test_a_commit_killed_midway_is_rolled_back_by_the_next_writer(exported_keras):
    """A dead process's export left the old export.keras aside and the new one in place, the card not yet
    renamed: a read changes nothing; the next writer puts the old one back and removes the staging folder."""
    before = folder_state(exported_keras)
    work = exported_keras / ".export.999999.dead.tmp"  # pid 999999: no such process
    work.mkdir()
    (work / atomic.STAGING_MARKER).touch()
    (work / "card.json.new").write_text("{}")
    os.replace(exported_keras / "export.keras", work / "old.0")
    (exported_keras / "export.keras").write_bytes(b"the new, never recorded export")
    journal = {"moves": [{"dest": "export.keras", "new": "new", "old": "old.0"}]}
    (work / "commit.json").write_text(json.dumps(journal))
    crashed = folder_state(exported_keras)
    zoo.load(exported_keras)
    assert folder_state(exported_keras) == crashed, "a read never writes"
    with atomic.writing(exported_keras):
        pass
    assert folder_state(exported_keras) == before


def test_an_output_inside_the_models_own_exports_is_refused(exported_keras, cli_runner, zoo_cli):
    before = folder_state(exported_keras)
    result = run(cli_runner, zoo_cli, "export", exported_keras, "-f", "keras", "-o", exported_keras / "savedmodel")
    assert_one_line_error(result, 2, "is inside the model folder")
    assert folder_state(exported_keras) == before


# --- a card is checked against its model --------------------------------------------------------------------


def test_a_model_with_another_models_card_is_refused(copy_of_trained, cli_runner, zoo_cli, tiny_data):
    mlp_card = json.loads((ROOT / "saved_models" / "mlp-mnist" / "card.json").read_text())
    (copy_of_trained / "card.json").write_text(json.dumps(mlp_card))
    for command in (
        ["evaluate"],
        ["export", "-f", "keras"],
        ["predict", "--", str(ROOT / "docs/img/cifar-sample.png")],
    ):
        args = [command[0], str(copy_of_trained), *command[1:]]
        result = run(cli_runner, zoo_cli, *args)
        assert_one_line_error(result, 1, "the card is another model's")


def test_a_tags_card_with_other_class_names_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    shutil.copytree(ROOT / "saved_models" / "lenet5-mnist", tmp_path / "lenet5-mnist")
    card = json.loads((tmp_path / "lenet5-mnist" / "card.json").read_text())
    card["class_names"] = card["class_names"][::-1]
    (tmp_path / "lenet5-mnist" / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="is not the lenet5.mnist card zoo ships"):
        zoo.load("lenet5.mnist")


# --- bombs, special files, leftovers ------------------------------------------------------------------------


def test_a_keras_archive_whose_config_inflates_to_gigabytes_is_refused(copy_of_trained):
    bomb = copy_of_trained / "model.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", "{}")
        with archive.open("config.json", "w", force_zip64=True) as f:
            chunk = b" " * (1 << 20)
            for _ in range(80):  # 80 MiB of spaces: a few hundred kB on disk
                f.write(chunk)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ModelFileError, match="config.json inflates to 83,886,080 bytes"):
        zoo.load(copy_of_trained)


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "outside"])
def test_a_model_file_that_is_not_a_regular_file_is_named_so(copy_of_trained, target, tmp_path):
    path = copy_of_trained / "model.keras"
    path.unlink()
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero" if target == "/dev/zero" else tmp_path / "missing")
    expected = "cannot be read" if target == "outside" else "not a regular file"
    with pytest.raises(ModelFileError, match=expected):
        zoo.load(copy_of_trained)


def test_a_card_nested_200000_deep_is_one_line(copy_of_trained, cli_runner, zoo_cli):
    (copy_of_trained / "card.json").write_text("[" * 200_000 + "]" * 200_000)
    for command in ("info", "predict"):
        args = [command, copy_of_trained] + ([ROOT / "docs/img/cifar-sample.png"] if command == "predict" else [])
        assert_one_line_error(run(cli_runner, zoo_cli, *args), 1, "not a readable card")
    with pytest.raises(ModelFileError, match="nested too deeply"):
        zoo.load(copy_of_trained)


def cifar_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
        (folder / name).write_bytes(bytes(3073 * 4))
    (folder / "batches.meta.txt").write_text("\n".join("abcdefghij") + "\n")
    return folder


def import_leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith("zoo-import-")}


def test_a_cifar_batch_linked_to_dev_zero_or_out_of_the_folder_is_refused(tmp_path):
    from zoo.data_import import SourceFileError, import_dataset

    before = import_leftovers()
    source = cifar_folder(tmp_path / "cifar-10-batches-bin")
    (source / "data_batch_2.bin").unlink()
    (source / "data_batch_2.bin").symlink_to("/dev/zero")
    started = time.monotonic()
    with pytest.raises(SourceFileError, match="a link out of"):
        import_dataset("cifar10", tmp_path, data_dir=tmp_path / "tfds", log=lambda *a: None)
    (source / "data_batch_2.bin").unlink()
    os.mkfifo(source / "data_batch_2.bin")
    with pytest.raises(SourceFileError, match="not a regular file"):
        import_dataset("cifar10", tmp_path, data_dir=tmp_path / "tfds", log=lambda *a: None)
    assert time.monotonic() - started < 30
    assert import_leftovers() <= before  # (a dead process's may have been swept)


def test_a_zip_renamed_tar_gz_is_one_line(tmp_path, cli_runner, zoo_cli):
    fake = tmp_path / "cifar-10-binary.tar.gz"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("data_batch_1.bin", b"x")
    result = run(cli_runner, zoo_cli, "data", "import", "cifar10", "--from", fake, "--data-dir", tmp_path / "tfds")
    assert_one_line_error(result, 1, "not a readable cifar-10-binary.tar.gz")


def test_a_tar_member_larger_than_cifar_is_refused_before_extraction(tmp_path):
    from zoo.data_import import SourceFileError, import_dataset

    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        info.size = 200_000_000  # declared; a bomb would then stream it
        tar.addfile(info, open("/dev/zero", "rb"))  # noqa: SIM115
    with pytest.raises(SourceFileError, match="more than a CIFAR-10 batch holds"):
        import_dataset("cifar10", archive, data_dir=tmp_path / "tfds", log=lambda *a: None)


def test_an_import_sweeps_a_dead_imports_folders_and_leaves_no_tfds_temp(tmp_path):
    from test_data_import import tiny_idx

    from zoo.data_import import import_dataset

    """What `kill -9` of an import leaves: its temp folder, tfds' temp folder and a half-written (non-empty)
    ``incomplete.*`` folder; the next import removes all three."""
    dead = Path(tempfile.gettempdir()) / "zoo-import-mnist-999999-leftover"
    dead.mkdir(exist_ok=True)
    dead_tfds = Path(tempfile.gettempdir()) / "zoo-tfds-999999-leftover"
    (dead_tfds / "tmpxyztfds").mkdir(parents=True, exist_ok=True)
    incomplete = tmp_path / "tfds" / "mnist" / "incomplete.abc"
    (incomplete / "3.0.1").mkdir(parents=True)
    (incomplete / "3.0.1" / "mnist-train.array_record-00000-of-00001").write_bytes(b"half written")
    tfds_temps = {p for p in Path(tempfile.gettempdir()).glob("tmp*tfds")}
    tiny_idx(tmp_path / "src")
    import_dataset("mnist", tmp_path / "src", data_dir=tmp_path / "tfds", log=lambda *a: None)
    assert not dead.exists() and not incomplete.exists() and not dead_tfds.exists()
    assert set(Path(tempfile.gettempdir()).glob("tmp*tfds")) == tfds_temps
    assert import_leftovers() == set() or all(not n.endswith("leftover") for n in import_leftovers())


def test_a_killed_exports_staging_folder_is_removed_by_the_next_writer(exported_keras):
    before = folder_state(exported_keras)
    leftover = exported_keras / ".export.999999.x.tmp"
    leftover.mkdir()
    (leftover / atomic.STAGING_MARKER).touch()
    (leftover / "model.tflite").write_bytes(b"half written")
    zoo.load(exported_keras)
    assert leftover.exists(), "a read never writes"
    with atomic.writing(exported_keras):
        pass
    assert not leftover.exists() and folder_state(exported_keras) == before


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_during_an_export_leaves_nothing(copy_of_trained, signum):
    """`kill PID` (SIGTERM) or Ctrl-C while the export converts: the CLI stops with 130 and removes its staging,
    also where the converter turns the interrupt into an error of its own (as TensorFlow's did: "the keras export
    does not run", exit 1)."""
    code = (
        "import dataclasses, sys, time\n"
        "import zoo.export as e\n"
        "def slow(*a):\n"
        "    print('writing', flush=True)\n"
        "    try:\n"
        "        time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        raise RuntimeError('the converter was cancelled') from None\n"
        "e.FORMATS['keras'] = dataclasses.replace(e.FORMATS['keras'], write=slow)\n"
        "from cli import main\n"
        f"sys.argv = ['zoo', 'export', {str(copy_of_trained)!r}, '-f', 'keras']\n"
        "main()\n"
    )
    before = folder_state(copy_of_trained)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while (line := proc.stdout.readline()) and line.strip() != "writing":
        pass
    assert list(copy_of_trained.glob(".export.*.tmp"))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "zoo: interrupted" in err and "Traceback" not in err
    assert folder_state(copy_of_trained) == before


# --- training's paths and disk ----------------------------------------------------------------------------------


def test_a_checkpoint_on_a_full_disk_is_one_line(tiny_data, tmp_path, monkeypatch, cli_runner, zoo_cli):
    from zoo import runstate

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(runstate.shutil, "disk_usage", lambda p: usage._replace(free=1 << 20))
    result = run(cli_runner, zoo_cli, "train", "lenet5", "--epochs", "1", "-o", tmp_path / "m", "--device", "cpu")
    assert_one_line_error(result, 1, "could not write the checkpoint of epoch 1", "MiB free")
    needed = re.search(r"needs about ([\d.]+) MiB", result.stderr)
    assert needed and float(needed.group(1)) > 0, result.stderr  # LeNet's 0.7 MiB, not "0 MiB"
    assert not (tmp_path / "m").exists()


def test_an_output_name_too_long_or_a_symlink_is_refused_before_training(tiny_data, tmp_path, cli_runner, zoo_cli):
    long = tmp_path / ("m" * 250)
    result = run(cli_runner, zoo_cli, "train", "lenet5", "--epochs", "1", "-o", long)
    assert_one_line_error(result, 2, "is 250 characters; at most")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = run(cli_runner, zoo_cli, "train", "lenet5", "--epochs", "1", "-o", tmp_path / "link")
    assert_one_line_error(result, 2, "is a symbolic link")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


# --- inputs and messages ------------------------------------------------------------------------------------------


def test_exif_orientation_is_applied_as_browsers_do(tmp_path):
    from PIL import Image

    from zoo.prediction import to_pil

    stored = np.zeros((20, 40), np.uint8)
    stored[:, :5] = 255  # a bar at the left of the stored pixels
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    shown = np.asarray(to_pil(tmp_path / "photo.jpg"))
    assert shown.shape == (40, 20)  # turned upright
    assert shown[:5].mean() > 200 and shown[-5:].mean() < 50  # the bar is now at the top


def test_cli_messages_name_only_real_flags_and_never_stop_midword(copy_of_trained, cli_runner, zoo_cli):
    from zoo.errors import first_line, for_cli

    flags = {"batch_size", "function"} - {"function"}
    assert for_cli("`function` got `batch_size=3`", flags) == "`function` got --batch-size 3"
    cut = first_line(ValueError("word " * 100), 42)
    assert cut.endswith(" ...") and "wor ..." not in cut and len(cut) <= 46
    result = run(cli_runner, zoo_cli, "visualize", copy_of_trained, "--image", "x.png", "--index", "0", "-o", "out")
    assert_one_line_error(result, 2, "give --image or --index, not both")


def test_a_fifo_card_does_not_hang(copy_of_trained):
    (copy_of_trained / "card.json").unlink()
    os.mkfifo(copy_of_trained / "card.json")
    with pytest.raises(ModelFileError, match="not a regular file"):
        pretrained.read_card(copy_of_trained)


def test_an_idx_file_linked_out_of_its_folder_is_refused(tmp_path):
    from test_data_import import tiny_idx

    from zoo.data_import import SourceFileError, import_dataset

    tiny_idx(tmp_path / "src")
    elsewhere = tmp_path / "elsewhere.gz"
    shutil.move(tmp_path / "src" / "t10k-labels-idx1-ubyte.gz", elsewhere)
    (tmp_path / "src" / "t10k-labels-idx1-ubyte.gz").symlink_to(elsewhere)
    with pytest.raises(SourceFileError, match="a link out of"):
        import_dataset("mnist", tmp_path / "src", data_dir=tmp_path / "tfds", log=lambda *a: None)
    assert gzip.decompress(elsewhere.read_bytes())  # untouched
