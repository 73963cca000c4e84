"""nndl_torch.py — load a file written by `nndl export` into the matching PyTorch module.

    import nndl_torch
    net, meta, mean = nndl_torch.load("model.safetensors")   # eval mode, float32
    scores = nndl_torch.predict(net, mean, pixels)           # pixels: (N, C, H, W), 0..255
    labels = scores.argmax(1)                                # the labels `nndl eval` counts
    names = json.loads(meta["classes"]) if "classes" in meta else None   # label -> class name

The module is built from the spec in the file's metadata: one entry per spec layer in
`net.layers`, each a ModuleDict holding one PyTorch module under the name the file uses
(conv -> Conv2d with its stride, padding and bias options, bn -> BatchNorm2d/1d with its eps,
pool<k> -> MaxPool2d(k), affine<M> -> Linear after flattening (C,H,W) in that order, relu, gelu
(exact), gap / gmp -> adaptive average / max pooling to 1x1, scale<c>, dropout<p> -> Dropout(1 - p),
since nndl's p is the probability of keeping; res(proj)[...] blocks add their input, or its 1x1
projection, at the closing entry). Its state_dict names are the file's
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


def _tokens(spec):
    """The spec's layers: split at '-' outside (options) and after '[' / before ']' of res blocks."""
    out, cur, depth = [], "", 0
    for ch in spec:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if depth == 0 and ch in "-[]":
            if ch == "[":
                out.append(cur + "[")  # res(...)[ opens a block
            elif cur:
                out.append(cur)
            if ch == "]":
                out.append("]")
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _options(text):
    """'(stride=2,nobias)' -> {'stride': '2', 'nobias': True}."""
    opts = {}
    for item in filter(None, (text or "").strip("()").split(",")):
        key, _, value = item.partition("=")
        opts[key] = value if value else True
    return opts


class _Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class NndlNet(nn.Module):
    """The network of an nndl spec (e.g. conv64x3-bn-relu-pool2-affine500-bn-relu-affine10)."""

    def __init__(self, spec, input_shape):
        super().__init__()
        c, h, w = input_shape
        spatial, blocks = True, []  # blocks: the (c, h, w) at each open res[
        self.layers = nn.ModuleList()
        self.kinds = []
        for token in _tokens(spec):
            kind = token
            if m := re.fullmatch(r"conv(\d+)x(\d+)(\(.*\))?", token):
                f, k, o = int(m[1]), int(m[2]), _options(m[3])
                s_, p_ = int(o.get("stride", 1)), int(o.get("pad", (k - 1) // 2))
                layer = {"conv": nn.Conv2d(c, f, k, stride=s_, padding=p_, bias="nobias" not in o)}
                c, h, w, kind = f, (h + 2 * p_ - k) // s_ + 1, (w + 2 * p_ - k) // s_ + 1, "conv"
            elif m := re.fullmatch(r"pool(\d+)", token):
                k = int(m[1])
                layer, h, w, kind = {"pool": nn.MaxPool2d(k)}, h // k, w // k, "pool"
            elif m := re.fullmatch(r"(?:affine|fc)(\d+)", token):
                d = c * h * w if spatial else c
                layer, c, h, w, spatial, kind = {"linear": nn.Linear(d, int(m[1]))}, int(m[1]), 1, 1, False, "linear"
            elif token in ("relu", "gelu"):
                layer = {token: nn.ReLU() if token == "relu" else nn.GELU()}  # GELU: the exact erf form
            elif token in ("gap", "gmp"):
                layer = {token: nn.AdaptiveAvgPool2d(1) if token == "gap" else nn.AdaptiveMaxPool2d(1)}
                h, w, spatial = 1, 1, False
            elif m := re.fullmatch(r"bn(\(.*\))?", token):
                o = _options(m[1])
                bn = (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(c, eps=float(o.get("eps", 1e-5)))
                if "noscale" in o:  # gamma fixed at 1: not in the file
                    bn.weight.requires_grad_(False)
                layer, kind = {"bn": bn}, "bn"
            elif m := re.fullmatch(r"dropout([0-9.eE+-]+)", token):
                layer, kind = {"dropout": nn.Dropout(1 - float(m[1]))}, "dropout"
            elif m := re.fullmatch(r"scale([0-9.eE+-]+)", token):
                layer, kind = {"scale": _Scale(float(m[1]))}, "scale"
            elif m := re.fullmatch(r"res(\(.*\))?\[", token):
                blocks.append((c, h, w, "proj" in _options(m[1])))
                layer, kind = {}, "res"
            elif token == "]":
                bc, bh, bw, proj = blocks.pop()
                layer, kind = {}, "end"
                if proj and (bc, bh, bw) != (c, h, w):  # nndl's stride: the smallest that fits
                    s_ = next(s for s in range(1, bh + 1) if (bh - 1) // s + 1 == h and (bw - 1) // s + 1 == w)
                    layer = {"proj": nn.Conv2d(bc, c, 1, stride=s_, bias=False)}
            else:
                raise ValueError(f"unknown layer '{token}' in spec {spec}")
            self.layers.append(nn.ModuleDict(layer))
            self.kinds.append(kind)

    def forward(self, x):
        skips = []
        for kind, layer in zip(self.kinds, self.layers):
            if kind == "res":
                skips.append(x)
            elif kind == "end":
                skip = skips.pop()
                x = x + (layer["proj"](skip) if "proj" in layer else skip)
            else:
                ((name, module),) = layer.items()
                x = module(x.flatten(1) if name == "linear" else x)
        return x


def load(path):
    """(module in eval mode, metadata, mean image or None) from an `nndl export` file."""
    tensors, meta = read_safetensors(path)
    shape = tuple(int(v) for v in meta["input_shape"].split(","))
    net = NndlNet(meta["spec"], shape)
    mean = tensors.pop("preprocess.mean", None)
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    # BatchNorm's num_batches_tracked counters are not in the file (eval mode does not use them)
    # and a bn(noscale) layer's weight, fixed at 1 (its initial value)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")
               and not (k.endswith(".bn.weight") and not net.get_parameter(k).requires_grad)]
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
