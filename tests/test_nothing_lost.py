"""Regression tests for data loss found by fault injection (issue: nothing lost, nothing run)."""

import json

import numpy as np
import pytest
from PIL import Image

from zoo import export


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

    monkeypatch.setitem(export.FORMATS, "tflite", real.__class__(real.name, real.filename, different_model,
                                                                 wrong_runner))
    results = export.export(copy_of_trained, ["tflite"], log=lambda *a: None)
    assert not results["tflite"]["parity"]["ok"]
    assert (copy_of_trained / "model.tflite").read_bytes() == good
    assert json.loads((copy_of_trained / "card.json").read_text()) == card_before
    assert not [p for p in copy_of_trained.iterdir() if p.name.startswith(".")], "no temporary files left"
