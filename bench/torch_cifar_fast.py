#!/usr/bin/env python3
"""The `nndl train --preset cifar-fast` run in PyTorch, for comparison only: the same net (an
airbench94-shaped net at half width: stem conv 2x2 unpadded to 24 channels, three blocks
conv-pool-bn-gelu-conv-bn-gelu with 32/128/128 channels, convs without bias, batchnorm without
scale, global max pool, linear, scores x 0.125, He init), the same data (all 50000 training
images, the training mean image subtracted from raw 0..255 pixels, as nndl does) and the same
recipe, written with nndl's formulas where PyTorch's differ:
  - Nesterov momentum as nndl (CS231n): v = mu v - lr g; w += v + mu (v - v_prev);
  - decoupled weight decay w *= 1 - lr_param * wd_param before the step, wd_param = wd / lr factor
    for biases and batchnorm parameters (whose lr is x bias_lr_mult), so all decay alike;
  - the onecycle schedule per iteration: warm-up from 0.2 to 1 over 1.84 epochs, linear decay to
    0.07 at the last iteration; 97 iterations of 512 per epoch (the last partial batch dropped);
  - label smoothing 0.2 (cross_entropy(label_smoothing=)), random flip and 2-pixel translation of
    a reflect-padded image, test-time views as nndl's --tta (six by default: flip x one-pixel
    diagonal shifts).
Prints the wall time of training and of the evaluation, and the accuracy on the first N test
images (1000). Run: /usr/bin/python3 bench/torch_cifar_fast.py --data DIR [--epochs 12]
[--num-train 50000] [--num-test 1000] [--threads N] [--tta 0|1|2: none, flip, flip and
one-pixel diagonal shifts of a reflect-padded image (the default), nndl's --tta levels] [--channels-last:
the net and batches in channels_last memory format, where PyTorch's CPU convolutions (oneDNN) are
often faster]. Needs PyTorch (Debian's python3-torch) and
numpy; nndl itself does not."""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HYP = dict(epochs=12, batch=512, lr=0.75, momentum=0.85, weight_decay=0.009, bias_lr_mult=64.0,
           warmup_epochs=1.84, warmup_start=0.2, final=0.07, label_smoothing=0.2, translate=2,
           scale=0.125)


def read_cifar(paths, limit):
    """Records of CIFAR-10 binary files: (N, 3, 32, 32) float32 raw pixels, int64 labels."""
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8).reshape(-1, 3073) for p in paths])[:limit]
    return raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32), raw[:, 0].astype(np.int64)


class Net(nn.Module):
    def __init__(self, widths=(32, 128, 128)):
        super().__init__()
        bn = lambda c: nn.BatchNorm2d(c)  # noqa: E731 (nndl bn defaults: eps 1e-5, running 0.9 / 0.1)
        self.stem = nn.Conv2d(3, 24, 2, padding=0, bias=False)
        self.stem_bn = bn(24)
        layers, c_in = [], 24
        for w in widths:
            layers.append(nn.ModuleList([nn.Conv2d(c_in, w, 3, padding=1, bias=False), bn(w),
                                         nn.Conv2d(w, w, 3, padding=1, bias=False), bn(w)]))
            c_in = w
        self.blocks = nn.ModuleList(layers)
        self.head = nn.Linear(c_in, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):  # --init he: N(0, 2 / fan_in), zero biases
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            if isinstance(m, nn.BatchNorm2d):  # bn(noscale): gamma fixed at 1
                m.weight.requires_grad_(False)

    def forward(self, x):
        x = F.gelu(self.stem_bn(self.stem(x)))
        for conv1, bn1, conv2, bn2 in self.blocks:
            x = F.gelu(bn1(F.max_pool2d(conv1(x), 2)))
            x = F.gelu(bn2(conv2(x)))
        x = torch.amax(x, dim=(2, 3))
        return self.head(x) * HYP["scale"]


