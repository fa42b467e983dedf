"""ONNX export of a fixture BERT checkpoint (HF folder with config.json + model.safetensors) for the
onnxruntime-web peer of bench/browserBench.ts: the encoder's last hidden state [B, T, H] from input_ids,
token_type_ids and attention_mask (int64, dynamic batch and sequence), with BERT's exact erf GELU and the
-10000 padding bias, as in Devlin et al. 2019 / the original google-research/bert code. Uses only torch
(Debian's python3-torch), reading safetensors by hand.

  python3 bench/browserExportOnnx.py <checkpoint folder> <out.onnx>
"""
import json
import math
import sys

import torch
import torch.nn as nn
from safetensorsF32 import read_safetensors


class Encoder(nn.Module):
    def __init__(self, c, w):
        super().__init__()
        self.c = c
        self.w = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v, requires_grad=False) for k, v in w.items()})

    def p(self, name):
        return self.w[name.replace(".", "__")]

    def dense(self, x, name):
        return x @ self.p(f"{name}.weight").t() + self.p(f"{name}.bias")

    def ln(self, x, name):
        return nn.functional.layer_norm(x, (self.c["hidden_size"],), self.p(f"{name}.weight"), self.p(f"{name}.bias"), eps=self.c.get("layer_norm_eps", 1e-12))

    def forward(self, input_ids, token_type_ids, attention_mask):
        c = self.c
        B, T = input_ids.shape
        H, A = c["hidden_size"], c["num_attention_heads"]
        d = H // A
        pos = torch.arange(T, device=input_ids.device)
        h = self.p("embeddings.word_embeddings.weight")[input_ids] + self.p("embeddings.position_embeddings.weight")[pos][None] + self.p("embeddings.token_type_embeddings.weight")[token_type_ids]
        h = self.ln(h, "embeddings.LayerNorm")
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for i in range(c["num_hidden_layers"]):
            L = f"encoder.layer.{i}"
            split = lambda x: x.reshape(B, T, A, d).transpose(1, 2)
            q, k, v = (split(self.dense(h, f"{L}.attention.self.{n}")) for n in ("query", "key", "value"))
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
            ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
            a = self.ln(self.dense(ctx, f"{L}.attention.output.dense") + h, f"{L}.attention.output.LayerNorm")
            inter = self.dense(a, f"{L}.intermediate.dense")
            inter = 0.5 * inter * (1.0 + torch.erf(inter / math.sqrt(2.0)))
            h = self.ln(self.dense(inter, f"{L}.output.dense") + a, f"{L}.output.LayerNorm")
        return h


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    folder, out = sys.argv[1], sys.argv[2]
    with open(f"{folder}/config.json") as f:
        c = json.load(f)
    if c.get("hidden_act", "gelu") != "gelu":
        raise SystemExit(f"{folder}/config.json: hidden_act {c['hidden_act']!r}; this export writes the exact erf GELU only")
    weights = {name.removeprefix("bert."): t for name, t in read_safetensors(f"{folder}/model.safetensors").items()}
    model = Encoder(c, weights).eval()
    B, T = 2, 16
    ids = torch.randint(1000, c["vocab_size"], (B, T))
    types = torch.zeros(B, T, dtype=torch.long)
    mask = torch.ones(B, T, dtype=torch.long)
    dyn = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(model, (ids, types, mask), out, input_names=["input_ids", "token_type_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes={"input_ids": dyn, "token_type_ids": dyn, "attention_mask": dyn, "last_hidden_state": dyn},
                          opset_version=14, do_constant_folding=True)
    print(json.dumps({"onnx": out, "torch": torch.__version__, "layers": c["num_hidden_layers"], "hidden": c["hidden_size"]}))


if __name__ == "__main__":
    main()
