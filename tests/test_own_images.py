"""Your own images: a folder of them (tfds' ImageFolder) or any tfds dataset by name, trained, evaluated,
predicted, served and exported with their class names; every bad-data case in one line; fine-tuning from a
pretrained start; a streamed dataset that resumes exactly."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run
from test_runstate import same, stop_after_epoch_2

from zoo import sources
from zoo.training import train

CLASSES = ["cat", "dog", "fox"]
QUIET = {"device": "cpu", "verbose": 0, "log": lambda *a: None}


def pattern(label: int, h: int, w: int, rng) -> np.ndarray:
    """An RGB image whose class is a bright band (rows, columns or the diagonal), over noise."""
    image = rng.integers(0, 50, (h, w, 3), dtype=np.uint8)
    if label == 0:
        image[h // 3 : 2 * h // 3] = 220
    elif label == 1:
        image[:, w // 3 : 2 * w // 3] = 220
    else:
        for i in range(min(h, w)):
            image[i, max(0, i - 2) : i + 3] = 220
    return image


def image_folder(root: Path, *, splits=(("train", 12), ("test", 4)), classes=CLASSES) -> Path:
    """ROOT/<split>/<class>/ with PNG, JPEG, BMP and GIF files of two sizes, grey and RGB, and a non-image file."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in splits:
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (40, 30) if i % 2 else (24, 36)
                img = Image.fromarray(pattern(label, h, w, rng))
                img = img.convert("L") if i % 3 == 0 else img
                suffix = {4: "bmp", 5: "gif"}.get(i, "png" if i % 2 else "jpg")
                img.save(folder / f"{i}.{suffix}", **({"quality": 95} if suffix == "jpg" else {}))
    (root / "train" / "notes.txt").write_text("not an image\n")
    return root


@pytest.fixture(scope="module")
def pets(tmp_path_factory) -> Path:
    return image_folder(tmp_path_factory.mktemp("own") / "pets")


