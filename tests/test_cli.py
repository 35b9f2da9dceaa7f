"""The CLI end to end on tiny data: train → evaluate → export → load with plain TensorFlow; and bad input."""

import io
import json
import zipfile

import numpy as np
import pytest
from conftest import assert_one_line_error, run

from zoo import tags


def test_list_shows_models_with_parameter_counts_and_datasets(cli_runner, zoo_cli):
    import re

    result = run(cli_runner, zoo_cli, "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    counts = (("mlp", "952,410"), ("lenet5", "61,706"), ("cifar_cnn", "1,973,944"), ("cifar_cnn_small", "498,680"))
    for name, params in counts:
        assert any(re.match(rf"{name}\s+{params}\s", line) for line in lines), result.stdout
    for name, image in (("mnist", "28x28x1"), ("fashion_mnist", "28x28x1"), ("cifar10", "32x32x3")):
        assert any(re.fullmatch(rf"{name}\s+{image}\s+10", line) for line in lines), result.stdout
    listing = json.loads(run(cli_runner, zoo_cli, "list", "--json").stdout)
    assert [d["name"] for d in listing["datasets"]] == ["cifar10", "fashion_mnist", "mnist"]
    assert {m["name"]: m["params"] for m in listing["models"]}["mlp"] == 952_410
    assert [t["tag"] for t in listing["pretrained"]] == tags.list_tags()


@pytest.fixture
def trained(tiny_data, cli_runner, zoo_cli, tmp_path):
    out = tmp_path / "lenet5-mnist"
    result = run(
        cli_runner,
        zoo_cli,
        "train",
        "lenet5",
        "--dataset",
        "mnist",
        "--epochs",
        3,
        "--batch-size",
        32,
        "--lr",
        "0.003",
        "--output",
        out,
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    return out, result


def test_train_writes_model_card_and_history(trained):
    out, result = trained
    assert "Device: CPU" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "curves.png", "history.csv", "model.keras"]
    card = json.loads((out / "card.json").read_text())
    assert card["model"] == "lenet5" and card["dataset"] == "mnist"
    assert card["input_shape"] == [28, 28, 1] and card["num_classes"] == 10 and len(card["class_names"]) == 10
    assert card["params"] == 61_706 and card["epochs"] == 3 and card["seed"] == 0
    assert card["recipe"]["batch_size"] == 32 and card["recipe"]["learning_rate"] == 0.003
    assert not card["preprocessing"]["in_model"] and card["schema_version"] == 3
    assert card["preprocessing"]["input"] == "float32 in [0, 1]: pixels / 255, as zoo.data's loaders give"
    assert {"tensorflow", "keras", "tensorflow_datasets", "zoo"} <= set(card["versions"])
    assert card["command"].startswith("zoo ") and card["date"]
    assert card["metrics"]["test_accuracy"] > 0.5  # synthetic classes are easy; chance is 0.1
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].split(",")[:1] == ["epoch"] and len(lines) == 4
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(lines[0].split(","))
    assert not list(out.parent.glob(".*")), "no temporary or run folders are left behind"
    with zipfile.ZipFile(out / "model.keras") as archive, archive.open("model.weights.h5") as f:
        import h5py

        with h5py.File(io.BytesIO(f.read())) as weights:
            assert "optimizer" not in weights, "model.keras carries no optimizer state"


