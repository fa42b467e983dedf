#!/usr/bin/env python3
"""Float64 central finite differences of a multi-task loss, through the float64 reference refbert (tools/refbert, fetched by `npm run assets`; see tests/fixtures/README.md).

stdin JSON: {
  "refbert": dir of refbert.py, "model_dir": HF folder,
  "heads": {"<task>": {"kind": "classification"|"regression", "W": [out][in], "b": [out]}},
  "batches": {"<task>": {"input_ids", "token_type_ids", "attention_mask": [B][T], "labels": [B]}},
  "coords": {"<tensor name>": [flat indices in HF [out, in] layout]},
  "step": h
}
Tensor names: HF encoder names without "bert." or "heads.<task>.<classifier|regressor>.<weight|bias>".
Loss = sum over tasks of that task's mean loss (cross-entropy or squared error).
stdout JSON: {"loss": L, "grads": {"<name>": [dL/dtheta at each index]}}.
"""
import json
import sys

import numpy as np

req = json.load(sys.stdin)
sys.path.insert(0, req["refbert"])
import refbert  # noqa: E402

cfg, P = refbert.load_checkpoint(req["model_dir"])
tensors = refbert.params_to_tensors(P, prefix="")  # references to P's own arrays
heads = {t: {"kind": h["kind"], "W": np.asarray(h["W"], np.float64), "b": np.asarray(h["b"], np.float64)} for t, h in req["heads"].items()}
for t, h in heads.items():
    layer = "classifier" if h["kind"] == "classification" else "regressor"
    tensors[f"heads.{t}.{layer}.weight"] = h["W"]
    tensors[f"heads.{t}.{layer}.bias"] = h["b"]


def total_loss():
    loss = 0.0
    outs = {}  # tasks given the same inputs share one forward pass
    for t, b in req["batches"].items():
        h = heads[t]
        key = json.dumps([b["input_ids"], b["token_type_ids"], b["attention_mask"]])
        if key not in outs:
            outs[key] = refbert.forward(P, cfg, b["input_ids"], b["token_type_ids"], b["attention_mask"])
        out = outs[key]
        if h["kind"] == "classification":
            loss += refbert.cross_entropy(refbert.classification_logits(out["pooled"], h["W"], h["b"]), np.asarray(b["labels"], int))
        else:
            loss += refbert.mse(refbert.regression_output(out["pooled"], h["W"], h["b"]), b["labels"])
    return float(loss)


step = float(req.get("step", 1e-5))
grads = {}
for name, idxs in req["coords"].items():
    if name not in tensors:
        sys.exit(f"refbertGrads: unknown tensor {name}")
    arr = tensors[name]
    vals = []
    for i in idxs:
        orig = arr.flat[i]
        arr.flat[i] = orig + step
        lp = total_loss()
        arr.flat[i] = orig - step
        lm = total_loss()
        arr.flat[i] = orig
        vals.append((lp - lm) / (2.0 * step))
    grads[name] = vals
json.dump({"loss": total_loss(), "grads": grads}, sys.stdout)
