"""Does a pretrained start help? LeNet-5 on Fashion-MNIST, from scratch and from ``lenet5.mnist``, at equal epochs.

    python benchmarks/finetune_fashion.py [--data-dir DIR] [--epochs 10] [--seeds 0 1 2] [--limits 1000 60000]

Four ways, each over the seeds (mean ± std), on the first N training images (``train_limit``; no validation split,
so 60,000 is all of them), scored on the 10,000 test images:

- scratch, default: ``zoo train lenet5 --dataset fashion_mnist --epochs E`` (the tag's recipe: Adam 2e-3 cosine,
  flips), what a user gets without ``--from``;
- scratch, finetune recipe: the same recipe as the two below, from random weights (isolates the start);
- from lenet5.mnist: ``--from lenet5.mnist`` (every layer trained; the ``finetune`` recipe: Adam 1e-3 one-cycle);
- linear probe: ``--from lenet5.mnist --freeze backbone`` (the head alone; the ``probe`` recipe: 10x the peak).

Each run is zoo's own ``train``; the models go to a temporary folder. The results are printed and written to
``benchmarks/results/finetune_fashion.json`` with the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from zoo.device import cpu_name, vector_isa
from zoo.training import train

WAYS = {
    "scratch, default recipe": {"recipe": "default"},
    "scratch, finetune recipe": {"recipe": "finetune"},
    "from lenet5.mnist": {"init": "lenet5.mnist"},
    "linear probe (from lenet5.mnist, backbone frozen)": {"init": "lenet5.mnist", "freeze": "backbone"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--limits", type=int, nargs="+", default=[1000, 60000])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "finetune_fashion.json"))
    args = parser.parse_args()
    command = "python benchmarks/finetune_fashion.py " + " ".join(sys.argv[1:])
    machine = f"{cpu_name()} ({vector_isa()}), {platform.machine()}"
    print(f"Machine: {machine}", flush=True)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for limit in args.limits:
            for way, kwargs in WAYS.items():
                for seed in args.seeds:
                    start = time.perf_counter()
                    result = train(
                        "lenet5",
                        "fashion_mnist",
                        epochs=args.epochs,
                        validation=0,
                        train_limit=limit,
                        seed=seed,
                        data_dir=args.data_dir,
                        output=Path(tmp) / f"{limit}-{len(runs)}",
                        verbose=0,
                        log=lambda m: None,
                        **kwargs,
                    )
                    accuracy = result.card.metrics["test_accuracy"]
                    runs.append({"images": limit, "way": way, "seed": seed, "test_accuracy": accuracy})
                    runs[-1]["recipe"] = result.card.recipe
                    print(
                        f"{limit:>6} {way:<52} seed {seed}: {accuracy:.4f} ({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )
    print(f"\nLeNet-5 on Fashion-MNIST, {args.epochs} epochs, test accuracy over seeds {args.seeds}; {machine}\n")
    print("| training images | start | test accuracy (mean ± std) |\n| ---: | --- | --- |")
    summary = []
    for limit in args.limits:
        for way in WAYS:
            accs = [r["test_accuracy"] for r in runs if r["images"] == limit and r["way"] == way]
            mean, std = statistics.mean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0
            summary.append({"images": limit, "way": way, "mean": mean, "std": std, "n": len(accs)})
            print(f"| {limit:,} | {way} | {mean:.2%} ± {std:.2%} |")
    Path(args.out).write_text(
        json.dumps(
            {"machine": machine, "command": command, "epochs": args.epochs, "summary": summary, "runs": runs}, indent=2
        )
        + "\n"
    )
    print(f"\nWritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