def test_evaluate_scores_the_card_dataset(trained, cli_runner, zoo_cli):
    out, _ = trained
    result = run(cli_runner, zoo_cli, "evaluate", out, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    card = json.loads((out / "card.json").read_text())
    assert scores["dataset"] == "mnist" and scores["examples"] == 120
    assert scores["accuracy"] == pytest.approx(card["metrics"]["test_accuracy"], abs=1e-6)
    assert scores["loss"] == pytest.approx(card["metrics"]["test_loss"], abs=1e-6)  # scored the same way
    matrix = np.array(scores["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 120
    assert np.trace(matrix) / 120 == pytest.approx(scores["accuracy"])
    assert len(scores["per_class_accuracy"]) == 10
    text = run(cli_runner, zoo_cli, "evaluate", out)
    assert "accuracy" in text.stdout and "confusion matrix" in text.stdout


def test_exported_savedmodel_serves_raw_images_like_keras(trained, cli_runner, zoo_cli):
    import keras
    import tensorflow as tf

    out, _ = trained
    result = run(cli_runner, zoo_cli, "export", out, "--format", "savedmodel")
    assert result.exit_code == 0, result.output
    assert "savedmodel" in result.stdout and "ok" in result.stdout
    images = np.random.default_rng(3).integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    served = tf.saved_model.load(str(out / "savedmodel")).signatures["serving_default"](images=tf.constant(images))
    model = keras.saving.load_model(out / "model.keras")
    expected = model.predict(images / 255, verbose=0)  # model.keras: pixels / 255; the export: raw pixels
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(served["class_id"].numpy(), expected.argmax(1))
    card = json.loads((out / "card.json").read_text())
    assert card["exports"]["savedmodel"]["parity"]["ok"] and len(card["exports"]["savedmodel"]["sha256"]) == 64


def test_existing_model_is_not_overwritten_without_flag(trained, cli_runner, zoo_cli):
    out, _ = trained
    before = (out / "model.keras").read_bytes()
    result = run(cli_runner, zoo_cli, "train", "lenet5", "--epochs", 1, "--output", out)
    assert_one_line_error(result, 2, "already exists", "--overwrite")
    assert (out / "model.keras").read_bytes() == before


def test_corrupt_model_file_is_a_clear_error(trained, cli_runner, zoo_cli):
    out, _ = trained
    data = (out / "model.keras").read_bytes()
    (out / "model.keras").write_bytes(data[: len(data) // 2])
    assert_one_line_error(run(cli_runner, zoo_cli, "evaluate", out), 1, "model.keras", "corrupt")
    (out / "model.keras").write_bytes(b"not a model")
    assert_one_line_error(run(cli_runner, zoo_cli, "export", out), 1, "model.keras")


@pytest.mark.parametrize(
    "args, code, fragments",
    [
        (["train", "resnet9"], 2, ["unknown model 'resnet9'", "lenet5"]),
        (["train", "lenet5", "--dataset", "imagenet"], 2, ["tfds knows no dataset 'imagenet'", "imagenet2012"]),
        (["train", "lenet5", "--epochs", "0"], 2, ["--epochs", "not in the range 1<=x"]),
        (["train", "lenet5", "--epochs", "-3"], 2, ["--epochs", "not in the range 1<=x"]),
        (["train", "lenet5", "--epochs", "ten"], 2, ["'ten' is not a valid integer"]),
        (["train", "lenet5", "--batch-size", "0"], 2, ["--batch-size", "not in the range 1<=x"]),
        (["train", "lenet5", "--device", "tpu"], 2, ["'tpu' is not one of"]),
        (["evaluate", "/no/such/model"], 1, ["/no/such/model does not exist"]),
        (["export", "/no/such/model"], 1, ["does not exist"]),
        (["frobnicate"], 2, ["No such command 'frobnicate'"]),
    ],
)
def test_bad_input_is_one_line_and_nonzero(cli_runner, zoo_cli, args, code, fragments):
    assert_one_line_error(run(cli_runner, zoo_cli, *args), code, *fragments)


def test_device_gpu_without_gpu_is_a_clear_error(tiny_data, cli_runner, zoo_cli, tmp_path):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible")
    result = run(cli_runner, zoo_cli, "train", "lenet5", "--device", "gpu", "--output", tmp_path / "m")
    assert_one_line_error(result, 2, "no GPU")
    assert not (tmp_path / "m").exists()


def test_evaluate_refuses_a_dataset_of_another_shape(trained, cli_runner, zoo_cli):
    out, _ = trained
    result = run(cli_runner, zoo_cli, "evaluate", out, "--dataset", "cifar10")
    assert_one_line_error(result, 2, "28x28x1", "cifar10 has 32x32x3")


def test_list_recipes_shows_every_tuned_recipe(cli_runner, zoo_cli):
    from zoo.tags import all_recipes

    result = cli_runner.invoke(zoo_cli, ["list", "--recipes"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()[1:]
    assert len(lines) == len(all_recipes())
    assert any(line.split()[:3] == ["lenet5", "mnist", "fast"] for line in lines)
    assert any(line.split()[:4] == ["lenet5", "mnist", "default", "99.20%"] for line in lines)


def test_info_prints_a_short_card_and_json_the_whole_card(trained_lenet, cli_runner, zoo_cli):
    from zoo.pretrained import sha256

    whole = cli_runner.invoke(zoo_cli, ["info", str(trained_lenet), "--json"])
    assert whole.exit_code == 0, whole.output
    card = json.loads((trained_lenet / "card.json").read_text())
    assert json.loads(whole.stdout) == card
    short = run(cli_runner, zoo_cli, "info", str(trained_lenet)).stdout.splitlines()
    assert len(short) <= 20, short
    fields = {line.split()[0]: line for line in short[1:]}
    assert f"{100 * card['metrics']['test_accuracy']:.2f} %" in fields["test"]
    assert "61,706 params" in fields["model"] and "28x28x1" in fields["input"]
    assert "6 epochs of batch 32" in fields["recipe"] and "seed 0" in fields["trained"]
    assert sha256(trained_lenet / "model.keras") in fields["weights"]


def test_a_tag_lookup_starts_no_tensorflow():
    """`zoo info TAG` and `zoo list --recipes` answer from plain data and card files (well under a second)."""
    import subprocess
    import sys

    code = (
        "import sys, cli\n"
        "for args in (['info', 'lenet5.mnist'], ['info', 'mlp.mnist', '--json'], ['list', '--recipes']):\n"
        "    sys.argv = ['zoo', *args]\n"
        "    try:\n"
        "        cli.main()\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "print('loaded:', 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-1] == "loaded: False False", out.stdout


def test_python_dash_m_zoo_runs_the_cli():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "zoo", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "train" in out.stdout and "export" in out.stdout


def test_tensorboard_logs_are_written(tiny_data, tmp_path, cli_runner, zoo_cli):
    result = cli_runner.invoke(
        zoo_cli,
        [
            "train",
            "mlp",
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "-o",
            str(tmp_path / "m"),
            "--tensorboard",
            str(tmp_path / "tb"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))


def test_a_log_file_gets_plain_epoch_lines_not_progress_bars(tiny_data, tmp_path, cli_runner, zoo_cli):
    result = cli_runner.invoke(
        zoo_cli, ["train", "mlp", "--epochs", "2", "--batch-size", "64", "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stdout and "━" not in result.stdout
    assert sum(line.startswith("6/6 - ") or " - val_accuracy" in line for line in result.stdout.splitlines()) == 2