@pytest.fixture(scope="module")
def pets_model(pets, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "pets-model"
    train("lenet5", str(pets), image_size="32,32", epochs=3, batch_size=8, learning_rate=3e-3, output=out, **QUIET)
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_trains_evaluates_and_predicts_with_its_class_names(pets, tmp_path, cli_runner, zoo_cli):
    before = tree(pets)
    result = run(
        cli_runner, zoo_cli, "train", "lenet5", "--dataset", pets, "--image-size", "32,32", "--epochs", "1",
        "--batch-size", "8", "-o", tmp_path / "m",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Ignored 1 non-image file" in result.output
    assert "32 train / 4 val / 12 test images" in result.output  # 36 train images, the last 10 % (4) validate
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["class_names"] == CLASSES and card["input_shape"] == [32, 32, 3] and card["dataset"] == "pets"
    assert card["data"]["source"] == "folder" and card["data"]["image_size"] == [32, 32]
    assert card["data"]["resize"] == sources.RESIZE_RULE and card["data"]["path"] == str(pets.resolve())
    assert tree(pets) == before  # the folder is read, never written

    evaluated = run(cli_runner, zoo_cli, "evaluate", tmp_path / "m", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.stdout)
    assert scores["examples"] == 12 and set(scores["per_class_accuracy"]) == set(CLASSES)

    predicted = run(cli_runner, zoo_cli, "predict", tmp_path / "m", pets / "test" / "dog" / "1.png", "--json")
    assert predicted.exit_code == 0, predicted.output
    [answer] = json.loads(predicted.stdout)
    assert {t["class_name"] for t in answer["top_k"]} <= set(CLASSES)
    info = run(cli_runner, zoo_cli, "info", tmp_path / "m").stdout
    assert "from the folder" in info and "fitted to 32x32" in info


def test_a_trained_folder_model_learns_and_predict_fits_images_as_training_did(pets, pets_model):
    import tensorflow as tf

    import zoo
    from zoo import data
    from zoo.images import decode

    scores = zoo.evaluate(pets_model)
    assert scores["accuracy"] > 0.6, scores  # three easy patterns: well above chance after 3 epochs
    # predict takes a file of any size and fits it as the training pipeline did (same pixels, same answer)
    path = pets / "test" / "fox" / "1.png"
    [p] = zoo.predict(pets_model, [path], top_k=3)
    model, _ = zoo.pretrained.load(pets_model)
    pixels = decode(tf.io.read_file(str(path)), 3, (32, 32)).numpy()
    probs = model.predict(data.normalize(pixels[None]), verbose=0)[0]
    assert p.top_k[0]["class_name"] == CLASSES[int(probs.argmax())]
    assert p.top_k[0]["probability"] == pytest.approx(float(probs.max()), abs=1e-5)


def test_a_folder_model_is_served_and_exported_with_its_class_names(pets_model, pets, tmp_path):
    from starlette.testclient import TestClient

    import zoo
    from zoo import export
    from zoo.serve.app import ServerConfig, create_app
    from zoo.serve.protocol import load_served

    served = load_served(str(pets_model))
    app = create_app([served], ServerConfig())
    with TestClient(app, base_url="http://127.0.0.1") as client, open(pets / "test" / "cat" / "0.jpg", "rb") as f:
        answer = client.post(f"/v1/models/{served.name}:classify_image", files={"image": ("0.jpg", f)}).json()
    [expected] = zoo.predict(pets_model, [pets / "test" / "cat" / "0.jpg"])
    assert [t["class_name"] for t in answer["top_k"]] == [t["class_name"] for t in expected.top_k]
    assert answer["top_k"][0]["class_name"] in CLASSES
    out = tmp_path / "exports"
    results = export.export(pets_model, ["savedmodel", "onnx"], output=out, log=lambda *a: None)
    assert all(r["parity"]["ok"] for r in results.values()), results
    assert results["savedmodel"]["parity"]["images"] == 12  # the folder's own test images
    # the SavedModel takes encoded files of any size too, and fits them as training did: zoo predict's answer
    import tensorflow as tf

    files = [pets / "test" / "fox" / "1.png", pets / "test" / "cat" / "0.jpg"]
    serving = tf.saved_model.load(str(next(out.rglob("saved_model.pb")).parent)).signatures["serving_image"]
    answer = serving(image_bytes=tf.constant([f.read_bytes() for f in files]))
    expected = zoo.predict(pets_model, files, top_k=3)
    assert [n.decode() for n in answer["class_name"].numpy()] == [p.top_k[0]["class_name"] for p in expected]
    top = answer["probabilities"].numpy().max(axis=1)
    assert top[0] == pytest.approx(expected[0].top_k[0]["probability"], abs=1e-5)  # PNG: the same pixels
    assert top[1] == pytest.approx(expected[1].top_k[0]["probability"], abs=1e-3)  # JPEG: PIL's and TF's decoders


def test_with_only_train_the_test_split_is_held_out_and_said(tmp_path):
    root = image_folder(tmp_path / "only", splits=(("train", 10),))
    lines = []
    result = train("lenet5", str(root), image_size=28, epochs=1, batch_size=8, output=tmp_path / "m",
                   device="cpu", verbose=0, log=lines.append)  # fmt: skip
    assert any("no test split: the last 20% of train is held out" in line for line in lines), lines
    assert result.card.examples == {"train": 22, "val": 2, "test": 6}  # 30 images: 6 held out, 2 of 24 validate
    assert result.card.data["test_split"].startswith("held out")


def test_images_of_mixed_sizes_default_to_the_models_size_and_say_so(pets, tmp_path):
    lines = []
    result = train("lenet5", str(pets), epochs=1, batch_size=8, output=tmp_path / "m", device="cpu", verbose=0,
                   log=lines.append)  # fmt: skip
    assert result.card.input_shape == [28, 28, 3]
    assert any("have 2 sizes" in line and "fitted to the model's 28x28" in line for line in lines), lines


def test_any_tfds_dataset_prepared_in_the_data_dir_trains_by_name_and_is_listed(tmp_path, cli_runner, zoo_cli):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(0)

    def split(n):
        labels = np.arange(n) % 3
        images = np.stack([pattern(int(k), 20, 20, rng) for k in labels])
        return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})

    features = tfds.features.FeaturesDict(
        {"image": tfds.features.Image(shape=(20, 20, 3)), "label": tfds.features.ClassLabel(names=CLASSES)}
    )
    tfds.dataset_builders.TfDataBuilder(
        name="my_patterns",
        version="1.0.0",
        split_datasets={"train": split(60), "test": split(30)},
        features=features,
        data_dir=str(tmp_path / "tfds"),
    ).download_and_prepare()
    listed = run(cli_runner, zoo_cli, "data", "list", "--data-dir", tmp_path / "tfds")
    [row] = [line for line in listed.stdout.splitlines() if line.startswith("my_patterns")]
    assert "prepared" in row and "train 60, test 30" in row and "20x20x3" in row and "3 classes (cat, dog, fox)" in row
    result = run(
        cli_runner, zoo_cli, "train", "lenet5", "--dataset", "my_patterns", "--data-dir", tmp_path / "tfds",
        "--epochs", "1", "--batch-size", "8", "-o", tmp_path / "m",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["dataset"] == "my_patterns" and card["class_names"] == CLASSES and card["input_shape"] == [20, 20, 3]
    close = cli_runner.invoke(
        zoo_cli, ["train", "lenet5", "--dataset", "my_pattern", "--data-dir", str(tmp_path / "tfds")]
    )
    assert_one_line_error(close, 2, "tfds knows no dataset 'my_pattern'", "did you mean my_patterns")
    evaluated = run(cli_runner, zoo_cli, "evaluate", tmp_path / "m", "--data-dir", tmp_path / "tfds")
    assert evaluated.exit_code == 0, evaluated.output


def test_train_limit_keeps_the_first_images_and_the_card_says_so(tiny_data, tmp_path):
    a = train("lenet5", "mnist", epochs=1, batch_size=32, train_limit=100, output=tmp_path / "a", **QUIET)
    b = train("lenet5", "mnist", epochs=1, batch_size=32, train_limit=0.25, output=tmp_path / "b", **QUIET)
    assert a.card.examples["train"] == 100 and a.card.data["train_limit"] == 100
    assert b.card.examples["train"] == 90  # a quarter of the 360 left after validation
    assert a.card.examples["val"] == b.card.examples["val"] == 40  # validation is not cut


# --- bad data: one line, nothing written ------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header is rewritten to claim width x height pixels (a few bytes on disk)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


BAD_DATA = [
    ("a truncated image", lambda r: truncate(r / "train" / "dog" / "3.png"), "1 unreadable image", "dog/3.png"),
    (
        "a 50,000 x 50,000 PNG",
        lambda r: (r / "train" / "cat" / "huge.png").write_bytes(png_claiming(50_000, 50_000)),
        "huge.png",
        "over 50 megapixels",
    ),
    ("a class with no images", lambda r: (r / "train" / "empty").mkdir(), "train/empty has no images", ".png"),
    (
        "a single class",
        lambda r: [os.rename(r / "train" / c, r / f"away-{c}") for c in ("dog", "fox")],
        "needs at least 2 class folders",
        "only 'cat'",
    ),
    ("no train split", lambda r: os.rename(r / "train", r / "training"), "has no train/ folder", "ROOT/train/<class>"),
    (
        "a link out of the folder",
        lambda r: (r / "train" / "cat" / "x.png").symlink_to(r.parent / "outside.png"),
        "links outside",
        "cat/x.png",
    ),
    (
        "a test class missing from train",
        lambda r: (r / "test" / "dog").rename(r / "test" / "wolf"),
        "test/wolf is a class with no train/wolf",
        "",
    ),
]


@pytest.mark.parametrize(("case", "damage", "first", "second"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_is_one_line_and_nothing_is_written(case, damage, first, second, tmp_path, cli_runner, zoo_cli):
    root = image_folder(tmp_path / "pets", splits=(("train", 4), ("test", 2)))
    (tmp_path / "outside.png").write_bytes((root / "train" / "cat" / "1.png").read_bytes())
    damage(root)
    result = cli_runner.invoke(zoo_cli, ["train", "lenet5", "--dataset", str(root), "-o", str(tmp_path / "out")])
    assert_one_line_error(result, result.exit_code, first, second)
    assert result.exit_code in (1, 2)
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.run").exists()


def test_skip_bad_trains_without_them_and_records_them(tmp_path):
    root = image_folder(tmp_path / "pets", splits=(("train", 6), ("test", 2)))
    truncate(root / "train" / "dog" / "3.png")
    (root / "train" / "cat" / "huge.png").write_bytes(png_claiming(50_000, 50_000))
    lines = []
    result = train("lenet5", str(root), image_size=28, epochs=1, batch_size=8, skip_bad=True,
                   output=tmp_path / "m", device="cpu", verbose=0, log=lines.append)  # fmt: skip
    assert any(line.startswith("Skipping 2 unreadable images") for line in lines), lines
    assert result.card.data["skipped_images"] == 2
    assert set(result.card.data["skipped"]) == {"train/dog/3.png", "train/cat/huge.png"}
    assert sum(result.card.examples.values()) == 18 + 1 + 6 - 2  # (huge.png is one more file)


def test_an_unknown_dataset_name_suggests_close_ones(cli_runner, zoo_cli):
    result = cli_runner.invoke(zoo_cli, ["train", "lenet5", "--dataset", "fashion_mnistt"])
    assert_one_line_error(result, 2, "tfds knows no dataset 'fashion_mnistt'", "did you mean fashion_mnist")


def test_an_image_size_that_is_not_one_is_refused_by_the_cli(cli_runner, zoo_cli, tmp_path):
    result = cli_runner.invoke(zoo_cli, ["train", "lenet5", "--image-size", "big", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "H,W" in result.output and "Traceback" not in result.output


# --- fine-tuning ----------------------------------------------------------------------------------------------


def test_from_a_grey_tag_into_rgb_images_adapts_the_first_layer_and_records_the_lineage(pets, tmp_path, cli_runner,
                                                                                        zoo_cli):  # fmt: skip
    from zoo import pretrained, tags

    result = run(
        cli_runner, zoo_cli, "train", "lenet5", "--dataset", pets, "--image-size", "28,28", "--from", "lenet5.mnist",
        "--epochs", "1", "--batch-size", "8", "-o", tmp_path / "ft",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "c1 adapted (1 -> 3 input channels" in result.output and "new predictions" in result.output
    card = json.loads((tmp_path / "ft" / "card.json").read_text())
    assert card["init"]["from"] == "lenet5.mnist" and card["init"]["sha256"] == tags.get_tag("lenet5.mnist").sha256
    assert card["init"]["copied"] == ["c3", "c5", "f6"] and card["init"]["new"] == ["predictions"]
    assert card["recipe"]["name"] == "finetune"
    assert "init      lenet5.mnist (lenet5 on mnist" in "\n".join(pretrained.describe(tmp_path / "ft"))


def test_adapted_first_layer_gives_a_grey_image_the_same_features():
    import tensorflow as tf

    from zoo import finetune, models, pretrained

    source, _ = pretrained.load("lenet5.mnist")
    init = finetune.open_init("lenet5.mnist")
    target = models.create("lenet5", (28, 28, 3), 3)
    steps = finetune.plan(source, target, init, CLASSES)
    finetune.apply(source, target, steps)
    grey = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    rgb = np.repeat(grey, 3, axis=-1)
    a = source.get_layer("c1")(tf.constant(grey)).numpy()
    b = target.get_layer("c1")(tf.constant(rgb)).numpy()
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_freeze_backbone_trains_the_head_alone(pets, tmp_path):
    from zoo import pretrained

    source, _ = pretrained.load("lenet5.mnist")
    result = train("lenet5", str(pets), image_size=28, init="lenet5.mnist", freeze="backbone", epochs=2,
                   batch_size=8, output=tmp_path / "probe", **QUIET)  # fmt: skip
    model = result.model
    for name in ("c3", "c5", "f6"):
        for a, b in zip(model.get_layer(name).get_weights(), source.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert result.card.init["frozen"] == ["c1", "c3", "c5", "f6"] and result.card.recipe["name"] == "probe"
    two = train("lenet5", str(pets), image_size=28, init="lenet5.mnist", freeze=2, epochs=1, batch_size=8,
                output=tmp_path / "two", **QUIET)  # fmt: skip
    assert two.card.init["frozen"] == ["c1", "c3"]


def test_frozen_batchnorm_keeps_its_statistics(tiny_data, tmp_path):
    from zoo.tags import AIRBENCH

    recipe = AIRBENCH.override(epochs=1, batch_size=100, tta=False, validation=0.0)
    src = train("cifar_cnn_small", "cifar10", recipe=recipe, output=tmp_path / "src", **QUIET)
    ft = train("cifar_cnn_small", "cifar10", recipe=recipe, init=str(tmp_path / "src"), freeze="backbone",
               output=tmp_path / "ft", **QUIET)  # fmt: skip
    bns = [layer.name for layer in ft.model.layers if "bn" in layer.name]
    assert bns
    for name in bns:
        for a, b in zip(ft.model.get_layer(name).get_weights(), src.model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert ft.card.init["new"] == [] and "logits" in ft.card.init["copied"]  # the same classes: the head is kept


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["cifar_cnn", "--from", "lenet5.mnist"], ["lenet5.mnist holds lenet5 weights", "cannot start a cifar_cnn"]),
        (["lenet5", "--freeze", "backbone"], ["--freeze needs a pretrained start", "--from"]),
        (["lenet5", "--from", "no_such_tag"], ["no_such_tag"]),
        (
            ["lenet5", "--from", "lenet5.mnist", "--image-size", "32,32", "--dataset", "{pets}"],
            ["layer c5", "train at that size (--image-size 28,28)"],
        ),
        (
            ["lenet5", "--from", "lenet5.mnist", "--freeze", "5", "--dataset", "{pets}", "--image-size", "28"],
            ["--freeze 5 would leave nothing to train", "at most 4"],
        ),
    ],
    ids=["another model", "freeze without from", "unknown tag", "another size", "freeze everything"],
)
def test_starts_that_cannot_work_are_refused_before_any_data_is_read(args, fragments, pets, cli_runner, zoo_cli,
                                                                      tmp_path):  # fmt: skip
    argv = ["train", *[a.replace("{pets}", str(pets)) for a in args], "-o", str(tmp_path / "o")]
    result = cli_runner.invoke(zoo_cli, argv)
    assert_one_line_error(result, result.exit_code, *fragments)
    assert result.exit_code in (1, 2) and not (tmp_path / "o").exists() and not (tmp_path / ".o.run").exists()


def test_a_fine_tuning_run_resumes_exactly(pets, tmp_path, monkeypatch):
    args = {"image_size": 28, "init": "lenet5.mnist", "epochs": 4, "batch_size": 8, **QUIET}
    train("lenet5", str(pets), output=tmp_path / "ref", **args)
    stop_after_epoch_2(monkeypatch, "lenet5", str(pets), output=tmp_path / "run", **args)
    train("lenet5", str(pets), output=tmp_path / "run", **args)
    assert same(tmp_path / "run", tmp_path / "ref")


# --- streaming ------------------------------------------------------------------------------------------------


def test_a_streamed_dataset_trains_and_resumes_exactly_at_an_epoch_boundary(pets, tmp_path, monkeypatch):
    lines = []
    args = {"image_size": 28, "epochs": 4, "batch_size": 8, "stream_above": 0, "augment": "flip,shift",
            "device": "cpu", "verbose": 0}  # fmt: skip
    ref = train("lenet5", str(pets), output=tmp_path / "ref", log=lines.append, **args)
    assert any(line.startswith("Streaming pets from its files") for line in lines), lines
    assert ref.card.data["streamed"] and ref.card.examples == {"train": 32, "val": 4, "test": 12}
    stop_after_epoch_2(monkeypatch, "lenet5", str(pets), output=tmp_path / "run", log=lambda *a: None, **args)
    train("lenet5", str(pets), output=tmp_path / "run", log=lambda *a: None, **args)
    assert same(tmp_path / "run", tmp_path / "ref")


def test_a_streamed_epoch_holds_every_training_image_once(pets):
    from zoo import data

    splits = data.load(str(pets), image_size=28, batch_size=5, stream_above=0, val_fraction=0.0, log=lambda m: None)
    memory = data.load(str(pets), image_size=28, batch_size=5, val_fraction=0.0, log=lambda m: None)
    epoch = [(x.numpy(), y.numpy()) for x, y in splits.epoch_stream(0, 1)]
    streamed = np.concatenate([x for x, _ in epoch])
    assert len(streamed) == 36
    key = lambda xs: sorted(bytes(np.round(x * 255).astype(np.uint8)) for x in xs)  # noqa: E731
    assert key(streamed) == key(memory.train_arrays[0].astype(np.float32) / 255)
    second = np.concatenate([x.numpy() for x, _ in splits.epoch_stream(1, 2)])
    assert not np.array_equal(second, streamed)  # another order in epoch 2


def test_the_readmes_folder_maker_writes_a_folder_zoo_trains_on(tiny_data, tmp_path, monkeypatch):
    import runpy
    import sys

    from test_readme import ROOT

    monkeypatch.setattr(sys, "argv", ["make_image_folder.py", "fashion_mnist", str(tmp_path / "clothes"),
                                      "--per-class", "3", "--test-per-class", "2"])  # fmt: skip
    runpy.run_path(str(ROOT / "examples" / "make_image_folder.py"), run_name="__main__")
    assert sorted(p.name for p in (tmp_path / "clothes" / "train").iterdir())[:2] == ["Ankle boot", "Bag"]
    assert len(list((tmp_path / "clothes").rglob("*.png"))) == 10 * (3 + 2)
    result = train("lenet5", str(tmp_path / "clothes"), epochs=1, batch_size=8, output=tmp_path / "m", **QUIET)
    assert result.card.class_names[:2] == ["Ankle boot", "Bag"] and result.card.input_shape == [28, 28, 1]
    with pytest.raises(SystemExit, match="exists"):  # nothing of the reader's is overwritten
        runpy.run_path(str(ROOT / "examples" / "make_image_folder.py"), run_name="__main__")


def test_a_folder_that_changed_since_a_stop_is_not_resumed_into(tmp_path, monkeypatch):
    from zoo.errors import UsageError

    root = image_folder(tmp_path / "pets", splits=(("train", 6),))
    args = {"image_size": 28, "epochs": 3, "batch_size": 8, **QUIET}
    stop_after_epoch_2(monkeypatch, "lenet5", str(root), output=tmp_path / "run", **args)
    (root / "train" / "cat" / "new.png").write_bytes((root / "train" / "cat" / "1.png").read_bytes())
    with pytest.raises(UsageError, match="holds an unfinished run with other settings"):
        train("lenet5", str(root), output=tmp_path / "run", **args)
