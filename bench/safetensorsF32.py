"""The F32 safetensors reader of the bench's PyTorch scripts (torchBert.py, browserExportOnnx.py): the fixture
checkpoints are float32 only, so any other dtype is refused with the file and the tensor named.
"""
import json
import struct

import numpy as np
import torch


def read_safetensors(path):
    """Every tensor of the file by its stored name, as a float32 torch tensor that owns its memory."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"]).copy())
    return out
