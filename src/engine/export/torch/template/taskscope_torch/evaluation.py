"""Taskscope's tokenized rows as batches (padded to their longest row as its batch reader pads them), the metrics
(src/engine/metrics: dataset-level, 0-1 scale), evaluation and the mask head-importance measure."""
import json
import math

import torch
import torch.nn.functional as F

from .heads import per_example_loss, ranking_targets

def read_jsonl(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise ValueError(f'{path}:{n}: not valid JSON ({e})')
    return rows


def make_batch(rows, pad_id, device):
    T = max(len(r['ids']) for r in rows)
    B = len(rows)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r['ids'])
        ids[i, :n] = torch.tensor(r['ids'], dtype=torch.long)
        types[i, r['segmentA']:n] = 1
        mask[i, :n] = 1
    labels = torch.tensor([float('nan') if r['label'] is None else r['label'] for r in rows], dtype=torch.float32)
    return ids.to(device), types.to(device), mask.to(device), labels.to(device)


def batch_targets(kind, labels):
    return ranking_targets(labels) if kind == 'ranking' else labels


def rankdata(x):
    order = sorted(range(len(x)), key=lambda i: (x[i], i))
    ranks = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    den = math.sqrt(sxx * syy)
    return float('nan') if den == 0 else max(-1.0, min(1.0, sxy / den))


def mcc(p, y):
    n = len(p)
    pc, tc = {}, {}
    correct = 0
    for a, b in zip(p, y):
        pc[a] = pc.get(a, 0) + 1
        tc[b] = tc.get(b, 0) + 1
        correct += a == b
    t_dot_p = sum(t * pc.get(c, 0) for c, t in tc.items())
    p_dot_p = sum(v * v for v in pc.values())
    t_dot_t = sum(v * v for v in tc.values())
    den = (n * n - t_dot_t) * (n * n - p_dot_p)
    return 0.0 if den == 0 else (correct * n - t_dot_p) / math.sqrt(den)


def f1(p, y):
    tp = sum(1 for a, b in zip(p, y) if a == 1 and b == 1)
    fp = sum(1 for a, b in zip(p, y) if a == 1 and b != 1)
    fn = sum(1 for a, b in zip(p, y) if a != 1 and b == 1)
    den = 2 * tp + fp + fn
    return 0.0 if den == 0 else 2 * tp / den


def metric(name, preds, scores, labels):
    if len(labels) == 0:
        return float('nan')
    if name == 'acc':
        return sum(1 for a, b in zip(preds, labels) if a == b) / len(labels)
    if name == 'f1':
        return f1(preds, labels)
    if name == 'mcc':
        return mcc(preds, labels)
    if name == 'pearson':
        return pearson(scores, labels)
    if name == 'spearman':
        return pearson(rankdata(scores), rankdata(labels))
    raise ValueError(f'metric {name} is not in the exported trainer')


@torch.no_grad()
def predict(model, idx, kind, rows, batch_size, pad_id, device):
    """Class ids (argmax), scores (softmax probabilities row-major, or the regression / ranking outputs), labels and the
    summed loss of `rows`, as Taskscope's predictSplit gives them."""
    preds, scores, labels = [], [], []
    loss_sum = 0.0
    for s in range(0, len(rows), batch_size):
        chunk = rows[s:s + batch_size]
        ids, types, mask, lab = make_batch(chunk, pad_id, device)
        o = model(idx, ids, types, mask)
        loss_sum += float(per_example_loss(kind, o, batch_targets(kind, lab)).mean()) * len(chunk)
        if kind == 'regression':
            p = o.view(-1)
            preds += p.tolist()
            scores += p.tolist()
        elif kind == 'ranking':
            g = o.view(-1, 2)
            preds += F.one_hot(g.argmax(-1), 2).view(-1).float().tolist()
            scores += o.view(-1).tolist()
        else:
            preds += o.argmax(-1).float().tolist()
            scores += torch.softmax(o, -1).view(-1).tolist()
        labels += lab.tolist()
    return preds, scores, labels, loss_sum


