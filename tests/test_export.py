"""Every export format against the Keras model, and the standalone apps that load them without zoo."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from zoo import export
from zoo.errors import UsageError
from zoo.export import tflite
from zoo.pretrained import sha256

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def exported(tiny_data, copy_of_trained):
    results = export.export(
        copy_of_trained,
        ["savedmodel", "keras", "tflite", "tflite_int8", "tflite_int16x8", "onnx"],
        log=lambda *a: None,
    )
    return copy_of_trained, results


def test_every_format_passes_its_parity_check(exported):
    model_dir, results = exported
    for name, result in results.items():
        check = result["parity"]
        assert check["ok"], (name, check)
        assert check["images"] == 120 and check["accuracy"] is not None
        if name in ("tflite_int8", "tflite_int16x8"):
            assert check["top1_agreement"] >= 0.99
        else:
            assert check["max_abs_diff"] <= 1e-4
    card = json.loads((model_dir / "card.json").read_text())
    for name, entry in card["exports"].items():
        path = model_dir / entry["path"]
        assert path.exists() and entry["sha256"] == sha256(path), name


def test_savedmodel_has_serving_signatures_and_class_names(exported):
    import tensorflow as tf

    model_dir, _ = exported
    loaded = tf.saved_model.load(str(model_dir / "savedmodel"))
    assert {"serving_default", "serving_float", "class_names"} <= set(loaded.signatures)
    spec = loaded.signatures["serving_default"].structured_input_signature[1]["images"]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, 28, 28, 1]
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    raw = loaded.signatures["serving_default"](images=tf.constant(images))
    as_float = loaded.signatures["serving_float"](images=tf.constant(images, tf.float32))  # the same pixels
    np.testing.assert_allclose(raw["probabilities"], as_float["probabilities"], atol=1e-5)
    assert raw["class_id"].shape == (5,) and raw["class_name"].dtype == tf.string
    names = loaded.signatures["class_names"]()["class_names"].numpy()
    assert len(names) == 10


def test_saved_model_cli_shows_the_serving_layout(exported):
    shutil_which = __import__("shutil").which
    cli = shutil_which("saved_model_cli") or str(Path(sys.executable).parent / "saved_model_cli")
    if not Path(cli).exists():
        pytest.skip("saved_model_cli is not installed")
    model_dir, _ = exported
    out = subprocess.run(
        [
            cli,
            "show",
            "--dir",
            str(model_dir / "savedmodel"),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "inputs['images']" in out.stdout and "DT_UINT8" in out.stdout
    assert "outputs['probabilities']" in out.stdout and "outputs['class_id']" in out.stdout


@pytest.mark.parametrize("quantile", [0.0, 3e-5, 1e-3, 0.1, 0.5])
def test_tail_quantiles_are_numpys_quantiles(quantile):
    pieces = [np.random.default_rng(i).standard_t(3, size=n) for i, n in enumerate((1, 700, 5000, 33, 2))]
    tails = tflite.TailQuantiles(sum(map(len, pieces)), quantile)
    for piece in pieces:
        tails.add(piece)
    expected = np.quantile(np.concatenate(pieces), [quantile, 1 - quantile])
    np.testing.assert_allclose(tails.result(), expected, rtol=0, atol=1e-12)
    assert len(tails.low) <= int(quantile * 5735) + 2  # only a tail of the 5,736 values is kept


def _int8_activation_scales(model_dir, tmp_path, name) -> list[float]:
    """Each int8 activation tensor's quantization step in a fresh int8 export of ``model_dir``, in graph order."""
    import keras

    from zoo import artifacts

    model = keras.saving.load_model(model_dir / "model.keras", compile=False, safe_mode=True)
    path = tmp_path / f"{name}.tflite"
    tflite.write_tflite_int8(model, artifacts.read_card(model_dir), path)
    details = tflite.tflite_interpreter(model_path=str(path)).get_tensor_details()
    return [d["quantization"][0] for d in sorted(details, key=lambda d: d["index"]) if d["dtype"] == np.int8]


def test_int8_activation_ranges_are_clipped_at_quantiles(tiny_data, trained_lenet, tmp_path, monkeypatch):
    from tensorflow.lite.python.optimize import calibrator

    original = calibrator.Calibrator.calibrate
    clipped = _int8_activation_scales(trained_lenet, tmp_path, "clipped")
    assert calibrator.Calibrator.calibrate is original  # the patch lasts only as long as the conversion
    monkeypatch.setattr(tflite, "INT8_CLIP_QUANTILE", 0.0)
    min_max = _int8_activation_scales(trained_lenet, tmp_path, "min_max")
    assert len(clipped) == len(min_max) >= 5
    assert all(c <= m * (1 + 1e-6) for c, m in zip(clipped, min_max, strict=True))
    assert sum(c < 0.999 * m for c, m in zip(clipped, min_max, strict=True)) >= 3, str((clipped, min_max))
    # On a TensorFlow it was not tested on, the private calibrator is left alone: min/max ranges.
    monkeypatch.setattr(tflite, "INT8_CLIP_QUANTILE", 3e-5)
    monkeypatch.setattr(tflite, "CLIP_TESTED_TF", ("0.0.",))
    assert _int8_activation_scales(trained_lenet, tmp_path, "untested") == min_max


def test_format_words_of_the_cli():
    assert export.format_names(["all"]) == ["savedmodel", "keras", "tflite", "onnx"]
    assert export.format_names(["tflite"], "int8") == ["tflite", "tflite_int8"]
    with pytest.raises(UsageError, match="`quantize='int8'` applies to TFLite"):
        export.format_names(["onnx"], "int8")
    assert export.format_names(["all"], ("int8", "int16x8"))[-2:] == ["tflite_int8", "tflite_int16x8"]
    with pytest.raises(ValueError, match="int8, int16x8"):
        export.format_names(["tflite"], "int4")


