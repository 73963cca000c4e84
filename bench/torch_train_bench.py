#!/usr/bin/env python3
"""PyTorch throughput of the seed's batchnorm CNN, the same model, optimizer and batches as
`nndl bench train`: conv64x3 - BN - relu - pool2 - affine500 - BN - relu - affine10, softmax,
L2 1e-3 on weights, Adam 1e-3, float32, synthetic CIFAR-shaped data. Prints one line per batch
size: "torch batch B: X images/s" (eager), and with --compile also "torch.compile batch B: X
images/s" where torch.compile works. Arguments: cpu (default) or cuda; seed (default) or wide (the
wide 3x3 net below) or preset (the net of `nndl train --preset cifar-fast`, from
torch_cifar_fast.py); --batches 50,1000 (default 50,1000); --compile; --channels-last (also times
the model and the batch in channels_last memory format, where PyTorch's oneDNN convolutions are
fastest on a CPU). Needs PyTorch (Debian's
python3-torch on the CPU); nndl itself does not."""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
# Debian's build may start with one thread; give PyTorch every core, as nndl uses them.
torch.set_num_threads(os.cpu_count())


class SeedCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 16 * 16, 500)
        self.bn2 = nn.BatchNorm1d(500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv(x))), 2)
        x = F.relu(self.bn2(self.fc1(x.flatten(1))))
        return self.fc2(x)


class WideNet(nn.Module):
    """The wide 3x3 net of `./nndl bench train --model WIDE` (bench/compare_torch.sh wide):
    conv32x3-pool2-bn-relu-conv32x3-bn-relu-conv128x3-pool2-bn-relu-conv128x3-bn-relu-
    conv128x3-pool2-bn-relu-conv128x3-bn-relu-affine10."""

    def __init__(self):
        super().__init__()
        chans = [(3, 32, True), (32, 32, False), (32, 128, True), (128, 128, False), (128, 128, True),
                 (128, 128, False)]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o, _ in chans)
        self.pools = [p for _, _, p in chans]
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for _, o, _ in chans)
        self.fc = nn.Linear(128 * 4 * 4, 10)

    def forward(self, x):
        for conv, bn, pool in zip(self.convs, self.bns, self.pools):
            x = conv(x)
            if pool:
                x = F.max_pool2d(x, 2)
            x = F.relu(bn(x))
        return self.fc(x.flatten(1))


args = sys.argv[1:]
COMPILE = "--compile" in args
BATCHES = [50, 1000]
if "--batches" in args:
    BATCHES = [int(b) for b in args[args.index("--batches") + 1].split(",")]
    del args[args.index("--batches"):args.index("--batches") + 2]
CHANNELS_LAST = "--channels-last" in args
args = [a for a in args if a not in ("--compile", "--channels-last")]
DEVICE = args[0] if args else "cpu"
NET = args[1] if len(args) > 1 else "seed"


def make_model():
    if NET == "preset":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_cifar_fast import Net  # the preset's net, defined once
        return Net()
    return WideNet() if NET == "wide" else SeedCNN()


def bench(batch, seconds, compiled=False, channels_last=False):
    model = make_model().to(DEVICE)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    forward = torch.compile(model) if compiled else model
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1]
    x = (60 * torch.randn(batch, 3, 32, 32, device=DEVICE)).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (batch,), device=DEVICE)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y) + 0.5e-3 * sum((w * w).sum() for w in weights)
        loss.backward()
        opt.step()
        return loss.item()  # waits for the device, as nndl's step does

    step()  # warm-up
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - t0)


print(f"torch {torch.__version__}, {DEVICE}, {torch.get_num_threads()} CPU threads")
for batch in BATCHES:
    seconds = 5.0 if batch <= 100 else 10.0
    print(f"torch batch {batch}: {bench(batch, seconds):.1f} images/s")
    sys.stdout.flush()
    if CHANNELS_LAST:
        print(f"torch channels_last batch {batch}: {bench(batch, seconds, channels_last=True):.1f} images/s")
        sys.stdout.flush()
    if COMPILE:
        try:
            bench(batch, 1.0, compiled=True)  # compiles (and warms up) outside the timed run
            print(f"torch.compile batch {batch}: {bench(batch, seconds, compiled=True):.1f} images/s")
        except Exception as e:  # no compiler toolchain on the machine, ...: say so, go on
            print(f"torch.compile batch {batch}: unavailable ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
        sys.stdout.flush()
