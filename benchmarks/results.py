"""RESULTS.md and results.csv, generated from the saved models' cards and the saved benchmark runs.

Nothing in them is typed by hand: every figure comes from a ``card.json`` written by ``zoo train`` or a JSON file
written by ``zoo bench --save`` / ``benchmarks/compare_speed.py``. ``python benchmarks/results.py --check``
tells whether the files in the repository are what the cards say.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoo import tags  # noqa: E402
from zoo.artifacts import CARD_FILE, HISTORY_FILE, read_card, read_history  # noqa: E402
from zoo.atomic import atomic_write_text  # noqa: E402
from zoo.bench import options  # noqa: E402
from zoo.device import isa_of  # noqa: E402
from zoo.errors import UsageError, ZooError  # noqa: E402

CSV_FIELDS = [
    "model",
    "dataset",
    "test_accuracy",
    "test_accuracy_tta",
    "target",
    "reached",
    "test_loss",
    "val_accuracy",
    "params",
    "epochs",
    "recipe",
    "batch_size",
    "optimizer",
    "learning_rate",
    "schedule",
    "augment",
    "train_images",
    "training_seconds",
    "train_images_per_s",
    "seconds_to_target_val",
    "seconds_to_99_val",
    "device",
    "onednn",
    "date",
    "command",
]

DATASET_NOTES = {
    "cifar10": "the cifar10 these models were trained and scored on was rebuilt from JPEG copies of the images, "
    "so accuracies are not those of the original pixels (the README's CIFAR-10 section compares them).",
}


def seconds_to(history: dict[str, list[float]], epoch_seconds: list[float], accuracy: float | None) -> float | None:
    """Training seconds until validation accuracy first reached ``accuracy`` (None if it never did)."""
    if accuracy is None or not epoch_seconds:
        return None
    elapsed = 0.0
    for seconds, val in zip(epoch_seconds, history.get("val_accuracy", []), strict=False):
        elapsed += seconds
        if val >= accuracy:
            return round(elapsed, 1)
    return None


def model_rows(models_dir: str | Path, root: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per saved model folder (``*/card.json``), sorted by dataset and model."""
    rows = []
    for card_path in sorted(Path(models_dir).glob(f"*/{CARD_FILE}")):
        card = read_card(card_path.parent)  # a damaged card is a one-line error naming it
        metrics, recipe = card.metrics, card.recipe
        recipe_name = recipe.get("name", "default")
        tag = tags.find_tag(card.model, card.dataset)
        target = tag.target if tag and recipe_name == "default" else None
        seconds = float(card.training_seconds or 0)
        train_images = int(card.examples.get("train", 0))
        history = read_history(card_path.parent) if (card_path.parent / HISTORY_FILE).exists() else {}
        rows.append(
            {
                "model": card.model,
                "dataset": card.dataset,
                "test_accuracy": round(metrics["test_accuracy"], 4),
                "test_accuracy_tta": round(metrics["test_accuracy_tta"], 4) if "test_accuracy_tta" in metrics else None,
                "target": target,
                "reached": "" if target is None else ("yes" if card.scored_accuracy >= target else "no"),
                "test_loss": round(metrics["test_loss"], 4),
                "val_accuracy": round(metrics.get("val_accuracy", float("nan")), 4),
                "params": card.params,
                "epochs": card.epochs,
                "recipe": recipe_name,
                "batch_size": recipe.get("batch_size"),
                "optimizer": recipe.get("optimizer"),
                "learning_rate": recipe.get("learning_rate"),
                "schedule": recipe.get("schedule"),
                "augment": "+".join(recipe.get("augment", [])) or "none",
                "train_images": train_images,
                "training_seconds": round(seconds, 1),
                "train_images_per_s": round(train_images * card.epochs / seconds) if seconds else None,
                "original_pixels_accuracy_tta": metrics.get("original_pixels_accuracy_tta"),
                "seed": card.seed,
                "seconds_to_target_val": seconds_to(history, card.epoch_seconds, target),
                "seconds_to_99_val": seconds_to(history, card.epoch_seconds, 0.99),
                "device": card.runtime.get("device", "not recorded"),
                "onednn": card.runtime.get("onednn"),
                "cpu_isa": card.runtime.get("cpu_isa", "not recorded"),
                "precision": card.runtime.get("precision", "float32"),
                "date": card.date[:10],
                "command": card.command,
                "folder": Path(os.path.relpath(card_path.parent, root or Path(models_dir).parent)).as_posix(),
            }
        )
    return sorted(rows, key=lambda r: (r["dataset"], r["model"]))


