"""`zoo predict` and `zoo.predict`/`zoo.load`: any image file, mode and size; bad files reported one by one."""

import json
import zipfile

import numpy as np
import pytest
from conftest import synthetic_images
from PIL import Image

import zoo
from zoo.errors import ModelFileError
from zoo.prediction import prepare_image


def digit(label: int, size: int = 28) -> Image.Image:
    return Image.fromarray(synthetic_images((28, 28, 1), np.array([label]), seed=9)[0, ..., 0]).resize((size, size))


@pytest.fixture
def images(tmp_path):
    # At the model's size: the synthetic classes are positions of a square, which MNIST's framing of a digit drawn
    # at another size (centred by mass) would move; resizing is tested with the example apps against zoo predict.
    paths = {
        "gray.png": digit(1),
        "big_rgb.jpg": digit(2).convert("RGB"),
        "rgba.png": digit(4).convert("RGBA"),
        "white_background.png": Image.eval(digit(7), lambda v: 255 - v),
    }
    for name, img in paths.items():
        img.save(tmp_path / name, quality=95) if name.endswith(".jpg") else img.save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_prepare_image_fits_channels_and_size():
    rgb = Image.new("RGB", (100, 60), (10, 200, 30))
    array, inverted = prepare_image(rgb, (28, 28, 1), invert=False)
    assert array.shape == (28, 28, 1) and array.dtype == np.uint8 and not inverted
    array, _ = prepare_image(np.zeros((28, 28), np.uint8), (32, 32, 3), invert=False)
    assert array.shape == (32, 32, 3)
    array, inverted = prepare_image(Image.new("L", (28, 28), 250), (28, 28, 1), invert="auto")
    assert inverted and array.max() == 5


def test_predict_api_takes_paths_pil_images_and_arrays(trained_lenet, images):
    results = zoo.predict(trained_lenet, [images / "gray.png", digit(2), np.asarray(digit(4))], top_k=2)
    assert [r.error for r in results] == [None, None, None]
    assert [r.top_k[0]["class_id"] for r in results] == [1, 2, 4]
    assert all(len(r.top_k) == 2 and r.top_k[0]["probability"] >= r.top_k[1]["probability"] for r in results)


def test_predict_cli_reads_any_mode_and_reports_bad_files(trained_lenet, images, cli_runner, zoo_cli):
    files = ["gray.png", "big_rgb.jpg", "notes.txt", "rgba.png", "missing.png", "white_background.png"]
    result = cli_runner.invoke(
        zoo_cli, ["predict", str(trained_lenet), *(str(images / f) for f in files), "--top-k", "3"]
    )
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "notes.txt: not an image" in errors[0] and "missing.png: no such file" in errors[1]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    firsts = [line.split(": ", 1)[1].split(" ")[0] for line in lines]
    assert firsts == ["1", "2", "4", "7"]
    assert lines[3].endswith("(inverted)")


def test_predict_json(trained_lenet, images, cli_runner, zoo_cli):
    result = cli_runner.invoke(zoo_cli, ["predict", str(trained_lenet), str(images / "gray.png"), "--json", "-k", "1"])
    assert result.exit_code == 0, result.output
    [item] = json.loads(result.stdout)
    assert item["top_k"][0]["class_name"] == "1" and item["error"] is None


def test_load_returns_model_and_card(trained_lenet):
    model, card = zoo.load(trained_lenet)
    assert card.model == "lenet5" and model.count_params() == 61_706


def test_tampered_model_with_code_is_refused(copy_of_trained, tmp_path):
    """A .keras file whose config smuggles in a Lambda layer must not load: safe_mode stays on."""
    import keras

    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda x: x * 2)(keras.layers.Flatten()(inputs))
    evil = tmp_path / "evil.keras"
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(outputs)).save(evil)
    (copy_of_trained / "model.keras").write_bytes(evil.read_bytes())
    with pytest.raises(ModelFileError, match="could not be loaded safely"):
        zoo.load(copy_of_trained)


def test_truncated_model_is_refused(copy_of_trained):
    path = copy_of_trained / "model.keras"
    path.write_bytes(path.read_bytes()[:1000])
    assert not zipfile.is_zipfile(path)
    with pytest.raises(ModelFileError, match="corrupt"):
        zoo.load(copy_of_trained)


def test_public_api_names_stay_functions_after_their_modules_load():
    import zoo.evaluation
    import zoo.prediction
    import zoo.training  # noqa: F401

    assert callable(zoo.train) and callable(zoo.evaluate) and callable(zoo.predict) and callable(zoo.load)


def png_header_only(path, width: int, height: int) -> None:
    """A PNG that claims ``width`` x ``height`` pixels in a few bytes (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [12000, 20000])
def test_a_decompression_bomb_is_one_line_and_the_rest_are_predicted(
    trained_lenet, images, tmp_path, side, cli_runner, zoo_cli
):
    bomb = tmp_path / "bomb.png"
    png_header_only(bomb, side, side)
    result = cli_runner.invoke(zoo_cli, ["predict", str(trained_lenet), str(bomb), str(images / "gray.png")])
    assert result.exit_code == 1
    [error] = result.stderr.strip().splitlines()
    assert "bomb.png: " in error and "the limit of 50 megapixels (a decompression bomb?)" in error
    assert len(result.stdout.strip().splitlines()) == 1  # gray.png was still predicted
