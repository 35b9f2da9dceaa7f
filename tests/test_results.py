"""The pretrained zoo: shipped models load and agree with their cards; RESULTS.md comes from the cards; zoo bench."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_split

from zoo import artifacts, tags

ROOT = Path(__file__).resolve().parent.parent
RESULTS_SCRIPT = ROOT / "benchmarks" / "results.py"  # repository tooling: it renders RESULTS.md


def _results_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_results", RESULTS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results = _results_module()
model_rows, write_results = results.model_rows, results.write_results


def run_results(*args: str):
    """``python benchmarks/results.py ARGS`` in a subprocess."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, RESULTS_SCRIPT, *args], capture_output=True, text=True, timeout=300)


SHIPPED = sorted(p.parent for p in (ROOT / "saved_models").glob("*/card.json"))


@pytest.mark.parametrize("tag", tags.list_tags())
def test_the_zoo_ships_models_that_score_their_cards_accuracy_on_real_images(tag):
    """Each tag, loaded as a user loads it, on the first 200 real test images of its dataset (tests/data, written by
    benchmarks/make_test_samples.py): its accuracy there within four standard errors of its card's figure."""
    import zoo
    from zoo import data

    samples = np.load(ROOT / "tests" / "data" / "real_samples.npz")
    model, card = zoo.load(tag)
    images, labels = samples[f"{card.dataset}_images"], samples[f"{card.dataset}_labels"]
    accuracy = float((model.predict(data.normalize(images), verbose=0).argmax(1) == labels).mean())
    expected = card.metrics["test_accuracy"]
    margin = 4 * (expected * (1 - expected) / len(labels)) ** 0.5 + 0.01
    assert accuracy >= expected - margin, (tag, accuracy, expected)


