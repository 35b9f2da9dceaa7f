"""The pretrained zoo: shipped models load and agree with their cards; RESULTS.md comes from the cards; zoo bench."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_split

from zoo import artifacts
from zoo.results import model_rows, write_results

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.parent for p in (ROOT / "saved_models").glob("*/card.json"))


def test_the_zoo_ships_models():
    assert {p.name for p in SHIPPED} >= {"lenet5-mnist", "mlp-mnist"}


@pytest.mark.parametrize("model_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_model_loads_and_matches_its_card(model_dir):
    model, card = artifacts.load(model_dir)  # safe_mode, zip checks
    assert model.count_params() == card.params
    assert list(model.input_shape[1:]) == card.input_shape and model.output_shape[-1] == card.num_classes
    assert len(card.class_names) == card.num_classes
    assert 0.5 < card.metrics["test_accuracy"] <= 1 and card.epochs == len(card.epoch_seconds)
    assert not any(p.name.endswith(".tmp") or p.name.startswith(".") for p in model_dir.iterdir())
    images, _ = synthetic_split(card.dataset, "test")
    probs = model.predict(images[:16], verbose=0)  # raw uint8 pixels
    assert probs.shape == (16, card.num_classes) and np.allclose(probs.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize("model_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_model_evaluates_like_its_card_reports(model_dir, tiny_data):
    """A fresh evaluation (on mock data of the card's format; the real re-evaluation is
    benchmarks/reevaluate.py) yields the fields the card's metrics were computed as."""
    from zoo.evaluation import evaluate

    card = artifacts.read_card(model_dir)
    result = evaluate(model_dir)
    assert result["dataset"] == card.dataset and result["examples"] == 120
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (card.num_classes,) * 2 and np.trace(matrix) / 120 == pytest.approx(result["accuracy"])


def test_results_files_are_what_the_cards_say():
    states = dict(write_results(ROOT / "saved_models", ROOT / "benchmarks" / "results", ROOT, check=True))
    assert set(states.values()) == {"up to date"}, "RESULTS.md / results.csv are stale: run `zoo results`"


def test_results_are_generated_from_cards_and_go_stale_when_a_card_changes(
    trained_lenet, tmp_path, cli_runner, zoo_cli
):
    models = tmp_path / "saved_models"
    shutil.copytree(trained_lenet, models / "lenet5-mnist")
    result = cli_runner.invoke(zoo_cli, ["results", str(models), "-o", str(tmp_path), "--bench-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    card = json.loads((models / "lenet5-mnist" / "card.json").read_text())
    [row] = model_rows(models)
    assert row["test_accuracy"] == round(card["metrics"]["test_accuracy"], 4) and row["target"] == 0.992
    assert f"{100 * row['test_accuracy']:.2f} %" in (tmp_path / "RESULTS.md").read_text()
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("model,dataset,test_accuracy") and csv_lines[1].startswith("lenet5,mnist,")

    card["metrics"]["test_accuracy"] = 0.5
    (models / "lenet5-mnist" / "card.json").write_text(json.dumps(card))
    check = cli_runner.invoke(
        zoo_cli, ["results", str(models), "-o", str(tmp_path), "--bench-dir", str(tmp_path), "--check"]
    )
    assert check.exit_code == 1 and "out of date: run `zoo results`" in check.stderr


def test_bench_measures_training_and_inference(tiny_data, cli_runner, zoo_cli, tmp_path):
    out = tmp_path / "bench.json"
    result = cli_runner.invoke(zoo_cli, ["bench", "lenet5", "--steps", "3", "--device", "cpu", "--save", str(out)])
    assert result.exit_code == 0, result.output
    assert "images/s" in result.stdout and "p99" in result.stdout and "cores" in result.stdout
    record = json.loads(out.read_text())
    for key in ("train_images_per_s", "infer_images_per_s_batch256", "infer_images_per_s_batch1", "latency_ms_p50"):
        assert record[key] > 0
    assert record["latency_ms_p99"] >= record["latency_ms_p50"] and record["machine"]["cores"] >= 1
    assert record["params"] == 61_706 and record["train_steps"] == 3
