"""A fast cifar_cnn recipe over seeds (mean ± std) and the ablations of its ingredients, one run each.

    python benchmarks/cifar_recipes.py seeds [--seeds 0 1 2]
    python benchmarks/cifar_recipes.py ablate NAME [NAME ...]     (names: see ABLATIONS)

Each run is `zoo train cifar_cnn --dataset cifar10` with the fast recipe (changed as the ablation says) into
benchmarks/runs/<name>/, which keeps the card, history and curves (not the weights); `zoo results` reads them.
Run them one at a time on a quiet machine: the cards record training seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
from pathlib import Path

from zoo.tags import get_recipe

RUNS = Path(__file__).resolve().parent / "runs"
FAST = get_recipe("cifar_cnn", "cifar10", "fast")  # the default compressed into 4 epochs
ABLATIONS = {  # what each ingredient is replaced with
    "random_flip": {"augment": ("flip", "crop")},  # alternating flip -> random flips
    "no_label_smoothing": {"label_smoothing": 0.0},
    "no_bn_bias_lr": {"bn_bias_lr": 1.0},  # BatchNorm biases at the common learning rate
    "no_crop": {"augment": ("altflip",)},  # no translation
}


def run(name: str, seed: int, recipe, label: str = "fast") -> dict:
    from zoo.training import train

    out = RUNS / name
    result = train(
        "cifar_cnn",
        "cifar10",
        recipe=recipe,
        recipe_name=label,
        seed=seed,
        output=out,
        overwrite=True,
        command=f"python benchmarks/cifar_recipes.py ({name})",
    )
    (out / "model.keras").unlink()  # the card, history and curves are the record; the weights are not kept
    return result.card


def summary(cards: list) -> str:
    accs = [100 * c.scored_accuracy for c in cards]
    secs = [c.training_seconds for c in cards]
    spread = f" ± {statistics.stdev(accs):.2f}" if len(accs) > 1 else ""
    return f"{statistics.mean(accs):.2f}{spread} % (TTA), {statistics.mean(secs):.0f} s of training, n={len(accs)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["seeds", "ablate"])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if args.what == "seeds":
        cards = [run(f"cifar_cnn-cifar10-fast-seed{s}", s, FAST) for s in args.seeds]
        print("fast recipe:", summary(cards))
    for name in args.names:
        card = run(
            f"cifar_cnn-cifar10-fast-{name}",
            0,
            dataclasses.replace(FAST, **ABLATIONS[name]),
            label=f"fast, {name.replace('_', ' ')}",
        )
        print(f"fast recipe, {name}:", summary([card]))
    if shutil.which("zoo"):
        print("then: zoo results")
    print(json.dumps({"runs": sorted(p.name for p in RUNS.iterdir())} if RUNS.exists() else {}))


if __name__ == "__main__":
    main()
