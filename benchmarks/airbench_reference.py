"""The official airbench94 (Keller Jordan's ``airbench`` 0.1.8 package from PyPI), run unchanged on the CPU.

zoo's ``cifar_cnn`` recipe follows airbench94; this script is the yardstick it is compared with: the package's own
``train94`` (network, optimizer, schedule, lookahead, whitening, alternating flip, translation, TTA), on the same
CIFAR-10 arrays zoo trains on, all 50,000 training images as airbench uses them. Only the device plumbing is patched,
because the package is written for a CUDA GPU in half precision:

- ``Tensor.half`` and ``Module.half`` keep float32, ``Module.cuda`` keeps the module on the CPU;
- the data loader's tensors are loaded onto the CPU (``CifarLoader(gpu="cpu")``, its last argument's default);
- ``torch.cuda.Event`` timers become wall-clock timers, ``torch.cuda.synchronize`` a no-op.

Its loader reads ``cifar10/train.pt`` and ``cifar10/test.pt`` below the working directory; this script writes them
(into a temporary folder) from an .npz of uint8 arrays ``x, y, xt, yt``, e.g. written with ``zoo.data.load_arrays``:

    python -c "import numpy as np; from zoo.data import load_arrays as l; x, y = l('cifar10', 'train');
    xt, yt = l('cifar10', 'test'); np.savez('cifar10.npz', x=x, y=y, xt=xt, yt=yt)"
    python benchmarks/airbench_reference.py cifar10.npz --epochs 4 --seeds 0 --save ref.json

It needs ``pip install torch==2.13.0 airbench==0.1.8`` (airbench uses torchvision only for ``Normalize``).
``--extra NAME=NPZ`` also scores the trained net on another labelled set (``x``, ``y``), for reporting only.
Prints airbench's own table per run, then one JSON line per run; ``--save`` writes them all.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from records import file_name_only
from torch import nn


def _normalize_only_torchvision() -> str:
    """airbench imports torchvision for ``transforms.Normalize`` alone. PyPI's torchvision wheels are built against
    CUDA torch and do not load beside the CPU-only torch wheel; then this supplies the same ``Normalize``
    (``(x - mean) / std`` per channel) as a stand-in module. Returns which one airbench got."""
    try:
        import torchvision  # noqa: F401

        return f"torchvision {torchvision.__version__}"
    except (ImportError, OSError, RuntimeError):
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
    import types

    class Normalize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean, self.std = torch.as_tensor(mean), torch.as_tensor(std)

        def forward(self, x):
            shape = (-1, 1, 1)
            return (x - self.mean.to(x.dtype).view(shape)) / self.std.to(x.dtype).view(shape)

    tv, transforms = types.ModuleType("torchvision"), types.ModuleType("torchvision.transforms")
    transforms.Normalize, tv.transforms = Normalize, transforms
    sys.modules.update({"torchvision": tv, "torchvision.transforms": transforms})
    return "a stand-in Normalize (torchvision did not load beside CPU torch)"


NORMALIZE = _normalize_only_torchvision()

import airbench  # noqa: E402
from airbench import utils as airbench_utils  # noqa: E402

# ---- device plumbing: float32 on the CPU, wall-clock timers -------------------------------------------------
torch.Tensor.half = lambda self, *a, **k: self.float()  # airbench casts images and net to float16 for CUDA
nn.Module.half = lambda self: self.float()
nn.Module.cuda = lambda self, *a, **k: self
airbench_utils.CifarLoader.__init__.__defaults__ = (*airbench_utils.CifarLoader.__init__.__defaults__[:-1], "cpu")

SEGMENTS: list[float] = []  # seconds of each timed stretch airbench measures (whitening init, each epoch, TTA)


class WallClockEvent:
    """``torch.cuda.Event(enable_timing=True)`` on the CPU: ``record`` takes the time, ``elapsed_time`` gives ms."""

    def __init__(self, enable_timing: bool = True):
        self.t = 0.0

    def record(self) -> None:
        self.t = time.perf_counter()

    def elapsed_time(self, end: WallClockEvent) -> float:
        SEGMENTS.append(end.t - self.t)
        return 1e3 * (end.t - self.t)


torch.cuda.Event = WallClockEvent
torch.cuda.synchronize = lambda *a, **k: None

EVALS: list[tuple[int, float]] = []  # (tta_level, accuracy) of every evaluation train94 makes
_evaluate = airbench_utils.evaluate


def recording_evaluate(model, loader, tta_level=0):
    accuracy = _evaluate(model, loader, tta_level)
    EVALS.append((tta_level, accuracy))
    return accuracy


airbench_utils.evaluate = recording_evaluate


def write_split(folder: Path, name: str, images: np.ndarray, labels: np.ndarray) -> None:
    """The file airbench's ``CifarLoader`` reads: uint8 NHWC images, int64 labels, class names."""
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    images, labels = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64))
    torch.save({"images": images, "labels": labels, "classes": classes}, folder / name)


