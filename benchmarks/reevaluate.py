"""Re-evaluate every shipped model on the real test split and compare with the accuracy its card reports.

    python benchmarks/reevaluate.py [saved_models] [--data-dir DIR]
Needs the real datasets (tfds downloads them, or `zoo data import`); a benchmark, not a CI test.
Exits 1 if any model's fresh accuracy differs from its card's by more than 0.0001.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoo import artifacts  # noqa: E402
from zoo.evaluation import evaluate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models_dir", nargs="?", default="saved_models")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    bad = 0
    print(f"{'model folder':<28} {'card':>8} {'fresh':>8} {'examples':>9}")
    for card_path in sorted(Path(args.models_dir).glob("*/card.json")):
        card = artifacts.read_card(card_path.parent)
        fresh = evaluate(card_path.parent, data_dir=args.data_dir)
        expected = card.metrics["test_accuracy"]
        ok = abs(fresh["accuracy"] - expected) <= 1e-4
        bad += not ok
        print(
            f"{card_path.parent.name:<28} {expected:>8.4f} {fresh['accuracy']:>8.4f} {fresh['examples']:>9}"
            + ("" if ok else "  MISMATCH")
        )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