def augment(x, gen):
    """Random flip and translation by up to 2 pixels of the reflect-padded images."""
    n, r = x.shape[0], HYP["translate"]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    padded = F.pad(x, (r, r, r, r), mode="reflect")
    dy = torch.randint(0, 2 * r + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * r + 1, (n,), generator=gen)
    rows = (dy.view(-1, 1) + torch.arange(32)).view(n, 1, 32, 1).expand(n, 3, 32, 32 + 2 * r)
    x = padded.gather(2, rows)
    cols = (dx.view(-1, 1) + torch.arange(32)).view(n, 1, 1, 32).expand(n, 3, 32, 32)
    return x.gather(3, cols)


def schedule(t, per_epoch, total):
    warm = min(total, round(HYP["warmup_epochs"] * per_epoch))
    if t < warm:
        return HYP["warmup_start"] + (1 - HYP["warmup_start"]) * t / warm
    p = (t - warm) / (total - warm) if total > warm else 1.0
    return 1.0 - (1.0 - HYP["final"]) * p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/cifar-10-batches-bin")
    ap.add_argument("--epochs", type=int, default=HYP["epochs"])
    ap.add_argument("--num-train", type=int, default=50000)
    ap.add_argument("--num-test", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tta", type=int, default=2, choices=(0, 1, 2))
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    layout = torch.channels_last if a.channels_last else torch.contiguous_format
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    x, y = read_cifar([os.path.join(a.data, "data_batch_%d.bin" % i) for i in range(1, 6)], a.num_train)
    xt, yt = read_cifar([os.path.join(a.data, "test_batch.bin")], a.num_test)
    mean = x.mean(axis=0, keepdims=True)
    x, xt = torch.from_numpy(x - mean), torch.from_numpy(xt - mean)
    y, yt = torch.from_numpy(y), torch.from_numpy(yt)

    net = Net().to(memory_format=layout)
    params = [p for p in net.parameters() if p.requires_grad]
    mult = [1.0 if p.dim() > 1 else HYP["bias_lr_mult"] for p in params]  # weights vs biases / bn beta
    vel = [torch.zeros_like(p) for p in params]
    bs = HYP["batch"]
    per_epoch = max(1, x.shape[0] // bs)
    total = per_epoch * a.epochs
    t0 = time.time()
    it = 0
    for epoch in range(a.epochs):
        net.train()
        order = torch.randperm(x.shape[0], generator=gen)
        for b in range(per_epoch):
            idx = order[b * bs:(b + 1) * bs]
            out = net(augment(x[idx], gen).contiguous(memory_format=layout))
            loss = F.cross_entropy(out, y[idx], label_smoothing=HYP["label_smoothing"])
            net.zero_grad(set_to_none=True)
            loss.backward()
            lr = HYP["lr"] * schedule(it, per_epoch, total)
            mu = HYP["momentum"]
            with torch.no_grad():
                for p, v, m in zip(params, vel, mult):
                    p.mul_(1 - lr * HYP["weight_decay"])  # (lr m) (wd / m)
                    v_prev = v.clone()
                    v.mul_(mu).add_(p.grad, alpha=-lr * m)
                    p.add_(v + mu * (v - v_prev))
            it += 1
        print("epoch %d: loss %.4f, %.1f s" % (epoch + 1, loss.item(), time.time() - t0), flush=True)
    train_s = time.time() - t0
    net.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, xt.shape[0], 1000):
            xb = xt[s:s + 1000]
            padded = F.pad(xb, (1, 1, 1, 1), mode="reflect")
            scores = 0
            for d in ((0, -1, 1) if a.tta >= 2 else (0,)):  # nndl's views (net/model.c, model_tta_views)
                view = padded[:, :, 1 + d:33 + d, 1 + d:33 + d]
                for flip in ((0, 1) if a.tta >= 1 else (0,)):
                    v = view.flip(-1) if flip else view
                    scores = scores + net(v.contiguous(memory_format=layout))
            correct += (scores.argmax(1) == yt[s:s + 1000]).sum().item()
    total_s = time.time() - t0
    print("torch cifar-fast: %d epochs of %d images, train %.1f s, total %.1f s, test acc %.4f (%d / %d)"
          % (a.epochs, x.shape[0], train_s, total_s, correct / xt.shape[0], correct, xt.shape[0]))


if __name__ == "__main__":
    main()
