#!/usr/bin/env python3
"""Writes tests/golden/seed_bn_cnn.bin: an independent PyTorch (float64) evaluation of the seed's
batchnorm CNN (conv - spatial BN - relu - 2x2 max pool - affine - BN - relu - affine - softmax,
L2 0.5*reg*sum(W^2) on weights only), for tests/test_golden.c to compare nndl against.

Run once with Debian's python3-torch (/usr/bin/python3 tests/golden/make_golden.py); the C test
needs no Python. Contents: inputs X, labels y, the initial parameters in nndl's layouts, the loss
and every gradient at those parameters, and the losses before each of 5 Adam steps (lr 1e-3).

File format, little-endian: b"NNDLGOLD", u32 entry count, then per entry: u32 name length,
name, u32 ndim, u32 dims[ndim], float64 values (row-major).
"""
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

N, C, H, W = 8, 3, 16, 16
FILTERS, K, HIDDEN, CLASSES = 8, 3, 20, 10
REG, LR, WEIGHT_SCALE, STEPS = 1e-3, 1e-3, 5e-2, 5
SPEC = f"conv{FILTERS}x{K}-bn-relu-pool2-affine{HIDDEN}-bn-relu-affine{CLASSES}"

rng = np.random.default_rng(231)


def f32(a):
    """Values exactly representable in float32, so nndl's float model sees the same inputs."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


X = f32(rng.standard_normal((N, C, H, W)))
y = rng.integers(0, CLASSES, N)
D = FILTERS * (H // 2) * (W // 2)
init = {  # nndl's layouts: conv (F, C, K, K), affine (D, M)
    "W1": f32(WEIGHT_SCALE * rng.standard_normal((FILTERS, C, K, K))),
    "b1": f32(0.1 * rng.standard_normal(FILTERS)),
    "gamma1": f32(1 + 0.1 * rng.standard_normal(FILTERS)),
    "beta1": f32(0.1 * rng.standard_normal(FILTERS)),
    "W2": f32(WEIGHT_SCALE * rng.standard_normal((D, HIDDEN))),
    "b2": f32(0.1 * rng.standard_normal(HIDDEN)),
    "gamma2": f32(1 + 0.1 * rng.standard_normal(HIDDEN)),
    "beta2": f32(0.1 * rng.standard_normal(HIDDEN)),
    "W3": f32(WEIGHT_SCALE * rng.standard_normal((HIDDEN, CLASSES))),
    "b3": f32(0.1 * rng.standard_normal(CLASSES)),
}
params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in init.items()}
Xt, yt = torch.tensor(X), torch.tensor(y)


def loss_fn(p):
    h = F.conv2d(Xt, p["W1"], p["b1"], stride=1, padding=(K - 1) // 2)
    h = F.batch_norm(h, None, None, p["gamma1"], p["beta1"], training=True, eps=1e-5)
    h = F.max_pool2d(F.relu(h), 2, 2).reshape(N, -1)
    h = h @ p["W2"] + p["b2"]
    h = F.relu(F.batch_norm(h, None, None, p["gamma2"], p["beta2"], training=True, eps=1e-5))
    scores = h @ p["W3"] + p["b3"]
    reg = 0.5 * REG * sum((p[w] ** 2).sum() for w in ("W1", "W2", "W3"))
    return F.cross_entropy(scores, yt) + reg


loss = loss_fn(params)
loss.backward()
grads = {"d" + k: v.grad.detach().clone().numpy() for k, v in params.items()}

opt = torch.optim.Adam(params.values(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
adam_losses = []
for _ in range(STEPS):
    opt.zero_grad()
    step_loss = loss_fn(params)
    adam_losses.append(step_loss.item())
    step_loss.backward()
    opt.step()

entries = [("X", X), ("y", y.astype(np.float64))] + list(init.items())
entries += [("loss", np.array([loss.item()]))] + list(grads.items())
entries += [("adam_losses", np.array(adam_losses))]

out = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/seed_bn_cnn.bin"
with open(out, "wb") as f:
    f.write(b"NNDLGOLD")
    f.write(struct.pack("<I", len(entries)))
    for name, value in entries:
        value = np.ascontiguousarray(value, dtype="<f8")
        f.write(struct.pack("<I", len(name)) + name.encode())
        f.write(struct.pack("<I", value.ndim) + struct.pack(f"<{value.ndim}I", *value.shape))
        f.write(value.tobytes())
print(f"{out}: {SPEC}, N={N}, loss {loss.item():.10f}, adam losses {adam_losses}, torch {torch.__version__}")