def test_export_cli_prints_parity_table(tiny_data, copy_of_trained, cli_runner, zoo_cli):
    result = cli_runner.invoke(
        zoo_cli, ["export", str(copy_of_trained), "--format", "tflite", "--quantize", "int8", "--format", "onnx"]
    )
    assert result.exit_code == 0, result.output
    for word in ("tflite ", "tflite_int8", "onnx", "top-1 agreement", "accuracy"):
        assert word in result.stdout
    assert "FAILED" not in result.stdout
    bad = cli_runner.invoke(zoo_cli, ["export", str(copy_of_trained), "--format", "pickle"])
    assert bad.exit_code == 2 and "unknown export format 'pickle'" in bad.stderr


def write_digit_png(path: Path, label: int, size: int = 112) -> None:
    from conftest import synthetic_images
    from PIL import Image

    image = synthetic_images((28, 28, 1), np.array([label]), seed=5)[0, ..., 0]
    Image.fromarray(image).resize((size, size)).convert("RGB").save(path)


BLOCK_ZOO = textwrap.dedent("""
    import runpy, sys
    class BlockZoo:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("zoo", "cli"):
                raise ModuleNotFoundError("zoo must not be imported by a standalone app")
    sys.meta_path.insert(0, BlockZoo())
    sys.path = [p for p in sys.path if p not in ("", ".")]
    script, *sys.argv[1:] = sys.argv[1:]
    sys.argv[0] = script
    sys.path.insert(0, script.rsplit("/", 1)[0])  # as `python script.py` does: the script's folder first
    runpy.run_path(script, run_name="__main__")
    assert not any(m == "zoo" or m.startswith("zoo.") for m in sys.modules)
""")


def run_example(script: str, artifact: Path, image: Path, cwd: Path, *more: Path) -> subprocess.CompletedProcess:
    """Run an example app in a clean environment with zoo blocked from import."""
    out = subprocess.run(
        [sys.executable, "-c", BLOCK_ZOO, str(EXAMPLES / script), str(artifact), str(image), *map(str, more)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out


@pytest.mark.parametrize(
    "script, artifact",
    [
        ("classify_savedmodel.py", "savedmodel"),
        ("classify_onnx.py", "model.onnx"),
    ],
)
@pytest.mark.parametrize("on_white", [False, True], ids=["light on dark", "dark on white"])
def test_standalone_apps_classify_without_zoo(exported, tmp_path, script, artifact, on_white):
    """The apps load the exports with zoo blocked, and invert a dark digit on white as `zoo predict` does."""
    from PIL import Image, ImageOps

    import zoo

    model_dir, _ = exported
    image = tmp_path / "three.png"
    write_digit_png(image, 3, size=28)  # (the model's size: used as it is; the synthetic class is a position)
    if on_white:
        ImageOps.invert(Image.open(image).convert("L")).save(image)
    [prediction] = zoo.predict(model_dir, [str(image)], top_k=1)
    assert prediction.inverted == on_white
    expected = json.loads((model_dir / "card.json").read_text())["class_names"]
    small = tmp_path / "large.png"  # another size and a second image: the same rule as zoo predict's
    Image.open(image).resize((96, 80), Image.Resampling.NEAREST).save(small)
    out = run_example(script, model_dir / artifact, image, tmp_path, small)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 8 and lines[0] == str(image) and lines[4] == str(small), lines
    top_name, top_prob = lines[1].split("\t")
    assert top_name == expected[3] == prediction.top_k[0]["class_name"] and 0 < float(top_prob) <= 1
    for block, path in ((lines[1:4], image), (lines[5:8], small)):
        [zoo_says] = zoo.predict(model_dir, [str(path)], top_k=3)
        assert [line.split("\t")[0] for line in block] == [t["class_name"] for t in zoo_says.top_k]
        for line, t in zip(block, zoo_says.top_k, strict=True):
            assert abs(float(line.split("\t")[1]) - t["probability"]) < 2e-4


@pytest.mark.slow
def test_export_in_a_real_process_prints_no_tensorflow_chatter(copy_of_trained, tmp_path):
    """TensorFlow's, TFLite's and the converter's C++ lines go straight to file descriptor 2: none of them show."""
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZOO_VERBOSE_TF")}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo",
            "export",
            str(copy_of_trained),
            "--format",
            "tflite",
            "--quantize",
            "int8",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "PYTHONPATH": str(EXAMPLES.parent)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "tflite_int8" in out.stdout
    for chatter in ("port.cc", "cuda", "XNNPACK", "fully_quantize", "absl::InitializeLog"):
        assert chatter not in out.stderr, out.stderr[-2000:]


def test_a_model_with_exact_gelu_exports_to_onnx(tiny_data, tmp_path):
    """TensorFlow writes exact GELU with Erfc, which ONNX lacks: the export rewrites it as 1 - Erf."""
    from zoo import artifacts, models
    from zoo.card import ModelCard

    model = models.create("cifar_cnn", input_shape=(32, 32, 3), num_classes=10, widths=(8, 16, 16))
    card = ModelCard(
        "cifar_cnn", "cifar10", [32, 32, 3], 10, [str(i) for i in range(10)], preprocessing=dict(models.PREPROCESSING)
    )
    artifacts.save(tmp_path / "m", model, card)
    results = export.export(tmp_path / "m", ["onnx"], log=lambda *a: None)
    assert results["onnx"]["parity"]["ok"], results["onnx"]["parity"]
