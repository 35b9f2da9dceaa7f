"""A PyTorch reference for cifar_cnn's recipe: airbench94's method (Keller Jordan, KellerJordan/cifar10-airbench),
re-implemented for a CPU in float32, trained on the same images zoo trains on.

It answers one question: does zoo's Keras training reach what the original method reaches on this data with the
same number of epochs? Same network (2x2 whitening with a bias trained for 3 epochs, dirac convs, BatchNorm with
frozen scale, x1/9 head), same optimizer (Nesterov SGD with airbench's decoupled lr 11.5 and weight decay 0.0153
per 1,024 examples, BatchNorm biases at 64x), schedule, label smoothing 0.2, alternating flip, 2-px reflect
translations, lookahead every 5 steps with BatchNorm statistics, and 6-view TTA. No zoo, no TensorFlow: it reads an
.npz of uint8 arrays (x, y, xt, yt), written for instance with ``zoo.data.load_arrays``.

    python benchmarks/torch_airbench.py CIFAR10.npz --epochs 4 --train 45000
Prints a line per epoch (test accuracy) and the final accuracy without and with TTA, and the training seconds.
"""

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
LR, MOMENTUM, WEIGHT_DECAY, BIAS_SCALER = 11.5, 0.85, 0.0153, 64.0  # airbench's units: per 1,024 examples
BATCH, LABEL_SMOOTHING, WHITEN_BIAS_EPOCHS = 1024, 0.2, 3


class Conv(nn.Conv2d):
    """3x3 'same' conv without bias whose first in-channels outputs start as the identity (dirac)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, padding="same", bias=False)
        nn.init.dirac_(self.weight.data[:c_in])


def norm(channels: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels, eps=1e-12, momentum=0.4)  # PyTorch's momentum 0.4 is Keras' 0.6
    bn.weight.requires_grad = False  # frozen scale
    return bn


def block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        Conv(c_in, c_out), nn.MaxPool2d(2), norm(c_out), nn.GELU(), Conv(c_out, c_out), norm(c_out), nn.GELU()
    )


class Scale(nn.Module):
    def forward(self, x):
        return x / 9


def network(images: torch.Tensor) -> nn.Sequential:
    whiten = nn.Conv2d(3, 24, 2, bias=True)
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1).transpose(1, 3).reshape(-1, 12)
    eigenvalues, eigenvectors = torch.linalg.eigh(patches.T @ patches / len(patches))
    scaled = (eigenvectors.T / torch.sqrt(eigenvalues + 5e-4)[:, None]).flip(0).reshape(12, 3, 2, 2)
    whiten.weight.data[:] = torch.cat((scaled, -scaled))
    whiten.bias.data.zero_()
    whiten.weight.requires_grad = False
    return nn.Sequential(
        whiten,
        nn.GELU(),
        block(24, 64),
        block(64, 256),
        block(256, 256),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(256, 10, bias=False),
        Scale(),
    )


def normalize(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(x).float().div(255).permute(0, 3, 1, 2)
    return ((t - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)).contiguous()


def translate(padded: torch.Tensor, r: int = 2) -> torch.Tensor:
    """Each image shifted by a random whole number of pixels in [-r, r] (from reflect-padded copies)."""
    shifts = torch.randint(-r, r + 1, (len(padded), 2))
    size = padded.shape[-1] - 2 * r
    out = torch.empty(len(padded), padded.shape[1], size, size)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            mask = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[mask] = padded[mask, :, r + dy : r + dy + size, r + dx : r + dx + size]
    return out


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, tta: bool = False) -> float:
    net.eval()
    outs = []
    with torch.no_grad():
        for batch in x.split(1000):
            if not tta:
                outs.append(net(batch))
                continue
            both = lambda z: 0.5 * net(z) + 0.5 * net(z.flip(-1))  # noqa: E731
            pad = F.pad(batch, (1,) * 4, "reflect")
            outs.append(0.5 * both(batch) + 0.25 * both(pad[:, :, :32, :32]) + 0.25 * both(pad[:, :, 2:, 2:]))
    net.train()
    return (torch.cat(outs).argmax(1) == y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("npz")
    parser.add_argument("--epochs", type=float, default=9.9)
    parser.add_argument("--train", type=int, default=50_000, help="use the first N training images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    d = np.load(args.npz)
    x, y = normalize(d["x"][: args.train]), torch.from_numpy(d["y"][: args.train]).long()
    xt, yt = normalize(d["xt"]), torch.from_numpy(d["yt"]).long()
    net = network(x[:5000])

    steps_per_epoch = len(x) // BATCH
    total = math.ceil(steps_per_epoch * args.epochs)
    # airbench's decoupled units in PyTorch's SGD (which sums the loss over the batch and couples decay with lr)
    scale = 1024 * (1 + 1 / (1 - MOMENTUM))
    lr, wd = LR / scale, WEIGHT_DECAY * BATCH / scale
    biases = [p for n, p in net.named_parameters() if p.requires_grad and p.ndim == 1 and not n.startswith("0.")]
    others = [p for n, p in net.named_parameters() if p.requires_grad and not any(p is b for b in biases)]
    optimizer = torch.optim.SGD(
        [
            {"params": biases, "lr": lr * BIAS_SCALER, "weight_decay": wd / (lr * BIAS_SCALER)},
            {"params": others, "lr": lr, "weight_decay": wd / lr},
        ],
        momentum=MOMENTUM,
        nesterov=True,
    )
    warm = int(0.23 * total)

    def schedule(step: int) -> float:  # 0.2 -> 1 over 23 % of the steps, then down to 0.07
        return 0.2 + 0.8 * step / warm if step < warm else 1 - 0.93 * (step - warm) / (total - warm)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    decay = 0.95**5 * (torch.arange(total + 1) / total) ** 3  # lookahead: weak early, strong late
    slow = {k: v.clone() for k, v in net.state_dict().items()}

    def lookahead(rate: float) -> None:  # every weight *and BatchNorm statistic* pulled toward the slow copy
        for s, v in zip(slow.values(), net.state_dict().values(), strict=True):
            if v.dtype.is_floating_point:
                s.lerp_(v, 1 - rate)
                v.copy_(s)

    loss_fn = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING, reduction="sum")
    flipped = torch.where((torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1), x.flip(-1), x)
    padded = F.pad(flipped, (2,) * 4, "reflect")
    step, start = 0, time.perf_counter()
    for epoch in range(math.ceil(args.epochs)):
        net[0].bias.requires_grad = epoch < WHITEN_BIAS_EPOCHS
        images = translate(padded)
        images = images.flip(-1) if epoch % 2 else images  # alternating flip
        order = torch.randperm(len(images))
        for i in range(steps_per_epoch):
            idx = order[i * BATCH : (i + 1) * BATCH]
            loss = loss_fn(net(images[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 5 == 0:
                lookahead(decay[step].item())
            if step >= total:
                lookahead(1.0)
                break
        print(f"epoch {epoch + 1}: test {accuracy(net, xt, yt):.4f}, {time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    print(
        f"final: test {accuracy(net, xt, yt):.4f}, with TTA {accuracy(net, xt, yt, tta=True):.4f}; "
        f"{seconds:.0f} s of training and evaluation, {torch.get_num_threads()} threads"
    )


if __name__ == "__main__":
    main()