def run(epochs: float, seed: int, extra: dict[str, Path]) -> dict:
    """One ``train94`` run (seeded): accuracies without and with TTA, and airbench's own timings."""
    SEGMENTS.clear()
    EVALS.clear()
    torch.manual_seed(seed)
    start = time.perf_counter()
    model = airbench.train94(epochs=epochs)
    wall = time.perf_counter() - start
    result = {
        "seed": seed,
        "epochs": epochs,
        # airbench drops each epoch's last partial batch: ceil(steps per epoch * epochs) steps of 1,024 images
        "images_trained": math.ceil(len(airbench_utils.CifarLoader("cifar10", batch_size=1024)) * epochs) * 1024,
        "test_accuracy": EVALS[-2][1],  # the last per-epoch evaluation (no TTA)
        "test_accuracy_tta": EVALS[-1][1],  # train94's final evaluation (tta_level 2)
        "per_epoch_accuracy": [acc for level, acc in EVALS[:-1]],
        "training_seconds": round(sum(SEGMENTS[:-1]), 1),  # whitening init + every epoch's steps (airbench's timer)
        "tta_seconds": round(SEGMENTS[-1], 1),
        "wall_seconds": round(wall, 1),  # everything, the per-epoch evaluations included
    }
    for name, folder in extra.items():
        loader = airbench.CifarLoader(str(folder), train=False, batch_size=2000)
        result[f"{name}_accuracy"] = _evaluate(model, loader, 0)
        result[f"{name}_accuracy_tta"] = _evaluate(model, loader, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("npz", help=".npz with uint8 x, y (train) and xt, yt (test)")
    parser.add_argument("--epochs", type=float, default=9.9, help="airbench94's own: 9.9")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=NPZ", help="another test set (x, y)")
    parser.add_argument("--save", help="write the results as JSON here")
    args = parser.parse_args()

    save = Path(args.save).resolve() if args.save else None  # (the runs chdir into a temporary folder)
    d = np.load(args.npz)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "cifar10").mkdir()
        write_split(root / "cifar10", "train.pt", d["x"], d["y"])
        write_split(root / "cifar10", "test.pt", d["xt"], d["yt"])
        extra = {}
        for spec in args.extra:
            name, path = spec.split("=", 1)
            e = np.load(Path(path).resolve())
            (root / name).mkdir()
            write_split(root / name, "test.pt", e["x"], e["y"])
            extra[name] = root / name
        os.chdir(root)  # airbench reads ./cifar10/{train,test}.pt
        for seed in args.seeds:
            results.append(run(args.epochs, seed, extra))
            print(json.dumps(results[-1]), flush=True)
    report = {
        "reference": f"airbench {getattr(airbench, '__version__', '0.1.8')} train94, float32 on the CPU",
        "torch": torch.__version__,
        "normalize": NORMALIZE,
        "threads": torch.get_num_threads(),
        "cpu": f"{_cpuinfo('model name') or platform.machine()} ({os.cpu_count()} cores)",
        "cpu_flags": sorted(f for f in _cpuinfo("flags").split() if f.startswith(("avx", "amx"))),
        "python": sys.version.split()[0],
        "train_images": int(len(d["y"])),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/airbench_reference.py " + " ".join(map(file_name_only, sys.argv[1:])),
        "runs": results,
    }
    if save:
        save.write_text(json.dumps(report, indent=1) + "\n")


def _cpuinfo(key: str) -> str:
    """The first ``key`` line of /proc/cpuinfo ("" where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.split(":")[0].strip() == key), "")


if __name__ == "__main__":
    main()
