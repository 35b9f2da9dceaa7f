"""A hand-written PyTorch loop for the same LeNet-5 on MNIST: Adam, batch 128, tensors in memory.

The second peer of ``compare_speed.py``; runs in any environment with torch and numpy (no zoo, no TensorFlow).
    python benchmarks/torch_baseline.py MNIST.npz [--epochs 2]
Prints one JSON line: seconds of each epoch, training images per epoch, test accuracy.
"""

import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("npz")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    d = np.load(args.npz)
    n_train = int(len(d["x_train"]) * 0.9)  # the same 90 % that zoo and the Keras peer train on
    x = torch.from_numpy(d["x_train"][:n_train]).float().div_(255).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(d["y_train"][:n_train]).long()
    x_test = torch.from_numpy(d["x_test"]).float().div_(255).permute(0, 3, 1, 2).contiguous()
    y_test = torch.from_numpy(d["y_test"]).long()

    model = lenet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(n_train).split(128):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(
        json.dumps(
            {
                "name": f"PyTorch {torch.__version__} loop",
                "params": sum(p.numel() for p in model.parameters()),
                "epoch_seconds": seconds,
                "train_images": n_train,
                "test_accuracy": accuracy,
                "epochs": args.epochs,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
