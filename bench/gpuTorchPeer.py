"""PyTorch CUDA peer for bench/gpuBench.ts: the model of bench/torchBert.py (same BERT shapes, dropout,
cross-entropy, clip, AdamW) timed on the GPU with torch.cuda.synchronize() around every step. Reads one JSON
request on stdin ({"op": "forward"|"train", "config": {...}, "batch", "seq", "reps", "warmup"}) and prints one
JSON answer; without CUDA it answers {"cuda": false, "why": ...} so the bench can say so.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torchBert import Bert, make_optimizer, step_function, timed  # noqa: E402


def main():
    req = json.loads(sys.stdin.readline())
    if not torch.cuda.is_available():
        print(json.dumps({"cuda": False, "why": f"torch {torch.__version__}: torch.cuda.is_available() is False"}))
        return
    dev = torch.device("cuda")
    torch.manual_seed(0)
    c, B, T = req["config"], req["batch"], req["seq"]
    model = Bert(c, 2).to(dev)
    ids = torch.randint(1000, c["vocab_size"], (B, T), device=dev)
    types = torch.zeros(B, T, dtype=torch.long, device=dev)
    mask = torch.ones(B, T, dtype=torch.long, device=dev)
    labels = torch.randint(0, 2, (B,), device=dev)
    opt = make_optimizer(model, req) if req["op"] == "train" else None

    ms = timed(step_function(req, model, opt, (ids, types, mask), labels, 1.0, torch.cuda.synchronize), req)
    print(json.dumps({"cuda": True, "device": torch.cuda.get_device_name(0), "torch": torch.__version__, "ms": ms}))


if __name__ == "__main__":
    main()
