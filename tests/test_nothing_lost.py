"""Regression tests for data loss found by fault injection (issue: nothing lost, nothing run)."""

import json

import numpy as np
import pytest
from PIL import Image

from zoo import export
from zoo.export import formats


def tree(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", ["kernels", "plot"])
def test_a_file_output_never_replaces_a_folder(command, copy_of_trained, tmp_path, cli_runner, zoo_cli):
    src = tmp_path / "img.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(src)
    before = tree(copy_of_trained)
    args = {"kernels": ["kernels", str(src), "--kernel", "blur"], "plot": ["plot", str(copy_of_trained)]}[command]
    result = cli_runner.invoke(zoo_cli, [*args, "-o", str(copy_of_trained)])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert "is a folder; give a file name" in line
    assert tree(copy_of_trained) == before


def test_plot_labels_two_runs_with_one_folder_name_apart(copy_of_trained, trained_lenet, tmp_path, monkeypatch):
    from zoo import plots

    seen = {}
    monkeypatch.setattr(plots, "curves_png", lambda runs: seen.update(runs) or b"png")
    plots.plot_runs([trained_lenet, copy_of_trained], tmp_path / "cmp.png")
    assert len(seen) == 2 and set(seen) == {str(trained_lenet), str(copy_of_trained)}


def test_a_failed_parity_check_keeps_the_previous_good_export(tiny_data, copy_of_trained, monkeypatch):
    export.export(copy_of_trained, ["tflite"], log=lambda *a: None)
    good = (copy_of_trained / "model.tflite").read_bytes()
    card_before = json.loads((copy_of_trained / "card.json").read_text())
    real = export.FORMATS["tflite"]

    def wrong_runner(path):
        run = real.run(path)
        return lambda images: np.roll(run(images), 1, axis=1)  # every class shifted: parity must fail

    def different_model(model, card, dest, data_dir):
        real.write(model, card, dest, data_dir)
        dest.write_bytes(dest.read_bytes() + b"\0")  # a new file, distinguishable from the good one

    monkeypatch.setitem(
        export.FORMATS, "tflite", real.__class__(real.name, real.filename, different_model, wrong_runner)
    )
    results = export.export(copy_of_trained, ["tflite"], log=lambda *a: None)
    assert not results["tflite"]["parity"]["ok"]
    assert (copy_of_trained / "model.tflite").read_bytes() == good
    assert json.loads((copy_of_trained / "card.json").read_text()) == card_before
    assert not [p for p in copy_of_trained.iterdir() if p.name.startswith(".")], "no temporary files left"


CARD = {"model": "lenet5", "dataset": "mnist", "input_shape": [28, 28, 1], "num_classes": 10}
SWAP_CHILD = """
import json, os, sys
from pathlib import Path
from zoo import artifacts
from zoo import atomic
dest = Path(sys.argv[1])
real = os.replace
def replace(src, dst):
    if Path(dst) == dest and (Path(src).parent / atomic.SWAP_OLD).exists():
        os._exit(9)  # killed between the two renames of the swap
    real(src, dst)
os.replace = replace
with atomic.atomic_dir(dest, overwrite=True) as tmp:
    (tmp / "card.json").write_text(json.dumps({**CARD, "seed": 2}))
""".replace("CARD", repr(CARD))


def test_a_swap_killed_between_its_renames_is_read_as_new_and_finished_by_the_next_writer(tmp_path):
    import subprocess
    import sys

    from zoo import artifacts, atomic

    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "card.json").write_text(json.dumps({**CARD, "seed": 1}))
    proc = subprocess.run([sys.executable, "-c", SWAP_CHILD, str(dest)], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    assert not dest.exists(), "the kill left no model at the destination"
    assert artifacts.read_card(dest).seed == 2  # a read finds the complete new version where it is
    assert not dest.exists(), "a read moves nothing"
    with atomic.writing(dest):  # the next writer finishes the swap
        pass
    assert artifacts.read_card(dest).seed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failed_second_rename_puts_the_previous_folder_back(tmp_path, monkeypatch):
    import os

    from zoo import atomic

    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "card.json").write_text("v1")
    real = os.replace
    failed = []

    def replace(src, dst):
        if str(dst) == str(dest) and not failed:  # the new folder's rename into place fails, once
            failed.append(src)
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError), atomic.atomic_dir(dest, overwrite=True) as tmp:
        (tmp / "card.json").write_text("v2")
    monkeypatch.setattr(atomic.os, "replace", real)
    assert (dest / "card.json").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


