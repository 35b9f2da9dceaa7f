"""Run ``zoo.training.train`` on the tiny synthetic data in a fresh process, under a tf.distribute strategy.

Used by test_distribute.py: logical CPU devices and multi-worker collectives must be set up before TensorFlow
starts, which the test process itself has long done.
    python tests/distributed_run.py STRATEGY OUTPUT [--cpus N] [--stream]
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import tiny_tfds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("strategy")
    parser.add_argument("output")
    parser.add_argument("--cpus", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stream", action="store_true", help="stream the training images from tfds (stream_above=0)")
    args = parser.parse_args()

    from zoo.distribute import split_cpu
    from zoo.training import train

    if args.cpus > 1:
        split_cpu(args.cpus)
    with tiny_tfds():
        result = train(
            "lenet5",
            "mnist",
            epochs=args.epochs,
            batch_size=32,
            seed=5,
            output=args.output,
            device="cpu",
            strategy=args.strategy,
            verbose=0,
            **({"stream_above": 0} if args.stream else {}),
        )
    print("RESULT " + json.dumps(result.card.runtime))


if __name__ == "__main__":
    main()
