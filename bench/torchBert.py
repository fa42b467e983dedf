"""PyTorch CPU peer for Taskscope's benchmarks: the same BERT shapes (post-LN encoder, exact GELU, pooler,
-10000 padding bias), timed the same way. Reads one JSON request per stdin line and answers one JSON line,
so the TypeScript benchmark can interleave it with the tfjs backends inside one run.

Requests (each may add "threads": n to run with torch.set_num_threads(n); the default is restored after):
  {"op": "forward"|"train", "config": {...HF BERT fields...}, "batch": B, "seq": T, "reps": n, "warmup": w}
      train also takes "optimizer": "adamw"|"adamax"|"adam", "weight_decay", "global_clip", "labels" (classes):
      Taskscope's trainer step (dropout, cross-entropy, clip_grad_norm_, optimiser step).
  {"op": "matmul", "n": N, "reps": n, "warmup": w}: an N×N by N×N float32 matmul (the machine's matmul peak).
  {"op": "info"}: version, default thread count, CPU count, the BLAS torch was built with and the BLAS library
      actually loaded (Debian's python3-torch calls whatever libblas.so.3 points at: reference BLAS or OpenBLAS).
  forward/train may add "weights": path of an HF model.safetensors (names with or without "bert.") to load
      instead of a random init.
  {"op": "outputs", "config", "weights", "ids", "types", "mask"}: last hidden state and pooled output (no head)
      of the loaded weights on those inputs, to check that every peer computes the same function.
  {"op": "export_onnx", "config", "weights", "path"}: writes the encoder (inputs input_ids, token_type_ids,
      attention_mask, int64, dynamic batch and sequence; outputs last_hidden_state, pooler_output) as ONNX.
Answer:  {"op": ..., "ms": [per-rep milliseconds], "torch": version, "threads": n}
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensorsF32 import read_safetensors


class Layer(nn.Module):
    def __init__(self, H, A, I, p_hidden=0.0, p_attn=0.0):
        super().__init__()
        self.A = A
        # Dropout where BERT (and Taskscope's encoder) has it; inactive under model.eval() (the forward bench).
        self.drop_hidden, self.drop_attn = nn.Dropout(p_hidden), nn.Dropout(p_attn)
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
        p = self.drop_attn(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1))
        ctx = (p @ v).transpose(1, 2).reshape(B, T, H)
        a = self.ln1(self.drop_hidden(self.o(ctx)) + h)
        return self.ln2(self.drop_hidden(self.out(F.gelu(self.i(a)))) + a)


class Bert(nn.Module):
    def __init__(self, c, n_labels=2, p_task=0.1):
        super().__init__()
        H = c["hidden_size"]
        p_hidden, p_attn = c.get("hidden_dropout_prob", 0.0), c.get("attention_probs_dropout_prob", 0.0)
        self.drop_emb, self.drop_task = nn.Dropout(p_hidden), nn.Dropout(p_task)
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c["max_position_embeddings"], H)
        self.typ = nn.Embedding(c["type_vocab_size"], H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.layers = nn.ModuleList(Layer(H, c["num_attention_heads"], c["intermediate_size"], p_hidden, p_attn) for _ in range(c["num_hidden_layers"]))
        self.pool = nn.Linear(H, H)
        self.cls = nn.Linear(H, n_labels)

    def encode(self, ids, types, mask):
        T = ids.shape[1]
        h = self.drop_emb(self.ln(self.word(ids) + self.pos(torch.arange(T))[None] + self.typ(types)))
        bias = ((1.0 - mask[:, None, None, :].float()) * -10000.0)
        for layer in self.layers:
            h = layer(h, bias)
        return h, torch.tanh(self.pool(h[:, 0]))

    def forward(self, ids, types, mask):
        return self.cls(self.drop_task(self.encode(ids, types, mask)[1]))


class Encoder(nn.Module):
    """The encoder alone (last hidden state, pooled output), the graph exported to ONNX."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, ids, types, mask):
        return self.bert.encode(ids, types, mask)


HF_TO_PEER = [("embeddings.word_embeddings", "word"), ("embeddings.position_embeddings", "pos"),
              ("embeddings.token_type_embeddings", "typ"), ("embeddings.LayerNorm", "ln"),
              ("attention.self.query", "q"), ("attention.self.key", "k"), ("attention.self.value", "v"),
              ("attention.output.dense", "o"), ("attention.output.LayerNorm", "ln1"), ("intermediate.dense", "i"),
              ("output.dense", "out"), ("output.LayerNorm", "ln2"), ("encoder.layer.", "layers."), ("pooler.dense", "pool")]


def load_weights(model, path):
    state = {}
    for name, t in read_safetensors(path).items():
        peer = name[len("bert."):] if name.startswith("bert.") else name
        for hf, ours in HF_TO_PEER:
            peer = peer.replace(hf, ours)
        state[peer] = t
    missing = [k for k in model.state_dict() if not k.startswith("cls.") and k not in state]
    if missing:
        raise ValueError(f"{path}: no tensor for {missing[:3]}")
    model.load_state_dict(state, strict=False)