TAMPERED_CARDS = {
    "no dataset": (lambda c: c.pop("dataset"), "'dataset' must be a non-empty string"),
    "no num_classes": (lambda c: c.pop("num_classes"), "'num_classes' must be an integer"),
    "short class_names": (lambda c: c.update(class_names=["zero"]), "'class_names' must be 10 strings"),
    "bad input_shape": (lambda c: c.update(input_shape=[28, 28]), "'input_shape' must be [H, W, C]"),
    "huge input_shape": (lambda c: c.update(input_shape=[100000, 100000, 1]), "'input_shape' must be [H, W, C]"),
    # evaluate checks the card against the dataset first; the others check it against model.keras
    "other model's shape": (
        lambda c: c.update(input_shape=[32, 32, 3]),
        ("takes inputs of shape [28, 28, 1]", "expects 32x32x3 images"),
    ),
    "other class count": (
        lambda c: c.update(num_classes=5, class_names=[]),
        ("gives outputs of shape [10]", "and 5 classes, but mnist has"),
    ),
    "not json": (None, "is not a readable card"),
}


@pytest.mark.parametrize("command", ["predict", "evaluate", "export", "visualize"])
@pytest.mark.parametrize("tamper", TAMPERED_CARDS, ids=list(TAMPERED_CARDS))
def test_a_tampered_card_is_one_line(tiny_data, copy_of_trained, tmp_path, cli_runner, zoo_cli, command, tamper):
    change, message = TAMPERED_CARDS[tamper]
    card_path = copy_of_trained / "card.json"
    if change is None:
        card_path.write_text('{"model": "lenet5", "input_shape": [28, 2')
    else:
        card = json.loads(card_path.read_text())
        change(card)
        card_path.write_text(json.dumps(card))
    image = tmp_path / "d.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    args = {
        "predict": ["predict", str(copy_of_trained), str(image)],
        "evaluate": ["evaluate", str(copy_of_trained)],
        "export": ["export", str(copy_of_trained), "-o", str(tmp_path / "x")],
        "visualize": ["visualize", str(copy_of_trained), "--index", "0", "-o", str(tmp_path / "v")],
    }[command]
    before = tree(copy_of_trained)
    result = cli_runner.invoke(zoo_cli, args)
    assert result.exit_code in (1, 2), result.output
    [line] = result.stderr.strip().splitlines()
    assert any(m in line for m in ((message,) if isinstance(message, str) else message)), line
    assert tree(copy_of_trained) == before and not (tmp_path / "x").exists() and not (tmp_path / "v").exists()


def test_results_on_a_damaged_card_is_one_line(copy_of_trained, tmp_path):
    from test_results import run_results

    (copy_of_trained / "card.json").write_text("{")
    result = run_results(str(copy_of_trained.parent), "--output", str(tmp_path / "r"))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "card.json is not a readable card" in line


def test_an_export_whose_package_is_missing_fails_first_and_writes_nothing(tiny_data, copy_of_trained, monkeypatch):
    import importlib.util

    from zoo.errors import UsageError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    before = tree(copy_of_trained)
    with pytest.raises(
        UsageError, match=r"the onnx export needs the export extra \(tf2onnx missing\): pip install 'zoo\[export\]'"
    ):
        export.export(copy_of_trained, ["savedmodel", "keras", "tflite", "onnx"], log=lambda *a: None)
    assert tree(copy_of_trained) == before


def test_a_full_disk_during_an_export_changes_nothing(tiny_data, copy_of_trained, monkeypatch):
    import tensorflow as tf

    from zoo.errors import ZooError

    export.export(copy_of_trained, ["savedmodel"], log=lambda *a: None)
    before = tree(copy_of_trained)
    real = export.FORMATS["keras"]

    def disk_full(model, card, dest, data_dir):
        dest.write_bytes(b"half")
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device\n  ...40 more lines")

    monkeypatch.setitem(export.FORMATS, "keras", real.__class__(real.name, real.filename, disk_full, real.run))
    with pytest.raises(ZooError, match=r"could not write the keras export \(No space left on device\); nothing"):
        export.export(copy_of_trained, ["savedmodel", "keras"], log=lambda *a: None)
    assert tree(copy_of_trained) == before


def test_a_read_only_model_folder_exports_elsewhere_and_stays_as_it_was(
    tiny_data, copy_of_trained, tmp_path, monkeypatch
):
    from zoo.errors import UsageError

    real = formats.os.access
    monkeypatch.setattr(
        formats.os, "access", lambda p, mode: False if str(p) == str(copy_of_trained) else real(p, mode)
    )
    with pytest.raises(UsageError, match="is not writable: the exports could not be recorded in its card"):
        export.export(copy_of_trained, ["tflite"], log=lambda *a: None)
    before = tree(copy_of_trained)
    export.export(copy_of_trained, ["tflite"], output=tmp_path / "out", log=lambda *a: None)
    assert tree(copy_of_trained) == before
    assert (tmp_path / "out" / "model.tflite").is_file() and (tmp_path / "out" / "card.json").is_file()
