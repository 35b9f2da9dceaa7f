"""Raw pixels in every model, the pretrained tag table, and loading a tag from anywhere (its SHA-256 checked)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run

import zoo
from zoo import models, pretrained, tags
from zoo.errors import ModelFileError
from zoo.tags import get_recipe

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", models.list_models())
def test_every_model_takes_unit_pixels_and_has_no_rescale_layer(name):
    """The design card: the loaders do the /255; a builder starts with its first real layer."""
    import keras

    config = models.get_config(name)
    side = min(config.input_shape[0], max(32, config.min_input_size))  # AlexNet at 63x63: the same layers, smaller
    shape = (side, side, config.input_shape[2])
    model = models.create(name, input_shape=shape, num_classes=10)
    scalings = [layer for layer in model.layers if isinstance(layer, keras.layers.Rescaling)]
    assert not any(layer.scale == pytest.approx(1 / 255) for layer in scalings), [layer.name for layer in scalings]
    assert "rescale" not in [layer.name for layer in model.layers]


@pytest.mark.parametrize("folder", sorted(p.name for p in (ROOT / "saved_models").iterdir() if p.is_dir()))
def test_each_shipped_model_on_unit_pixels_gives_its_cards_accuracy_on_a_real_check(folder, tmp_path):
    """A shipped model, loaded as zoo loads it, on the pixels / 255 of its dataset's images: the probabilities of the
    exported SavedModel on the raw pixels where there is one (its parity is the card's), and in every case a
    prediction for each image that is a probability distribution."""
    from zoo import data

    model, card = zoo.load(ROOT / "saved_models" / folder)
    pixels = np.random.default_rng(2).integers(0, 256, (16, *card.input_shape), dtype=np.uint8)
    probs = model.predict(data.normalize(pixels), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    savedmodel = ROOT / "saved_models" / folder / "savedmodel"
    if savedmodel.is_dir():
        import tensorflow as tf

        serve = tf.saved_model.load(str(savedmodel)).signatures["serving_default"]
        np.testing.assert_allclose(serve(images=tf.constant(pixels))["probabilities"].numpy(), probs, atol=1e-5)


def test_a_schema_2_model_that_scales_raw_pixels_itself_is_loaded_taking_unit_pixels(trained_lenet, tmp_path):
    """A folder saved while models took raw pixels (schema 2: a ``rescale`` first layer, ``in_model`` true)."""
    import json

    import keras

    from zoo import artifacts, data

    current, _ = artifacts.load(trained_lenet)
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    for layer in current.layers[1:]:
        x = layer(x)
    raw = keras.Model(inputs, x, name=current.name)  # the same layers behind the old first layer
    old = tmp_path / "schema2"
    shutil.copytree(trained_lenet, old)
    raw.save(old / "model.keras")
    card = json.loads((old / "card.json").read_text())
    card["schema_version"] = 2
    card["preprocessing"] = {"input": "raw pixels 0-255", "scale": "x / 255 inside the model", "in_model": True}
    (old / "card.json").write_text(json.dumps(card))
    model, loaded = zoo.load(old)
    assert loaded.schema_version == 2 and loaded.pixels_in_model
    pixels = np.random.default_rng(1).integers(0, 256, (4, 28, 28, 1), dtype=np.uint8)
    unit = data.normalize(pixels)
    np.testing.assert_allclose(model.predict(unit, verbose=0), current.predict(unit, verbose=0), atol=1e-6)


def test_the_tag_table_holds_recipes_targets_and_weights():
    tag = tags.get_tag("lenet5.mnist")
    assert tags.get_tag("lenet5") is tag  # a model name means its default tag
    assert get_recipe("lenet5", "mnist") is tag.recipe and get_recipe("lenet5", "mnist", "fast") is tag.recipes["fast"]
    assert tag.target == 0.992 and tag.weights == "lenet5-mnist"
    assert {(m, d, n) for m, d, n, _ in tags.all_recipes()} == {
        ("mlp", "mnist", "default"),
        ("mlp", "fashion_mnist", "default"),
        ("lenet5", "mnist", "default"),
        ("lenet5", "mnist", "fast"),
        ("lenet5", "fashion_mnist", "default"),
        ("cifar_cnn", "cifar10", "default"),
        ("cifar_cnn", "cifar10", "fast"),
        ("cifar_cnn_small", "cifar10", "default"),
    }
    with pytest.raises(KeyError, match="unknown pretrained tag 'lenet5.imagenet'; known: cifar_cnn.cifar10"):
        tags.get_tag("lenet5.imagenet")


@pytest.mark.parametrize("name", tags.list_tags())
def test_each_tags_shipped_weights_have_its_sha256(name):
    tag = tags.get_tag(name)
    folder = ROOT / "saved_models" / tag.weights
    assert pretrained.sha256(folder / "model.keras") == tag.sha256
    card = zoo.load(folder)[1]
    assert (card.model, card.dataset, card.pixels_in_model) == (tag.model, tag.dataset, False)
    assert card.preprocessing["input"].startswith("float32 in [0, 1]")


def test_create_model_pretrained_from_another_folder(tmp_path):
    """What a user types after installing zoo, run from a folder that is not the repository."""
    code = (
        "import zoo, numpy as np; m = zoo.create_model('lenet5', pretrained=True); import keras; "
        "x = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8); "
        f"k = keras.saving.load_model({str(ROOT / 'saved_models/lenet5-mnist/model.keras')!r}); "
        "print(float(np.abs(m.predict(x / 255, verbose=0) - k.predict(x / 255, verbose=0)).max()))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) == 0.0
    assert "port.cc" not in out.stderr and "cuda" not in out.stderr, out.stderr[-2000:]  # no TensorFlow chatter


def test_the_cache_folder_comes_first_and_a_changed_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    shutil.copytree(ROOT / "saved_models" / "lenet5-mnist", tmp_path / "lenet5-mnist")
    assert pretrained.locate("lenet5.mnist") == tmp_path / "lenet5-mnist"
    with open(tmp_path / "lenet5-mnist" / "model.keras", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelFileError, match="SHA-256 differs"):
        zoo.load("lenet5.mnist")


def test_missing_weights_name_the_places_searched(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "search_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(FileNotFoundError, match=f"in none of: {tmp_path / 'a'}, {tmp_path / 'b'}"):
        zoo.create_model("mlp.mnist", pretrained=True)


def test_create_model_checks_what_a_tag_cannot_give():
    with pytest.raises(ValueError, match="takes 28x28x1 images and gives 10 classes"):
        zoo.create_model("lenet5.mnist", input_shape=(32, 32, 3), pretrained=True)
    with pytest.raises(ValueError, match="builder arguments"):
        zoo.create_model("lenet5", pretrained=True, activation="tanh")
    assert zoo.create_model("lenet5.fashion_mnist").input_shape == (None, 28, 28, 1)  # untrained, for its dataset
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        zoo.create_model("lenet5", num_classes=1)


def test_info_and_list_know_the_tags(cli_runner, zoo_cli):
    import json

    result = run(cli_runner, zoo_cli, "info", "mlp.mnist", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["model"] == "mlp"
    listing = run(cli_runner, zoo_cli, "list").stdout
    row = next(line for line in listing.splitlines() if line.startswith("lenet5.mnist "))
    accuracy = zoo.load("lenet5.mnist")[1].metrics["test_accuracy"]
    assert f"{accuracy:.2%}" in row and "default, fast" in row
    bad = run(cli_runner, zoo_cli, "info", "lenet5.imagenet")
    assert bad.exit_code == 1 and "neither a model folder nor a pretrained tag" in bad.stderr


SCHEMA_2_COMMIT = "3dcec8a52aa2c97c028ce0da89a98a41394b6f86"  # the last commit whose shipped models scaled raw pixels


@pytest.mark.parametrize("name", tags.list_tags())
def test_each_re_saved_tag_computes_what_its_schema_2_model_computed(name, tmp_path):
    """The shipped weights were re-saved without their ``rescale`` layer: new(x / 255) is old(x), to float round-off,
    for every tag (the old files read from the repository's history; skipped where there is none, e.g. an sdist)."""
    import keras

    from zoo import data

    tag = tags.get_tag(name)
    old = tmp_path / "old.keras"
    show = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{SCHEMA_2_COMMIT}:saved_models/{tag.weights}/model.keras"],
        capture_output=True,
    )
    if show.returncode != 0:
        pytest.skip("the repository's history is not here")
    old.write_bytes(show.stdout)
    before = keras.saving.load_model(old, compile=False, safe_mode=True)
    assert before.layers[1].name == "rescale"  # schema 2: the model scaled raw pixels itself
    model, card = zoo.load(name)
    pixels = np.random.default_rng(3).integers(0, 256, (32, *card.input_shape), dtype=np.uint8)
    np.testing.assert_allclose(
        model.predict(data.normalize(pixels), verbose=0), before.predict(pixels, verbose=0), atol=1e-5
    )
