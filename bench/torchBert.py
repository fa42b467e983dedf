"""PyTorch CPU peer for Taskscope's benchmarks: the same BERT shapes (post-LN encoder, exact GELU, pooler,
-10000 padding bias), timed the same way. Reads one JSON request per stdin line and answers one JSON line,
so the TypeScript benchmark can interleave it with the tfjs backends inside one run.

Request: {"op": "forward"|"train", "config": {...HF BERT fields...}, "batch": B, "seq": T, "reps": n, "warmup": w}
Answer:  {"op": ..., "ms": [per-rep milliseconds], "torch": version, "threads": n}
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, H, A, I):
        super().__init__()
        self.A = A
        self.q, self.k, self.v = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.o = nn.Linear(H, H)
        self.ln1 = nn.LayerNorm(H, eps=1e-12)
        self.i = nn.Linear(H, I)
        self.out = nn.Linear(I, H)
        self.ln2 = nn.LayerNorm(H, eps=1e-12)

    def forward(self, h, bias):
        B, T, H = h.shape
        d = H // self.A
        split = lambda x: x.view(B, T, self.A, d).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        ctx = (p @ v).transpose(1, 2).reshape(B, T, H)
        a = self.ln1(self.o(ctx) + h)
        return self.ln2(self.out(F.gelu(self.i(a))) + a)


class Bert(nn.Module):
    def __init__(self, c, n_labels=2):
        super().__init__()
        H = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c["max_position_embeddings"], H)
        self.typ = nn.Embedding(c["type_vocab_size"], H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.layers = nn.ModuleList(Layer(H, c["num_attention_heads"], c["intermediate_size"]) for _ in range(c["num_hidden_layers"]))
        self.pool = nn.Linear(H, H)
        self.cls = nn.Linear(H, n_labels)

    def forward(self, ids, types, mask):
        T = ids.shape[1]
        h = self.ln(self.word(ids) + self.pos(torch.arange(T))[None] + self.typ(types))
        bias = ((1.0 - mask[:, None, None, :].float()) * -10000.0)
        for layer in self.layers:
            h = layer(h, bias)
        return self.cls(torch.tanh(self.pool(h[:, 0])))


def run(req):
    torch.manual_seed(0)
    c, B, T = req["config"], req["batch"], req["seq"]
    model = Bert(c)
    ids = torch.randint(0, c["vocab_size"], (B, T))
    types = torch.zeros(B, T, dtype=torch.long)
    mask = torch.ones(B, T, dtype=torch.long)
    labels = torch.randint(0, 2, (B,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def once():
        if req["op"] == "forward":
            model.eval()
            with torch.no_grad():
                model(ids, types, mask)
        else:
            model.train()
            opt.zero_grad()
            F.cross_entropy(model(ids, types, mask), labels).backward()
            opt.step()

    for _ in range(req.get("warmup", 1)):
        once()
    ms = []
    for _ in range(req.get("reps", 3)):
        t = time.perf_counter()
        once()
        ms.append((time.perf_counter() - t) * 1000)
    return {"op": req["op"], "ms": ms, "torch": torch.__version__, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run(json.loads(line))), flush=True)