@pytest.mark.parametrize("model_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_model_loads_and_matches_its_card(model_dir):
    model, card = artifacts.load(model_dir)  # safe_mode, zip checks
    assert model.count_params() == card.params
    assert list(model.input_shape[1:]) == card.input_shape and model.output_shape[-1] == card.num_classes
    assert len(card.class_names) == card.num_classes
    assert 0.5 < card.metrics["test_accuracy"] <= 1 and card.epochs == len(card.epoch_seconds)
    assert not any(p.name.endswith(".tmp") or p.name.startswith(".") for p in model_dir.iterdir())
    images, _ = synthetic_split(card.dataset, "test")
    probs = model.predict(images[:16] / 255, verbose=0)  # pixels / 255, as the loaders give
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
    assert set(states.values()) == {"up to date"}, "RESULTS.md / results.csv are stale: rerun benchmarks/results.py"


def test_results_are_generated_from_cards_and_go_stale_when_a_card_changes(trained_lenet, tmp_path):
    models = tmp_path / "saved_models"
    shutil.copytree(trained_lenet, models / "lenet5-mnist")
    result = run_results(str(models), "-o", str(tmp_path), "--bench-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads((models / "lenet5-mnist" / "card.json").read_text())
    [row] = model_rows(models)
    assert row["test_accuracy"] == round(card["metrics"]["test_accuracy"], 4) and row["target"] == 0.992
    assert f"{100 * row['test_accuracy']:.2f} %" in (tmp_path / "RESULTS.md").read_text()
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("model,dataset,test_accuracy") and csv_lines[1].startswith("lenet5,mnist,")

    card["metrics"]["test_accuracy"] = 0.5
    (models / "lenet5-mnist" / "card.json").write_text(json.dumps(card))
    check = run_results(str(models), "-o", str(tmp_path), "--bench-dir", str(tmp_path), "--check")
    assert check.returncode == 1 and "out of date: run `python benchmarks/results.py`" in check.stderr


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


def test_the_reference_runs_sit_next_to_zoo_runs_on_the_same_images_by_epochs():
    render_references = results.render_references

    reference = {
        "reference": "airbench 0.1.8 train94",
        "torch": "2.13.0+cpu",
        "train_images": 50_000,
        "cpu": "AMD EPYC (2 cores)",
        "cpu_flags": ["avx", "avx2"],
        "file": "benchmarks/results/airbench_reference_4ep.json",
        "date": "2026-12-03",
        "command": "python benchmarks/airbench_reference.py cifar10.npz --epochs 4",
        "runs": [
            {
                "seed": 0,
                "epochs": 4.0,
                "test_accuracy": 0.8594,
                "test_accuracy_tta": 0.868,
                "original_accuracy_tta": 0.8735,
                "training_seconds": 1410.3,
                "images_trained": 196_608,
            }
        ],
    }
    row = {
        "model": "cifar_cnn",
        "dataset": "cifar10",
        "recipe": "default",
        "folder": "runs/a",
        "epochs": 10,
        "train_images": 50_000,
        "test_accuracy": 0.9,
        "test_accuracy_tta": 0.91,
        "original_pixels_accuracy_tta": 0.905,
        "training_seconds": 3200.0,
        "train_images_per_s": 156,
        "seed": 0,
        "cpu_isa": "AVX-512 with BF16",
        "precision": "mixed_bfloat16",
        "date": "2026-12-03",
    }
    held_out = {**row, "folder": "runs/b", "train_images": 45_000, "epochs": 2}
    lines = render_references([reference], [row, held_out])
    table = [line for line in lines if line.startswith("| ")][1:]
    assert len(table) == 2, "the run that trained on 45,000 images is not comparable"
    assert table[0].startswith(
        "| official airbench94, PyTorch 2.13.0 (`airbench_reference_4ep`) | AVX2, no AVX-512 | float32 | 4 | 50,000 "
        "| 85.94 % | 86.80 % | 87.35 %"
    )
    assert "| 1410 s | 139 |" in table[0]  # 196,608 images over 1,410 s
    assert table[1].startswith(
        "| zoo cifar_cnn, default (`runs/a`) | AVX-512 with BF16 | mixed_bfloat16 | 10 | 50,000 | 90.00 % | 91.00 %"
    )


def test_int8_clip_records_are_read_and_rendered_as_a_table(tmp_path):
    bench_rows, render_clip = results.bench_rows, results.render_clip

    record = {
        "model": "cifar_cnn",
        "sets": {"held": "5,000 held-out train images", "test": "test images 5,000-6,999"},
        "quantiles": [
            {"quantile": 0.0, "held": 0.9948, "test": 0.9845},
            {"quantile": 3e-5, "held": 0.9972, "test": 0.992},
        ],
        "cpu": "AMD EPYC (AVX2, no AVX-512)",
        "command": "python benchmarks/int8_clip.py saved_models/cifar_cnn-cifar10",
    }
    (tmp_path / "int8_clip.json").write_text(json.dumps(record))
    *others, clips = bench_rows(tmp_path)
    assert [c["model"] for c in clips] == ["cifar_cnn"] and not any(others)
    lines = render_clip(clips[0])
    assert "| clipped at (each end) | 5,000 held-out train images | test images 5,000-6,999 |" in lines
    assert "| nothing (min/max) | 99.48 % | 98.45 % |" in lines and "| 3e-05 | 99.72 % | 99.20 % |" in lines


def test_pretrained_start_records_are_rendered_with_their_seeds_and_machine(tmp_path):
    bench_rows, render_start = results.bench_rows, results.render_start

    record = {
        "machine": "AMD EPYC (AVX2, no AVX-512)",
        "command": "python benchmarks/finetune_fashion.py",
        "epochs": 10,
        "summary": [{"images": 1000, "way": "from lenet5.mnist", "mean": 0.7, "std": 0.01, "n": 2}],
        "runs": [{"images": 1000, "way": "from lenet5.mnist", "seed": s, "test_accuracy": 0.7} for s in (0, 1)],
    }
    (tmp_path / "finetune.json").write_text(json.dumps(record))
    *_, starts, clips = bench_rows(tmp_path)
    assert len(starts) == 1 and not clips
    lines = render_start(starts[0])
    assert "| 1,000 | from lenet5.mnist | 70.00 % ± 1.00 % | 2 |" in lines
    assert lines[-1].startswith("Seeds 0, 1; machine: AMD EPYC (AVX2, no AVX-512)")