def best_f1_threshold(probs, labels):
    """src/engine/metrics/f1Threshold.ts: every cut between sorted scores, the midpoint threshold, ties to the higher."""
    positives = sum(labels)
    if positives == 0:
        raise ValueError('thresholdHoldout: the held-out rows have no positive label')
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    best = None
    tp = 0
    for k in range(1, len(order) + 1):
        tp += labels[order[k - 1]]
        score = probs[order[k - 1]]
        nxt = probs[order[k]] if k < len(order) else -math.inf
        if nxt == score:
            continue
        f = 2 * tp / (k + positives)
        if best is None or f > best[1]:
            best = ((score + nxt) / 2 if k < len(order) else 0, f)
    return best


def task_metrics(t, preds, scores, labels):
    metrics = {m: metric(m, preds, scores, labels) for m in t['metrics']}
    used = ['mcc'] if 'mcc' in t['metrics'] else t['metrics']
    return metrics, sum(metrics[m] for m in used) / len(used)


def evaluate(model, tasks, dev, batch_size, pad_id, device, step, epoch, holdout=None):
    """Dev metrics per task; a task with held-out training rows (thresholdHoldout) gets its class predictions from the
    F1-maximising threshold chosen there, its argmax metrics kept beside them, as Taskscope's evaluateTasks."""
    model.eval()
    out = []
    for idx, t in enumerate(tasks):
        rows = dev.get(t['name'])
        if not rows:
            continue
        kind = model.heads[t['name']].snap['kind']
        preds, scores, labels, loss_sum = predict(model, idx, kind, rows, batch_size, pad_id, device)
        metrics, score = task_metrics(t, preds, scores, labels)
        entry = {'task': t['name'], 'rows': len(labels), 'loss': loss_sum / max(1, len(labels)), 'metrics': metrics, 'score': score}
        held = (holdout or {}).get(t['name'])
        if held:
            _, h_scores, h_labels, _ = predict(model, idx, kind, held, batch_size, pad_id, device)
            threshold, f1_held = best_f1_threshold(h_scores[1::2], h_labels)
            decided = [1.0 if p >= threshold else 0.0 for p in scores[1::2]]
            metrics_t, score_t = task_metrics(t, decided, scores, labels)
            entry.update({'metrics': metrics_t, 'score': score_t, 'decision': {
                'threshold': threshold, 'holdoutRows': len(held), 'holdoutF1': f1_held, 'argmaxMetrics': metrics}})
        out.append(entry)
    model.train()
    glue = sum(t['score'] for t in out) / len(out) if out else float('nan')
    return {'step': step, 'epoch': epoch, 'tasks': out, 'glueScore': glue}


def mask_importance(model, tasks, dev, pad_id, device, limit):
    """Head importance by the mask measure (Michel et al. 2019): I[l,h] = sum_i |d loss_i / d m[l,h]| at m = 1 over
    the first `limit` dev rows of each task, one example at a time; then each layer / its L2 norm (+1e-20) and a
    global min-max, as Taskscope's analysis/headImportance.ts. Dropout off."""
    model.eval()
    c = model.bert.c
    out = {}
    for idx, t in enumerate(tasks):
        rows = dev.get(t['name'])
        if not rows:
            continue
        kind = model.heads[t['name']].snap['kind']
        group = 2 if kind == 'ranking' else 1
        rows = rows[:max(group, (limit // group) * group)]
        raw = torch.zeros(c['num_hidden_layers'], c['num_attention_heads'], dtype=torch.float64)
        for s in range(0, len(rows), group):
            ids, types, mask, lab = make_batch(rows[s:s + group], pad_id, device)
            m = torch.ones(c['num_hidden_layers'], c['num_attention_heads'], device=device, requires_grad=True)
            loss = per_example_loss(kind, model(idx, ids, types, mask, head_mask=m), batch_targets(kind, lab)).sum()
            (g,) = torch.autograd.grad(loss, m)
            raw += g.abs().double().cpu()
        norm = raw / (raw.pow(2).sum(1, keepdim=True).sqrt() + 1e-20)
        lo, hi = norm.min(), norm.max()
        normalized = (norm - lo) / (hi - lo) if hi > lo else torch.zeros_like(norm)
        out[t['name']] = {'examples': len(rows) // group, 'raw': raw.tolist(), 'normalized': normalized.tolist()}
    model.train()
    return out
