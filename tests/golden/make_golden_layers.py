#!/usr/bin/env python3
"""Writes tests/golden/new_layers.bin: PyTorch (float64) evaluations of two small nets built of the
layer kinds of issue #9 — convolution options (unpadded even kernel, stride, no bias), batchnorm
options (no scale, momentum, eps), exact GELU, residual blocks with identity and 1x1-projection
skips, global average and global max pooling, a constant scale of the scores — for
tests/test_golden.c to compare nndl against.

Run once with Debian's python3-torch (/usr/bin/python3 tests/golden/make_golden_layers.py); the C
test needs no Python. Per case (entry names prefixed "<case>/"): inputs X, labels y, the initial
parameters in nndl's layouts and names, the loss (softmax + 0.5*reg*sum(W^2) over conv, affine
and projection weights) and every gradient at those parameters, and the running mean of the
bn(momentum=...) layer after that one train-mode forward pass (nndl's running = m * running +
(1 - m) * batch is PyTorch's with momentum 1 - m).

File format as make_golden.py: little-endian b"NNDLGOLD", u32 entry count, then per entry: u32
name length, name, u32 ndim, u32 dims[ndim], float64 values (row-major).
"""
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

N, CLASSES, REG = 8, 10, 1e-3
rng = np.random.default_rng(9)


def f32(a):
    """Values exactly representable in float32, so nndl's float model sees the same inputs."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def conv_w(f, c, k):
    return f32(rng.standard_normal((f, c, k, k)) * np.sqrt(2.0 / (c * k * k)))


def vec(n, centre=0.0):
    return f32(centre + 0.1 * rng.standard_normal(n))


def bn(h, p, gamma, beta, eps=1e-5, running=None, momentum=0.9):
    g = p[gamma] if gamma else None
    return F.batch_norm(h, running, None if running is None else torch.ones_like(running), g, p[beta],
                        training=True, momentum=1 - momentum, eps=eps)


# Case res_gap: 3x13x13 inputs.
SPEC_GAP = ("conv8x2(pad=0)-bn(noscale)-gelu-res[conv8x3(nobias)-bn-relu-conv8x3]-"
            "res(proj)[conv12x3(stride=2,nobias)-bn(momentum=0.6,eps=0.001)-gelu]-gap-affine10-scale0.5")


def init_gap():
    return {
        "W1": conv_w(8, 3, 2), "b1": vec(8), "beta1": vec(8),
        "W2": conv_w(8, 8, 3), "gamma2": vec(8, 1), "beta2": vec(8),
        "W3": conv_w(8, 8, 3), "b3": vec(8),
        "W4": conv_w(12, 8, 3), "gamma4": vec(12, 1), "beta4": vec(12),
        "Wproj5": f32(rng.standard_normal((12, 8)) * np.sqrt(2.0 / 8)),
        "W6": f32(rng.standard_normal((12, CLASSES)) * np.sqrt(2.0 / 12)), "b6": vec(CLASSES),
    }


def forward_gap(p, X, extras):
    h = F.conv2d(X, p["W1"], p["b1"], stride=1, padding=0)
    h = F.gelu(bn(h, p, None, "beta1"))
    skip = h
    r = F.relu(bn(F.conv2d(h, p["W2"], None, padding=1), p, "gamma2", "beta2"))
    h = F.conv2d(r, p["W3"], p["b3"], padding=1) + skip
    skip = F.conv2d(h, p["Wproj5"].reshape(12, 8, 1, 1), None, stride=2)
    running = torch.zeros(12, dtype=torch.float64)
    r = bn(F.conv2d(h, p["W4"], None, stride=2, padding=1), p, "gamma4", "beta4", eps=1e-3, running=running,
           momentum=0.6)
    extras["runmean_momentum"] = running
    h = F.gelu(r) + skip
    h = h.mean(dim=(2, 3))
    return 0.5 * (h @ p["W6"] + p["b6"])


# Case res_gmp: 3x12x12 inputs.
SPEC_GMP = "conv8x3(stride=2)-gelu-[res[conv8x3-bn-gelu]]x2-gmp-affine10"


def init_gmp():
    p = {"W1": conv_w(8, 3, 3), "b1": vec(8)}
    for k in (2, 3):
        p.update({f"W{k}": conv_w(8, 8, 3), f"b{k}": vec(8), f"gamma{k}": vec(8, 1), f"beta{k}": vec(8)})
    p.update({"W4": f32(rng.standard_normal((8, CLASSES)) * np.sqrt(2.0 / 8)), "b4": vec(CLASSES)})
    return p


def forward_gmp(p, X, extras):
    h = F.gelu(F.conv2d(X, p["W1"], p["b1"], stride=2, padding=1))
    for k in (2, 3):
        h = h + F.gelu(bn(F.conv2d(h, p[f"W{k}"], p[f"b{k}"], padding=1), p, f"gamma{k}", f"beta{k}"))
    h = h.amax(dim=(2, 3))
    return h @ p["W4"] + p["b4"]


def case(name, spec, hw, init, forward):
    X = f32(rng.standard_normal((N, 3, hw, hw)))
    y = rng.integers(0, CLASSES, N)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    extras = {}
    scores = forward(params, torch.tensor(X), extras)
    reg = 0.5 * REG * sum((v ** 2).sum() for k, v in params.items() if k.startswith("W"))
    loss = F.cross_entropy(scores, torch.tensor(y)) + reg
    loss.backward()
    entries = [("X", X), ("y", y.astype(np.float64))] + list(init.items()) + [("loss", np.array([loss.item()]))]
    entries += [("d" + k, v.grad.numpy()) for k, v in params.items()]
    entries += [(k, v.detach().numpy()) for k, v in extras.items()]
    print(f"{name}: {spec}, N={N}, loss {loss.item():.10f}")
    return [(f"{name}/{k}", v) for k, v in entries]


entries = case("res_gap", SPEC_GAP, 13, init_gap(), forward_gap)
entries += case("res_gmp", SPEC_GMP, 12, init_gmp(), forward_gmp)

out = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/new_layers.bin"
with open(out, "wb") as f:
    f.write(b"NNDLGOLD")
    f.write(struct.pack("<I", len(entries)))
    for name, value in entries:
        value = np.ascontiguousarray(value, dtype="<f8")
        f.write(struct.pack("<I", len(name)) + name.encode())
        f.write(struct.pack("<I", value.ndim) + struct.pack(f"<{value.ndim}I", *value.shape))
        f.write(value.tobytes())
print(f"{out}: {len(entries)} entries, torch {torch.__version__}")
