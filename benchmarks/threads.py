"""TensorFlow's CPU thread settings against zoo's defaults: ``zoo bench`` under each, in interleaved rounds.

    python benchmarks/threads.py [--model lenet5] [--rounds 3] [--save benchmarks/results/threads_lenet5.json]

TensorFlow sizes its two thread pools from the environment (``TF_NUM_INTRAOP_THREADS``: threads inside one op,
which oneDNN's kernels use; ``TF_NUM_INTEROP_THREADS``: ops run side by side); unset, both follow the core count.
Each setting runs ``zoo bench`` in its own process; the median training images/s over the rounds is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "TensorFlow's default (unset)": {},
    "intra 2, inter 1": {"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "1"},
    "intra 1, inter 2": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"},
    "intra 1, inter 1": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
}


def bench(model: str, env: dict[str, str], steps: int) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TF_NUM_")}
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", "bench", model, "--steps", str(steps), "--json"],
        capture_output=True,
        text=True,
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--save", default=None)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {name: [] for name in SETTINGS}
    last = None
    for _ in range(args.rounds):
        for name, env in SETTINGS.items():
            last = bench(args.model, env, args.steps)
            runs[name].append(last["train_images_per_s"])
    base = statistics.median(runs["TensorFlow's default (unset)"])
    rows = []
    print(f"{'setting':<30} {'train images/s (median)':>24}  vs default   runs")
    for name, values in runs.items():
        median = statistics.median(values)
        rows.append({"setting": name, "env": SETTINGS[name], "median_images_per_s": round(median, 1), "runs": values})
        print(f"{name:<30} {median:>24,.0f}  {median / base:>9.2f}x   {', '.join(f'{v:,.0f}' for v in values)}")
    record = {
        "title": f"TensorFlow thread settings, {args.model} training",
        "rows": rows,
        "machine": last["machine"],
        "onednn": last.get("onednn"),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/threads.py " + " ".join(sys.argv[1:]),
    }
    if args.save:
        Path(args.save).write_text(json.dumps(record, indent=2) + "\n")
        print(f"saved {args.save}")


if __name__ == "__main__":
    main()