def make_optimizer(model, req):
    kind, wd = req.get("optimizer", "adamw"), req.get("weight_decay", 0.01)
    # Taskscope's decayFilter 'no-bias-norm': no weight decay on biases and LayerNorm parameters.
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or ".ln" in n or n.startswith("ln"))]
    rest = [p for n, p in model.named_parameters() if n.endswith("bias") or ".ln" in n or n.startswith("ln")]
    groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=1e-4, eps=1e-6)
    if kind == "adamax":
        return torch.optim.Adamax(groups, lr=1e-4, eps=1e-6)
    return torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-6)


def timed(once, req):
    for _ in range(req.get("warmup", 1)):
        once()
    ms = []
    for _ in range(req.get("reps", 3)):
        t = time.perf_counter()
        once()
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def step_function(req, model, opt, inputs, labels, clip, sync=lambda: None):
    """One forward pass (no grad) or one train step (cross-entropy, clip when clip > 0, optimizer step, loss read
    back as the trainer does every step), then sync() (the CUDA peer waits for the device there)."""
    ids, types, mask = inputs

    def once():
        if req["op"] == "forward":
            model.eval()
            with torch.no_grad():
                model(ids, types, mask)
        else:
            model.train()
            opt.zero_grad()
            loss = F.cross_entropy(model(ids, types, mask), labels)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            loss.item()
        sync()

    return once


def run_model(req):
    torch.manual_seed(0)
    c, B, T = req["config"], req["batch"], req["seq"]
    n_labels = req.get("labels", 2)
    model = Bert(c, n_labels)
    if req.get("weights"):
        load_weights(model, req["weights"])
    ids = torch.randint(0, c["vocab_size"], (B, T))
    types = torch.zeros(B, T, dtype=torch.long)
    mask = torch.ones(B, T, dtype=torch.long)
    labels = torch.randint(0, n_labels, (B,))
    opt = make_optimizer(model, req) if req["op"] == "train" else None
    return timed(step_function(req, model, opt, (ids, types, mask), labels, req.get("global_clip", 1.0)), req)


def peer_model(req):
    model = Bert(req["config"])
    load_weights(model, req["weights"])
    return model.eval()


def run_outputs(req):
    model = peer_model(req)
    ids, types, mask = (torch.tensor(req[k], dtype=torch.long) for k in ("ids", "types", "mask"))
    with torch.no_grad():
        h, pooled = model.encode(ids, types, mask)
    return {"op": "outputs", "ms": [], "torch": torch.__version__, "threads": torch.get_num_threads(),
            "last_hidden_state": h.flatten().tolist(), "pooled": pooled.flatten().tolist()}


def run_export_onnx(req):
    enc = Encoder(peer_model(req)).eval()
    B, T = 2, 16
    ids = torch.ones(B, T, dtype=torch.long)
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(enc, (ids, torch.zeros_like(ids), torch.ones_like(ids)), req["path"], opset_version=14,
                      input_names=["input_ids", "token_type_ids", "attention_mask"], output_names=["last_hidden_state", "pooler_output"],
                      dynamic_axes={"input_ids": axes, "token_type_ids": axes, "attention_mask": axes, "last_hidden_state": axes, "pooler_output": {0: "batch"}})
    return {"op": "export_onnx", "ms": [], "torch": torch.__version__, "threads": torch.get_num_threads(), "path": req["path"]}


def loaded_blas():
    """The BLAS shared object this process has mapped (Linux): names the reference BLAS or OpenBLAS."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none mapped"
    except OSError:
        return "unknown"


def run_matmul(req):
    torch.manual_seed(0)
    n = req["n"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    return timed(lambda: torch.mm(a, b), req)


DEFAULT_THREADS = torch.get_num_threads()


def run(req):
    if req["op"] == "info":
        blas = next((f.split("=", 1)[1] for f in torch.__config__.show().replace(",", " ").split() if f.startswith("BLAS_INFO=")), "unknown")
        torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # maps the BLAS library
        return {"op": "info", "ms": [], "torch": torch.__version__, "threads": DEFAULT_THREADS, "cpus": os.cpu_count(), "blas": blas,
                "blas_loaded": loaded_blas()}
    torch.set_num_threads(req.get("threads") or DEFAULT_THREADS)
    try:
        if req["op"] == "outputs":
            return run_outputs(req)
        if req["op"] == "export_onnx":
            return run_export_onnx(req)
        ms = run_matmul(req) if req["op"] == "matmul" else run_model(req)
        return {"op": req["op"], "ms": ms, "torch": torch.__version__, "threads": torch.get_num_threads()}
    finally:
        torch.set_num_threads(DEFAULT_THREADS)


if __name__ == "__main__":
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run(json.loads(line))), flush=True)