def bench_rows(bench_dir: str | Path) -> tuple[list[dict[str, Any]], ...]:
    """The saved ``zoo bench`` runs, peer comparisons (``compare_speed.py``), settings sweeps (``threads.py``),
    serving loads (``serve_load.py``), reference trainings (``airbench_reference.py``), step profiles
    (``step_profile.py``), int8 range clippings (``int8_clip.py``) and pretrained starts (``finetune_fashion.py``)
    in ``bench_dir``."""
    benches, comparisons, sweeps, serving, references, profiles, clips, starts = [], [], [], [], [], [], [], []
    for path in sorted(Path(bench_dir).glob("*.json")) if Path(bench_dir).is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ZooError(f"{path} is not a readable benchmark record ({err})") from None
        kind = (
            starts
            if "summary" in record
            else clips
            if "quantiles" in record
            else profiles
            if "layers" in record
            else references
            if "reference" in record
            else serving
            if "serving" in record
            else comparisons
            if "runs" in record
            else sweeps
            if "rows" in record
            else benches
        )
        kind.append({**record, "file": path.as_posix()})
    return benches, comparisons, sweeps, serving, references, profiles, starts, clips


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def _seconds(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f} s"


def render_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def render_markdown(
    rows: list[dict[str, Any]],
    benches: list[dict[str, Any]],
    comparisons: list[dict[str, Any]],
    sweeps: list[dict[str, Any]] = (),
    serving: list[dict[str, Any]] = (),
    references: list[dict[str, Any]] = (),
    profiles: list[dict[str, Any]] = (),
    starts: list[dict[str, Any]] = (),
    clips: list[dict[str, Any]] = (),
) -> str:
    out = [
        "# Results",
        "",
        "Generated by `python benchmarks/results.py` from `saved_models/*/card.json` and",
        "`benchmarks/runs/*/card.json` (written by `zoo train`) and",
        "`benchmarks/results/*.json` (written by `zoo bench --save` and `benchmarks/compare_speed.py`).",
        "Do not edit by hand: rerun the commands. Test-split accuracy, single run, seed 0.",
        "",
        "## Accuracy",
        "",
        "| model | dataset | test accuracy | with TTA | target | reached | test loss | params | epochs | recipe "
        "| training time | train images/s | time to target (val) | machine | oneDNN |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        recipe = (
            f"{r['recipe']}: {r['optimizer']} {r['learning_rate']:g} {r['schedule']}, batch {r['batch_size']}, "
            f"aug {r['augment']}"
        )
        out.append(
            f"| {r['model']} | {r['dataset']} | {_pct(r['test_accuracy'])} | {_pct(r['test_accuracy_tta'])} | "
            f"{_pct(r['target'])} | "
            f"{r['reached'] or '—'} | {r['test_loss']:.4f} | {r['params']:,} | {r['epochs']} | {recipe} | "
            f"{r['training_seconds']:.0f} s | {r['train_images_per_s'] or '—'} | "
            f"{_seconds(r['seconds_to_target_val'])} | {r['device']} | "
            f"{ {True: 'on', False: 'off'}.get(r['onednn'], 'not recorded') } |"
        )
    out += ["", "Commands, curves and notes:", ""]
    for r in rows:
        out.append(f"- `{r['folder']}` ({r['date']}): `{r['command']}`; curves in `{r['folder']}/curves.png`")
    notes = sorted({DATASET_NOTES[r["dataset"]] for r in rows if r["dataset"] in DATASET_NOTES})
    out += [""] + [f"Note: {n}" for n in notes] if notes else []
    if benches:
        out += [
            "",
            "## Speed (`zoo bench`)",
            "",
            "| model | dataset | device | settings | train images/s | inference images/s (256) | (1) "
            "| latency p50 | p99 | machine | date |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for b in benches:
            m = b["machine"]
            out.append(
                f"| {b['model']} | {b['dataset']} | {b['device']} | {options(b)} | "
                f"{b['train_images_per_s']:,.0f} | "
                f"{b['infer_images_per_s_batch256']:,.0f} | {b['infer_images_per_s_batch1']:,.0f} | "
                f"{b['latency_ms_p50']:.2f} ms | {b['latency_ms_p99']:.2f} ms | "
                f"{m['cpu']}{' (' + m['isa'] + ')' if m.get('isa') else ''}, {m['cores']} cores, "
                f"GPU: {', '.join(m['gpus']) or 'none'} | {b['date']} |"
            )
    for c in comparisons:
        out += [
            "",
            f"## Side by side: {c['title']}",
            "",
            c["setup"],
            "",
            "| run | seconds per epoch | images/s | vs the first row |",
            "|---|---:|---:|---:|",
        ]
        base = next(r for r in c["runs"] if r["name"] == c["baseline"])
        for r in c["runs"]:
            out.append(
                f"| {r['name']} | {r['seconds_per_epoch']:.1f} | {r['images_per_s']:,.0f} | "
                f"{r['images_per_s'] / base['images_per_s']:.2f}× |"
            )
        out += [""] if c.get("targets") else []
        for what, ratio in c.get("targets", {}).items():
            need = float(what.split(">= ")[1].split("x")[0])
            out.append(f"- {what}: {ratio:.2f}× — {'met' if ratio >= need else 'missed'}")
        out += ["", f"Machine: {c['machine']}; {c['date']}; `{c['command']}`."]
        if c.get("profile"):
            batch = c.get("profile_batch", 128)
            out += [
                "",
                f"Where a LeNet-5 training step's time goes (TensorFlow ops, batch {batch}, the same machine):",
                "",
                "| op | ms per step |",
                "|---|---:|",
            ]
            out += [f"| {name} | {ms:.2f} |" for name, ms in c["profile"]]
            for what, ms in c.get("stream_ms_per_batch", {}).items():
                out.append(f"| input stream alone, {what} (gather, augmentation; overlaps the step) | {ms:.2f} |")
    for sweep in sweeps:
        m = sweep["machine"]
        out += ["", f"## {sweep['title']}", "", "| setting | train images/s (median) | runs |", "|---|---:|---|"]
        out += [
            f"| {r['setting']} | {r['median_images_per_s']:,.0f} | {', '.join(f'{v:,.0f}' for v in r['runs'])} |"
            for r in sweep["rows"]
        ]
        out += ["", f"Machine: {m['cpu']}, {m['cores']} cores; {sweep['date']}; `{sweep['command']}`."]
    for record in serving:
        out += render_serving(record)
    if references:
        out += render_references(references, rows)
    for profile in profiles:
        out += render_profile(profile)
    for clip in clips:
        out += render_clip(clip)
    for record in starts:
        out += render_start(record)
    return "\n".join(out) + "\n"


def render_start(record: dict[str, Any]) -> list[str]:
    """``finetune_fashion.py``: from scratch against a pretrained start, mean ± std over seeds."""
    seeds = sorted({r["seed"] for r in record["runs"]})
    out = ["", f"## A pretrained start: LeNet-5 on Fashion-MNIST, {record['epochs']} epochs", ""]
    out += ["| training images | start | test accuracy (mean ± std) | runs |", "|---:|---|---|---:|"]
    for row in record["summary"]:
        out.append(f"| {row['images']:,} | {row['way']} | {_pct(row['mean'])} ± {_pct(row['std'])} | {row['n']} |")
    return out + ["", f"Seeds {', '.join(map(str, seeds))}; machine: {record['machine']}; `{record['command']}`."]


def render_clip(record: dict[str, Any]) -> list[str]:
    """``int8_clip.py``: an int8 export's top-1 agreement with Keras per activation-range quantile."""
    sets = list(record["sets"])
    out = ["", f"## int8 activation ranges of {record['model']}: top-1 agreement with Keras", ""]
    out += ["| clipped at (each end) | " + " | ".join(record["sets"].values()) + " |"]
    out += ["|---" + "|---:" * len(sets) + "|"]
    for row in record["quantiles"]:
        name = f"{row['quantile']:g}" if row["quantile"] else "nothing (min/max)"
        out.append(f"| {name} | " + " | ".join(_pct(row[k]) for k in sets) + " |")
    return out + ["", f"Machine: {record['cpu']}; `{record.get('command', '')}`."]


def render_profile(record: dict[str, Any]) -> list[str]:
    """``step_profile.py``: the heaviest layers of a training step, and the whole step under a few settings."""
    total = sum(r["ms"] for r in record["layers"])
    top = sorted(record["layers"], key=lambda r: -r["ms"])[:8]
    m = record["machine"]
    out = [
        "",
        f"## Where a {record['model']} training step goes (batch {record['batch']})",
        "",
        "Each layer's forward + backward alone, the 8 heaviest; then the whole step (`train_on_batch`).",
        "",
        "| layer | input | ms | share of the layers |",
        "|---|---|---:|---:|",
    ]
    out += [f"| {r['layer']} | {'×'.join(map(str, r['input']))} | {r['ms']:.0f} | {r['ms'] / total:.0%} |" for r in top]
    out += ["", "| step | ms | images/s |", "|---|---:|---:|"]
    for name, ms in record["steps_ms"].items():
        images = int(name.split("batch ")[1].split(",")[0])
        out.append(f"| {name} | {ms:.0f} | {1000 * images / ms:.0f} |")
    isa = f" ({m['isa']})" if m.get("isa") else ""
    return out + ["", f"Machine: {m['cpu']}{isa}, {m['cores']} cores; `{record.get('command', '')}`."]


def render_references(references: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[str]:
    """The reference trainings (the official airbench94 on this CPU) next to zoo's cifar_cnn runs on the same data,
    by epochs."""
    out = [
        "",
        "## Side by side: the official airbench94 and zoo's cifar_cnn on CIFAR-10",
        "",
        "Same training and test images, 2 cores of an AMD EPYC: compare rows of the same CPU (its vector instructions:",
        "AVX2 on Zen 3, AVX-512 with BF16 on Zen 4). Training seconds exclude the per-epoch evaluations; images/s are",
        "training images over them. The original-pixel figure is on the test images with their original pixels.",
        "",
        "| run | CPU | precision | epochs | train images | test accuracy | with TTA | original pixels (TTA) "
        "| training time | train images/s | seed | date |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    entries = []
    for ref in references:
        for r in ref["runs"]:
            entries.append(
                (
                    r["epochs"],
                    f"| official airbench94, PyTorch {ref['torch'].split('+')[0]} (`{Path(ref['file']).stem}`) | "
                    f"{isa_of(ref['cpu_flags'])} | "
                    f"float32 | {r['epochs']:g} | "
                    f"{ref['train_images']:,} | {_pct(r['test_accuracy'])} | {_pct(r['test_accuracy_tta'])} | "
                    f"{_pct(r.get('original_accuracy_tta'))} | {_seconds(r['training_seconds'])} | "
                    f"{r['images_trained'] / r['training_seconds']:,.0f} | {r['seed']} | {ref['date']} |",
                )
            )
    train_images = {ref["train_images"] for ref in references}
    for r in rows:  # zoo's runs on the same training images (not those that held a validation split out)
        if r["model"] == "cifar_cnn" and r["dataset"] == "cifar10" and r["train_images"] in train_images:
            entries.append(
                (
                    r["epochs"],
                    f"| zoo cifar_cnn, {r['recipe']} (`{r['folder']}`) | {r['cpu_isa']} | {r['precision']} | "
                    f"{r['epochs']} | {r['train_images']:,} | "
                    f"{_pct(r['test_accuracy'])} | {_pct(r['test_accuracy_tta'])} | "
                    f"{_pct(r.get('original_pixels_accuracy_tta'))} | {_seconds(r['training_seconds'])} | "
                    f"{r['train_images_per_s'] or '—'} | {r['seed']} | {r['date']} |",
                )
            )
    out += [line for _, line in sorted(entries, key=lambda e: e[0])]
    out += [""] + [f"Reference run: {m['cpu']}, {', '.join(m['cpu_flags'])}; `{m['command']}`." for m in references]
    return out


def render_serving(record: dict[str, Any]) -> list[str]:
    """``serve_load.py``'s cells: requests/s and latency per model, clients and batching, against the ceiling."""
    m = record["machine"]
    out = [
        "",
        f"## {record['title']}",
        "",
        "One image per request; client threads and server on the same machine. The ceiling: the model called",
        "in-process on batches of the server's maximum batch.",
        "",
        "| model | clients | batching | requests/s | p50 | p99 | vs no batching | vs ceiling | errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in record["models"]:
        ceiling = entry["in_process"]["images_per_s_batch"]
        plain = {c["clients"]: c["requests_per_s"] for c in entry["cells"] if not c["batching"]}
        for c in entry["cells"]:
            vs_plain = f"{c['requests_per_s'] / plain[c['clients']]:.1f}×" if c["batching"] else ""
            out.append(
                f"| {entry['model']} | {c['clients']} | {'on' if c['batching'] else 'off'} | "
                f"{c['requests_per_s']:,.0f} | {c['p50_ms']:.1f} ms | {c['p99_ms']:.1f} ms | {vs_plain} | "
                f"{c['requests_per_s'] / ceiling:.0%} | {c['errors']} |"
            )
        inside = entry["in_process"]
        out.append(
            f"| {entry['model']} | in-process ceiling | batch {inside['max_batch']} | "
            f"{inside['images_per_s_batch']:,.0f} images/s | | | | 100% | |"
        )
    isa = f" ({m['isa']})" if m.get("isa") else ""
    out += ["", f"Machine: {m['cpu']}{isa}, {m['cores']} cores; {record['date']}; `{record['command']}`."]
    return out


def write_results(
    models_dir: str | Path = "saved_models",
    bench_dir: str | Path = "benchmarks/results",
    output: str | Path = ".",
    check: bool = False,
) -> Iterator[tuple[Path, str]]:
    """Write (or with ``check``, compare) RESULTS.md and results.csv; yields each file with what happened.

    Besides the shipped models, the recipe runs kept in ``<bench_dir>/../runs/*/card.json`` (seeds of a named
    recipe, ablations) get rows too."""
    runs_dir = Path(bench_dir).parent / "runs"
    rows = model_rows(models_dir, output) + (model_rows(runs_dir, output) if runs_dir.is_dir() else [])
    if not rows:
        raise UsageError(f"no saved models in {models_dir} (folders with {CARD_FILE})")
    files = {
        Path(output) / "RESULTS.md": render_markdown(rows, *bench_rows(bench_dir)),
        Path(output) / "results.csv": render_csv(rows),
    }
    stale = []
    if not check:
        Path(output).mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        current = path.read_text() if path.exists() else None
        if check:
            if current != text:
                stale.append(path)
            yield path, "up to date" if current == text else "out of date"
        else:
            atomic_write_text(path, text)
            yield path, "written" if current != text else "unchanged"
    if stale:
        raise ZooError(f"{', '.join(map(str, stale))} out of date: run `python benchmarks/results.py`")


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/results.py [MODELS_DIR] [--bench-dir DIR] [--output DIR] [--check]``."""
    parser = argparse.ArgumentParser(description="Write RESULTS.md and results.csv from the saved models' cards.")
    parser.add_argument("models_dir", nargs="?", default="saved_models")
    parser.add_argument("--bench-dir", default="benchmarks/results", help="folder of `zoo bench --save` JSON files")
    parser.add_argument("--output", "-o", default=".", help="folder to write RESULTS.md and results.csv into")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if either file is out of date")
    args = parser.parse_args(argv)
    try:
        for path, state in write_results(args.models_dir, args.bench_dir, args.output, check=args.check):
            print(f"{path}: {state}")
    except ZooError as err:
        print(f"results: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
