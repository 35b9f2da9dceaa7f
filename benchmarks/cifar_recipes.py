"""cifar_cnn runs for the CIFAR-10 experiments: a recipe over seeds (mean ± std), changed field by field.

    python benchmarks/cifar_recipes.py NAME [--model MODEL] [--recipe default|fast]
                                             [--epochs N] [--seeds 0 1 2]
                                             [--set FIELD=VALUE ...] [--original NPZ] [--keep-weights]
                                             [--precision float32|mixed_bfloat16]

Each run is zoo's own ``train(MODEL, "cifar10", ...)`` (MODEL: one with a CIFAR-10 tag, cifar_cnn by default)
with the named recipe (``--set lookahead=0`` changes a field of it: an ablation) into
``benchmarks/runs/NAME-seedS/``, which keeps the card, history and curves (the weights only with
``--keep-weights``); ``results.py`` reads them. ``--original`` also scores each model on an .npz of test images
with their original pixels (``x``, ``y``) and records that figure in its card (reported, never selected on). Run
them one at a time on a quiet machine: the cards record training seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from original_pixels import score  # noqa: E402
from records import file_name_only  # noqa: E402

from zoo import artifacts  # noqa: E402
from zoo.recipes import Recipe  # noqa: E402
from zoo.tags import TAGS, get_recipe  # noqa: E402

RUNS = Path(__file__).resolve().parent / "runs"


def parse_set(items: list[str]) -> dict:
    """``["lookahead=0", "augment=altflip,crop"]`` as Recipe field values of the fields' types."""
    fields = {f.name: f for f in dataclasses.fields(Recipe)}
    changes = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in fields:
            raise SystemExit(f"--set {item}: unknown field {name!r}; fields: {', '.join(fields)}")
        kind = type(getattr(Recipe(), name))
        changes[name] = tuple(v for v in value.split(",") if v) if kind is tuple else kind(value)
    return changes


def run(
    name: str,
    model: str,
    seed: int,
    recipe: Recipe | str,
    epochs: int | None,
    original: str | None,
    keep: bool,
    precision: str = "auto",
):
    from zoo.training import train

    out = RUNS / f"{name}-seed{seed}"
    result = train(
        model,
        "cifar10",
        recipe=recipe,
        epochs=epochs,
        seed=seed,
        output=out,
        overwrite=True,
        precision=precision,
        command="python benchmarks/cifar_recipes.py " + " ".join(map(file_name_only, sys.argv[1:])),
    )
    card = result.card
    if original:
        figures = score(str(out), original)
        card.examples["original_pixels"] = figures.pop("images")
        card.metrics.update(figures)
        artifacts.write_card(out, card)
    if not keep:
        (out / artifacts.MODEL_FILE).unlink()  # the card, history and curves are the record
    return card


def summary(values: list[float]) -> str:
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.2f}{spread}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the runs' folder name (benchmarks/runs/NAME-seedS)")
    cifar_models = sorted({tag.model for tag in TAGS if tag.dataset == "cifar10"})
    parser.add_argument("--model", default="cifar_cnn", choices=cifar_models)
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--original", help=".npz of test images with their original pixels (x, y)")
    parser.add_argument("--keep-weights", action="store_true")
    parser.add_argument("--precision", default="auto", help="float32, mixed_bfloat16, ... (default: as zoo train)")
    args = parser.parse_args()
    changes = parse_set(args.set)
    recipe = get_recipe(args.model, "cifar10", args.recipe).override(**changes) if changes else args.recipe
    cards = [
        run(args.name, args.model, s, recipe, args.epochs, args.original, args.keep_weights, args.precision)
        for s in args.seeds
    ]
    single = [100 * c.metrics["test_accuracy"] for c in cards]
    line = f"{args.name}: {summary(single)} %"
    if all("test_accuracy_tta" in c.metrics for c in cards):
        line += f", {summary([100 * c.metrics['test_accuracy_tta'] for c in cards])} % with TTA"
    line += f", {summary([c.training_seconds for c in cards])} s of training, seeds {args.seeds}"
    print(line)


if __name__ == "__main__":
    main()
