#!/usr/bin/env python3
"""Writes tests/golden/export_torch{,2}.safetensors: the class scores PyTorch gives for
tests/golden/export_model{,2}.safetensors (what `nndl export` writes for tests/test_export.c's two
small models on 3x8x8 inputs: conv4x3-bn-relu-pool2-affine12-bn-relu-dropout0.5-affine5, and
conv4x3(stride=2,nobias)-bn(noscale,eps=0.001)-gelu-res(proj)[conv6x3-relu]-scale0.5-gap-affine5), loaded with
the documented snippet tools/nndl_torch.py and run in float64, on 16 fixed inputs of raw
pixels. tests/test_export.c loads the same file into nndl and compares; no Python at test time.

Run once (needs torch and numpy): python3 tests/golden/make_export_golden.py
Regenerate the model file first, if the export format changes, with
NNDL_WRITE_EXPORT_GOLDEN=1 ./build/test_nndl export.
"""
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import nndl_torch  # noqa: E402

N = 16


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    for model, scores in (("export_model", "export_torch"), ("export_model2", "export_torch2")):
        make(model, scores)


def make(model, out):
    golden = os.path.join(ROOT, "tests", "golden")
    net, meta, mean = nndl_torch.load(os.path.join(golden, model + ".safetensors"))
    c, h, w = (int(v) for v in meta["input_shape"].split(","))
    # whole pixel values (exact in float32), each image with its own brightness and contrast
    rng = np.random.RandomState(0)
    pixels = np.clip(rng.randint(0, 256, (N, c, h, w)) * rng.uniform(0.1, 1, (N, 1, 1, 1))
                     + rng.randint(0, 128, (N, 1, 1, 1)), 0, 255).round().astype(np.float32)
    net = net.double()
    scores = nndl_torch.predict(net, mean.double(), np.float64(pixels)).numpy()
    write_safetensors(os.path.join(golden, out + ".safetensors"), {"input": pixels, "scores": scores})
    print(meta["spec"], "labels:", scores.argmax(1))


if __name__ == "__main__":
    main()
