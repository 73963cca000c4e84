"""nndl_torch.py — load a file written by `nndl export` into the matching PyTorch module.

    import nndl_torch
    net, meta, mean = nndl_torch.load("model.safetensors")   # eval mode, float32
    scores = nndl_torch.predict(net, mean, pixels)           # pixels: (N, C, H, W), 0..255
    labels = scores.argmax(1)                                # the labels `nndl eval` counts
    names = json.loads(meta["classes"]) if "classes" in meta else None   # label -> class name

The module is built from the spec in the file's metadata: one entry per spec layer in
`net.layers`, each a ModuleDict holding one PyTorch module under the name the file uses
(conv -> Conv2d with same padding, bn -> BatchNorm2d/1d with eps 1e-5, pool<k> -> MaxPool2d(k),
affine<M> -> Linear after flattening (C,H,W) in that order, relu, dropout<p> -> Dropout(1 - p),
since nndl's p is the probability of keeping). Its state_dict names are the file's
(layers.0.conv.weight, layers.1.bn.running_var, ...), so load_state_dict takes the tensors as
they are. running_var holds the biased variance nndl tracks; in eval mode BatchNorm only divides
by sqrt(running_var + eps), so the predictions are nndl's. Reading needs only json and numpy
(no `safetensors` package). See docs/export.md.
"""
import json
import re
import struct

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    """The tensors (name -> float32 torch tensor) and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        if t["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {t['dtype']}, expected F32")
        values = np.frombuffer(data[8 + n + begin:8 + n + end], dtype="<f4").reshape(t["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors, meta


class NndlNet(nn.Module):
    """The network of an nndl spec (e.g. conv64x3-bn-relu-pool2-affine500-bn-relu-affine10)."""

    def __init__(self, spec, input_shape):
        super().__init__()
        c, h, w = input_shape
        spatial = True
        self.layers = nn.ModuleList()
        for token in spec.split("-"):
            if m := re.fullmatch(r"conv(\d+)x(\d+)", token):
                f, k = int(m[1]), int(m[2])
                layer, c = {"conv": nn.Conv2d(c, f, k, padding=(k - 1) // 2)}, f
            elif m := re.fullmatch(r"pool(\d+)", token):
                k = int(m[1])
                layer, h, w = {"pool": nn.MaxPool2d(k)}, h // k, w // k
            elif m := re.fullmatch(r"(?:affine|fc)(\d+)", token):
                d = c * h * w if spatial else c
                layer, c, h, w, spatial = {"linear": nn.Linear(d, int(m[1]))}, int(m[1]), 1, 1, False
            elif token == "relu":
                layer = {"relu": nn.ReLU()}
            elif token == "bn":
                layer = {"bn": (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(c, eps=1e-5)}
            elif m := re.fullmatch(r"dropout([0-9.eE+-]+)", token):
                layer = {"dropout": nn.Dropout(1 - float(m[1]))}
            else:
                raise ValueError(f"unknown layer '{token}' in spec {spec}")
            self.layers.append(nn.ModuleDict(layer))

    def forward(self, x):
        for layer in self.layers:
            ((kind, module),) = layer.items()
            x = module(x.flatten(1) if kind == "linear" else x)
        return x


def load(path):
    """(module in eval mode, metadata, mean image or None) from an `nndl export` file."""
    tensors, meta = read_safetensors(path)
    shape = tuple(int(v) for v in meta["input_shape"].split(","))
    net = NndlNet(meta["spec"], shape)
    mean = tensors.pop("preprocess.mean", None)
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    # BatchNorm's num_batches_tracked counters are not in the file (eval mode does not use them)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return net.eval(), meta, mean


def predict(net, mean, pixels):
    """Class scores for raw pixels (N, C, H, W) in 0..255, preprocessed as nndl does."""
    x = torch.as_tensor(pixels, dtype=next(net.parameters()).dtype)  # float32 unless net.double()
    if mean is not None:
        x = x - mean
    with torch.no_grad():
        return net(x)


if __name__ == "__main__":
    import sys
    net, meta, mean = load(sys.argv[1])
    print(meta["spec"])
    print(net)
