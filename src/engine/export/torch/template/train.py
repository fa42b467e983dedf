#!/usr/bin/env python3
"""Taskscope experiment, exported for PyTorch (torch only; no transformers, no safetensors package).

Run on one process:            python3 train.py --out run
Data parallel on one machine:  torchrun --nproc_per_node 2 train.py --out run
Several machines: see README.md in this folder.

What this reproduces of the Taskscope trainer (src/engine/train/trainer.ts in the Taskscope repository):
  * BERT (Devlin et al. 2019, post-LayerNorm, exact-erf GELU, -10000 attention-mask bias) with the task heads
    of MT-DNN (Liu et al. 2019): linear classification, regression (MSE), pairwise ranking and the SAN answer
    module; the EmBERT task-embedded attention and the PALs (Stickland & Murray 2019) variants.
  * The micro-batch sequence of the run: plan.jsonl lists, for every micro-batch, the task, the training rows
    and the loss weight (SIWLM task_weight * alpha), exactly as Taskscope's sampler (MT-DNN, SIWLM, annealed,
    ...) and its batch reader drew them for this experiment and seed. Tokenization is Taskscope's (data/).
  * Loss / gradAccumulation, global gradient clipping (torch clip_grad_norm_), the optimiser (MT-DNN Adamax,
    torch Adam/AdamW, BERTAdam, MT-DNN RAdam) with per-parameter lazily created state and step counts, and the
    pytorch-pretrained-bert warmup schedules.
  * Evaluation with the same metrics and GLUE score, a log.jsonl in Taskscope's format, and a checkpoint folder
    in Hugging Face layout (config.json, vocab.txt, model.safetensors with HF names) plus heads.json and
    extension.safetensors, which `taskscope import-run` reads back.

Data parallelism: every micro-batch is split across the ranks (contiguous slices of its rows); each rank's loss
is its share of the batch-mean loss, and the gradients are summed over ranks with all_reduce before clipping, so
N processes compute the same update as one process with the whole batch (what DistributedDataParallel does, done
by hand because each step touches only one task's head).
"""
import argparse
import datetime
import json
import math
import os
import struct
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
HEADS_FORMAT = 'taskscope-heads/1'

# ---------------------------------------------------------------------------------------------------------------
# safetensors (https://github.com/huggingface/safetensors): u64 little-endian header length, JSON header, raw
# little-endian data. Written by hand so the folder needs nothing but torch.

_DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64, 'I32': torch.int32,
           'F64': torch.float64}
_NAMES = {v: k for k, v in _DTYPES.items()}


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f'{path}: too short for a safetensors header')
    (n,) = struct.unpack('<Q', raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f'{path}: header length {n} runs past the end of the file')
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        dtype = _DTYPES.get(info['dtype'])
        if dtype is None:
            raise ValueError(f'{path}: tensor {name} has unsupported dtype {info["dtype"]}')
        begin, end = info['data_offsets']
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(info['shape']).clone()
    return out


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to('cpu').contiguous()
        b = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {'dtype': _NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------------
# The model. Module names give state-dict keys equal to transformers' BertModel keys (embeddings.*, encoder.*,
# pooler.*), so model.safetensors loads with BertModel.from_pretrained.

def act_fn(kind):
    if kind == 'gelu':
        return lambda x: F.gelu(x)
    if kind == 'gelu_new':
        return lambda x: F.gelu(x, approximate='tanh')
    if kind == 'relu':
        return F.relu
    raise ValueError(f'config.json: hidden_act {kind} is not supported (gelu, gelu_new, relu)')


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c['vocab_size'], c['hidden_size'])
        self.position_embeddings = nn.Embedding(c['max_position_embeddings'], c['hidden_size'])
        self.token_type_embeddings = nn.Embedding(c['type_vocab_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])


class SelfAttn(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)


class DenseNorm(nn.Module):
    def __init__(self, i, h, eps):
        super().__init__()
        self.dense = nn.Linear(i, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttn(c['hidden_size'])
        self.output = DenseNorm(c['hidden_size'], c['hidden_size'], c['layer_norm_eps'])


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['intermediate_size'])


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c['intermediate_size'], c['hidden_size'], c['layer_norm_eps'])


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c['num_hidden_layers'])])


class Pooler(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.dense = nn.Linear(h, h)


class Extension(nn.Module):
    """A variant's task-specific tensors under their Taskscope checkpoint names (extension.safetensors)."""

    def __init__(self, tensors):
        super().__init__()
        self.names = sorted(tensors)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.tensors = nn.ParameterList([nn.Parameter(tensors[n].float().clone()) for n in self.names])

    def get(self, name):
        if name not in self.index:
            raise KeyError(f'extension.safetensors has no tensor {name}')
        return self.tensors[self.index[name]]

    def has(self, name):
        return name in self.index

    def named(self):
        return {n: self.tensors[i] for n, i in self.index.items()}


def ext_linear(ext, prefix, x):
    return F.linear(x, ext.get(prefix + '.weight'), ext.get(prefix + '.bias'))


class Bert(nn.Module):
    def __init__(self, config, variant, ext_tensors):
        super().__init__()
        self.c = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config['hidden_size'])
        self.act = act_fn(config.get('hidden_act', 'gelu'))
        self.variant = variant
        self.ext = Extension(ext_tensors) if ext_tensors else None
        if variant['kind'] not in ('mtdnn', 'embert', 'pals'):
            raise ValueError(f'variant {variant["kind"]} is not in this exported trainer (mtdnn, embert, pals)')

    def ext_param_names(self, task_id):
        """Extension tensors a batch of task `task_id` reaches (PALs: only that task's; EmBERT: whole tables)."""
        if self.ext is None:
            return []
        if self.variant['kind'] == 'pals':
            return [n for n in self.ext.names if f'.task.{task_id}.' in n or n.startswith(f'task.{task_id}.')]
        return list(self.ext.names)

    def forward(self, ids, types, mask, task_id, head_mask=None):
        c = self.c
        B, T = ids.shape
        H = c['hidden_size']
        A = c['num_attention_heads']
        d = H // A
        hp = c['hidden_dropout_prob']
        ap = c['attention_probs_dropout_prob']
        e = self.embeddings
        pos = torch.arange(T, device=ids.device)
        h = e.word_embeddings(ids) + e.position_embeddings(pos).unsqueeze(0) + e.token_type_embeddings(types)
        h = F.dropout(e.LayerNorm(h), hp, self.training)
        bias = ((1.0 - mask.float()) * -10000.0).view(B, 1, 1, T)
        kind = self.variant['kind']
        for l, layer in enumerate(self.encoder.layer):
            s = layer.attention.self
            q, k, v = s.query(h), s.key(h), s.value(h)
            if kind == 'embert':
                pre = f'embert.layer.{l}.task_emb_'
                if self.ext.has(pre + 'q'):
                    q = q + self.ext.get(pre + 'q')[task_id]
                    k = k + self.ext.get(pre + 'k')[task_id]
                    v = v + self.ext.get(pre + 'v')[task_id]
            split = lambda x: x.view(B, T, A, d).permute(0, 2, 1, 3)
            scores = torch.matmul(split(q), split(k).transpose(-1, -2)) / math.sqrt(d) + bias
            probs = F.dropout(torch.softmax(scores, -1), ap, self.training)
            if head_mask is not None:
                probs = probs * head_mask[l].view(1, A, 1, 1)
            ctx = torch.matmul(probs, split(v)).permute(0, 2, 1, 3).reshape(B, T, H)
            o = layer.attention.output
            attn = o.LayerNorm(F.dropout(o.dense(ctx), hp, self.training) + h)
            ffn = F.dropout(layer.output.dense(self.act(layer.intermediate.dense(attn))), hp, self.training)
            if kind == 'pals':
                ffn = ffn + self.pal(l, h, task_id, bias, ap)
            h = layer.output.LayerNorm(ffn + attn)
        pooled = torch.tanh(self.pooler.dense(h[:, 0]))
        return h, pooled

    def pal(self, l, h, i, bias, ap):
        """PAL(h) = GELU(V_D · MultiHeadAttn(V_E · h)) on the layer input (Bert-n-Pals BERTPals)."""
        shared = self.ext.has(f'pals.task.{i}.enc.weight')
        proj = f'pals.task.{i}.' if shared else f'pals.layer.{l}.task.{i}.'
        x = ext_linear(self.ext, proj + 'enc', h)
        B, T, r = x.shape
        A = self.variant['palHeads']
        d = r // A
        att = f'pals.layer.{l}.task.{i}.attn.'
        split = lambda y: y.view(B, T, A, d).permute(0, 2, 1, 3)
        q, k, v = (split(ext_linear(self.ext, att + n, x)) for n in ('query', 'key', 'value'))
        probs = F.dropout(torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias, -1), ap, self.training)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, T, r)
        return F.gelu(ext_linear(self.ext, proj + 'dec', ctx))


def linear_from(snap, name, task):
    if name not in snap['layers']:
        raise ValueError(f'heads.json: head {task} has no layer {name}')
    W = torch.tensor(snap['layers'][name]['W'], dtype=torch.float32)
    b = torch.tensor(snap['layers'][name]['b'], dtype=torch.float32)
    lin = nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        lin.weight.copy_(W)
        lin.bias.copy_(b)
    return lin


def linear_snapshot(lin):
    return {'W': lin.weight.detach().cpu().tolist(), 'b': lin.bias.detach().cpu().tolist()}


class LinearHead(nn.Module):
    """MT-DNN's answer layers: classification (softmax), regression (one score), ranking (one score per row)."""

    def __init__(self, snap):
        super().__init__()
        self.kind = snap['kind']
        self.layer_name = {'classification': 'classifier', 'regression': 'regressor', 'ranking': 'ranker'}[self.kind]
        self.snap = snap
        setattr(self, self.layer_name, linear_from(snap, self.layer_name, snap['task']))
        self.p = snap['dropout']

    def forward(self, seq, pooled, types, mask):
        y = getattr(self, self.layer_name)(F.dropout(pooled, self.p, self.training))
        return y if self.kind == 'classification' else y.view(-1)

    def snapshot(self):
        return {**self.snap, 'layers': {self.layer_name: linear_snapshot(getattr(self, self.layer_name))}}


class SanHead(nn.Module):
    """MT-DNN's stochastic answer network (module/san.py; bilinear attention, GRU, K turns, memory-turn dropout)."""

    def __init__(self, snap, H):
        super().__init__()
        self.snap = snap
        L = snap['layers']
        self.query_wsum = linear_from(snap, 'query_wsum', snap['task'])
        self.attn = linear_from(snap, 'attn', snap['task'])
        self.classifier = linear_from(snap, 'classifier', snap['task'])
        self.rnn = nn.GRUCell(H, H)
        with torch.no_grad():
            for n in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'):
                getattr(self.rnn, n).copy_(torch.tensor(L['rnn.' + n], dtype=torch.float32))
        self.K = int(L['num_turn'][0])
        self.mem_drop = float(L['mem_drop_p'][0])
        self.p = snap['dropout']

    def drop(self, x):
        if not self.training or self.p <= 0:
            return x
        shape = (x.shape[0], 1, x.shape[2]) if x.dim() == 3 else x.shape
        keep = 1 - self.p
        return x * (torch.bernoulli(torch.full(shape, keep, device=x.device)) / keep)

    def forward(self, X, pooled, types, mask):
        real = mask.float()
        t1 = (types > 0).float()
        premise, hyp = real * (1 - t1), real * t1
        masked_softmax = lambda s, valid: torch.softmax(s + (1 - valid) * -1e30, -1)
        Xq = self.drop(X)
        a = masked_softmax(self.query_wsum(Xq).squeeze(2), hyp)
        s = (Xq * a.unsqueeze(2)).sum(1)
        scores = []
        for _ in range(self.K):
            Ws = self.attn(self.drop(s))
            att = (self.drop(X) * Ws.unsqueeze(1)).sum(2)
            beta = masked_softmax(att, premise)
            x = (X * beta.unsqueeze(2)).sum(1)
            scores.append(self.classifier(self.drop(torch.cat([x, s, (x - s).abs(), x * s], 1))))
            s = self.rnn(x, self.drop(s))
        B = X.shape[0]
        M = torch.ones(B, self.K, device=X.device)
        if self.training:
            keep = 1 - self.mem_drop
            M = torch.bernoulli(torch.full((B, self.K), keep, device=X.device))
            M[torch.arange(B, device=X.device), torch.randint(0, self.K, (B,), device=X.device)] = 1
            M = M / keep
        probs = torch.stack([torch.softmax(sc, -1) for sc in scores], 2)
        return torch.log((probs * M.unsqueeze(1)).mean(2))

    def snapshot(self):
        layers = {'query_wsum': linear_snapshot(self.query_wsum), 'attn': linear_snapshot(self.attn),
                  'classifier': linear_snapshot(self.classifier), 'num_turn': [self.K], 'mem_drop_p': [self.mem_drop]}
        for n in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'):
            layers['rnn.' + n] = getattr(self.rnn, n).detach().cpu().tolist()
        return {**self.snap, 'layers': layers}


def head_param_names(task, kind):
    """Taskscope's names of a head's parameters (heads.<task>.<layer>.weight|bias), as its optimiser state uses."""
    if kind == 'san':
        p = f'heads.{task}.san'
        return {f'{p}.query_wsum.linear.weight': 'query_wsum.weight', f'{p}.query_wsum.linear.bias': 'query_wsum.bias',
                f'{p}.attn.linear.weight': 'attn.weight', f'{p}.attn.linear.bias': 'attn.bias',
                f'{p}.rnn.weight_ih': 'rnn.weight_ih', f'{p}.rnn.weight_hh': 'rnn.weight_hh',
                f'{p}.rnn.bias_ih': 'rnn.bias_ih', f'{p}.rnn.bias_hh': 'rnn.bias_hh',
                f'{p}.classifier.proj.weight': 'classifier.weight', f'{p}.classifier.proj.bias': 'classifier.bias'}
    layer = {'classification': 'classifier', 'regression': 'regressor', 'ranking': 'ranker'}[kind]
    return {f'heads.{task}.{layer}.weight': f'{layer}.weight', f'heads.{task}.{layer}.bias': f'{layer}.bias'}


class MultiTask(nn.Module):
    def __init__(self, init_dir, export):
        super().__init__()
        with open(os.path.join(init_dir, 'config.json')) as f:
            self.config = json.load(f)
        c = dict(self.config)
        c['hidden_dropout_prob'] = export['encoderDropout']
        c['attention_probs_dropout_prob'] = export['encoderDropout']
        c.setdefault('layer_norm_eps', 1e-12)
        ext_path = os.path.join(init_dir, 'extension.safetensors')
        ext = read_safetensors(ext_path) if os.path.exists(ext_path) else None
        self.bert = Bert(c, export['variant'], ext)
        state = read_safetensors(os.path.join(init_dir, 'model.safetensors'))
        state = {(k[5:] if k.startswith('bert.') else k): v for k, v in state.items()}
        own = self.bert.state_dict()
        missing = [k for k in own if not k.startswith('ext.') and k not in state]
        if missing:
            raise ValueError(f'{init_dir}/model.safetensors lacks {", ".join(missing[:5])}')
        with torch.no_grad():
            for k, v in own.items():
                if not k.startswith('ext.'):
                    v.copy_(state[k].float())
        with open(os.path.join(init_dir, 'heads.json')) as f:
            heads = json.load(f)
        if heads.get('format') != HEADS_FORMAT:
            raise ValueError(f'{init_dir}/heads.json: expected format {HEADS_FORMAT}')
        snaps = {h['task']: h for h in heads['heads']}
        self.tasks = export['tasks']
        self.heads = nn.ModuleDict()
        for t in self.tasks:
            snap = snaps.get(t['name'])
            if snap is None:
                raise ValueError(f'{init_dir}/heads.json has no head for task {t["name"]}')
            snap = {**snap, 'dropout': t['dropout']}
            self.heads[t['name']] = SanHead(snap, c['hidden_size']) if snap['kind'] == 'san' else LinearHead(snap)
        # Taskscope's parameter names, in its optimiser's order (encoder by HF name, extension, heads).
        self.named = {}
        for k, p in self.bert.named_parameters():
            if not k.startswith('ext.'):
                self.named[k] = p
        if self.bert.ext is not None:
            self.named.update(self.bert.ext.named())
        for t in self.tasks:
            head = self.heads[t['name']]
            local = dict(head.named_parameters())
            for ts_name, local_name in head_param_names(t['name'], head.snap['kind']).items():
                self.named[ts_name] = local[local_name]

    def task_param_names(self, task_idx):
        """What a batch of this task reaches: the encoder, the variant's parts for it, its own head."""
        t = self.tasks[task_idx]
        enc = [k for k in self.named if not k.startswith('heads.') and not (self.bert.ext and self.bert.ext.has(k))]
        head = list(head_param_names(t['name'], self.heads[t['name']].snap['kind']))
        return enc + self.bert.ext_param_names(task_idx) + head

    def forward(self, task_idx, ids, types, mask, head_mask=None):
        seq, pooled = self.bert(ids, types, mask, task_idx, head_mask)
        return self.heads[self.tasks[task_idx]['name']](seq, pooled, types, mask)

    def save(self, out_dir, init_dir, experiment, metrics=None):
        os.makedirs(out_dir, exist_ok=True)
        enc = {k: v for k, v in self.bert.state_dict().items() if not k.startswith('ext.')}
        write_safetensors(os.path.join(out_dir, 'model.safetensors'), enc, {'format': 'pt'})
        if self.bert.ext is not None:
            write_safetensors(os.path.join(out_dir, 'extension.safetensors'), self.bert.ext.named(),
                              {'format': 'taskscope-extension/1'})
        heads = {'format': HEADS_FORMAT, 'heads': [self.heads[t['name']].snapshot() for t in self.tasks]}
        files = {'heads.json': json.dumps(heads) + '\n', 'experiment.json': json.dumps(experiment, indent=2) + '\n'}
        if metrics is not None:
            files['metrics.json'] = json.dumps(metrics, indent=2) + '\n'
        for name in ('config.json', 'vocab.txt', 'tokenizer_config.json'):
            with open(os.path.join(init_dir, name)) as f:
                files[name] = f.read()
        for name, text in files.items():
            with open(os.path.join(out_dir, name), 'w') as f:
                f.write(text)


# ---------------------------------------------------------------------------------------------------------------
# Losses (MT-DNN criteria as Taskscope implements them): per-example values; a batch's loss is their mean.

def per_example_loss(kind, out, labels):
    if kind in ('classification', 'san'):
        return F.cross_entropy(out, labels.long(), reduction='none')
    if kind == 'regression':
        return (out.view(-1) - labels.float()) ** 2
    if kind == 'ranking':
        return F.cross_entropy(out.view(-1, 2), labels.long(), reduction='none')
    raise ValueError(f'unknown head kind {kind}')


def ranking_targets(labels):
    """Rows come in groups of 2 candidates; the target is the index of the (first) best-labelled one."""
    g = labels.view(-1, 2)
    return (g[:, 1] > g[:, 0]).long()


# ---------------------------------------------------------------------------------------------------------------
# Optimisers and schedule (src/engine/train/optim, schedule.ts): state is created per parameter on its first
# gradient; afterwards a parameter without a gradient is updated with a zero one (torch's behaviour for a
# zero-filled .grad); each parameter counts its own steps, which some originals feed to the schedule.

def warmup_linear(x, w):
    return x / w if x < w else max((x - 1) / (w - 1), 0)


def lr_at(step, total, base, warmup, kind):
    if kind == 'constant' or total <= 0:
        return base
    if kind == 'linear_hf':
        ws = math.ceil(warmup * total)
        if step < ws:
            return base * step / max(1, ws)
        return base * max(0, (total - step) / max(1, total - ws))
    x = step / total
    if kind == 'warmup_linear':
        return base * warmup_linear(x, warmup)
    if kind == 'warmup_linear_old':
        return base * (x / warmup if x < warmup else 1 - x)
    if kind == 'warmup_constant':
        return base * (x / warmup if x < warmup else 1)
    if kind == 'warmup_cosine':
        return base * (x / warmup if x < warmup else 0.5 * (1 + math.cos(math.pi * x)))
    raise ValueError(f'unknown schedule kind {kind}')


NO_DECAY = ('bias', 'LayerNorm', 'gamma', 'beta')


class Optimizer:
    def __init__(self, named, o, schedule):
        self.named = named
        self.o = o
        self.kind = o['kind']
        self.schedule = schedule
        self.state = {}
        self.global_step = 0
        self.decays = {n: (o['decayFilter'] == 'all' or not any(s in n for s in NO_DECAY)) for n in named}

    def schedule_step(self, steps):
        if self.kind in ('adamax', 'bertadam'):
            return steps
        if self.kind == 'radam':
            return steps + 1
        return self.global_step

    @torch.no_grad()
    def step(self, grads):
        o = self.o
        b1, b2, eps = o['beta1'], o['beta2'], o['eps']
        for name, theta in self.named.items():
            g = grads.get(name)
            st = self.state.get(name)
            if g is None and st is None:
                continue
            if st is None:
                st = self.state[name] = {'m': torch.zeros_like(theta), 'v': torch.zeros_like(theta), 'steps': 0}
            if g is None:
                g = torch.zeros_like(theta)
            lr = self.schedule(self.schedule_step(st['steps']))
            wd = o['weightDecay'] if self.decays[name] else 0.0
            if o['maxGradNorm'] > 0:
                g = g * torch.clamp(o['maxGradNorm'] / (g.norm() + 1e-6), max=1.0)
            m, v = st['m'], st['v']
            m_new = m * b1 + g * (1 - b1)
            t = st['steps'] + 1
            if self.kind == 'adamax':
                v_new = torch.maximum(v * b2, g.abs() + eps)
                upd = m_new / (v_new + eps)
                if wd > 0:
                    upd = upd + theta * wd
                new = theta - upd * lr
            elif self.kind == 'bertadam':
                v_new = v * b2 + g.square() * (1 - b2)
                upd = m_new / (v_new.sqrt() + eps)
                if wd > 0:
                    upd = upd + theta * wd
                new = theta - upd * lr
            elif self.kind in ('adam', 'adamw'):
                v_new = v * b2 + g.square() * (1 - b2)
                base = theta - theta * (lr * wd) if (self.kind == 'adamw' and wd > 0) else theta
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                new = base - (m_new / (v_new.sqrt() / math.sqrt(bc2) + eps)) * (lr / bc1)
            elif self.kind == 'radam':
                v_new = v * b2 + g.square() * (1 - b2)
                b2t = b2 ** t
                rho_inf = 2 / (1 - b2) - 1
                rho = rho_inf - 2 * t * b2t / (1 - b2t)
                bc1 = 1 - b1 ** t
                if rho >= 5:
                    rect = math.sqrt(((1 - b2t) * (rho - 4) / (rho_inf - 4) * (rho - 2) / rho * rho_inf) / (rho_inf - 2))
                    new = theta - (m_new / (v_new.sqrt() + eps)) * (lr * rect / bc1)
                else:
                    new = theta - m_new * (lr / bc1)
                if wd != 0:
                    new = new - new * (wd * lr)
            else:
                raise ValueError(f'optimizer {self.kind} is not supported')
            theta.copy_(new)
            m.copy_(m_new)
            v.copy_(v_new)
            st['steps'] = t
        self.global_step += 1


# ---------------------------------------------------------------------------------------------------------------
# Data: Taskscope's tokenized rows, batches padded to their longest row as its batch reader pads them.

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


# ---------------------------------------------------------------------------------------------------------------
# Metrics (src/engine/metrics): dataset-level, 0-1 scale.

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
def evaluate(model, tasks, dev, batch_size, pad_id, device, step, epoch):
    model.eval()
    out = []
    for idx, t in enumerate(tasks):
        rows = dev.get(t['name'])
        if not rows:
            continue
        kind = model.heads[t['name']].snap['kind']
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
        metrics = {m: metric(m, preds, scores, labels) for m in t['metrics']}
        used = ['mcc'] if 'mcc' in t['metrics'] else t['metrics']
        score = sum(metrics[m] for m in used) / len(used)
        out.append({'task': t['name'], 'rows': len(labels), 'loss': loss_sum / max(1, len(labels)), 'metrics': metrics,
                    'score': score})
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


# ---------------------------------------------------------------------------------------------------------------

def shard(n, rank, world, group):
    """Rank `rank`'s contiguous slice of n rows (whole groups of `group` rows), as torch.tensor_split divides."""
    groups = n // group
    base, extra = divmod(groups, world)
    start = rank * base + min(rank, extra)
    size = base + (1 if rank < extra else 0)
    return start * group, (start + size) * group


def json_line(obj):
    def fix(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        return x
    return json.dumps(fix(obj)) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='run', help='run folder: log.jsonl, metrics.json, checkpoint/ (default ./run)')
    ap.add_argument('--max-steps', type=int, default=0, help='stop after this many optimiser steps (0 = the whole run)')
    ap.add_argument('--device', default='auto', help='auto (cuda:LOCAL_RANK when available, else cpu) | cpu | cuda')
    ap.add_argument('--backend', default='auto', help='torch.distributed backend: auto (nccl on GPU, gloo on CPU) | gloo | nccl')
    ap.add_argument('--threads', type=int, default=0, help='torch intra-op threads per process (0 = torch default)')
    ap.add_argument('--save-every', type=int, default=0, help='also write checkpoint-step<N>/ every N steps (0 = only at the end)')
    ap.add_argument('--importance-rows', type=int, default=0,
                    help='after training, head importance (mask measure) on this many dev rows per task -> importance.json (0 = skip)')
    args = ap.parse_args()

    with open(os.path.join(HERE, 'export.json')) as f:
        export = json.load(f)
    with open(os.path.join(HERE, 'experiment.json')) as f:
        experiment = json.load(f)

    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    use_cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
    device = torch.device(f'cuda:{local_rank}' if use_cuda else 'cpu')
    if use_cuda:
        torch.cuda.set_device(device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if world > 1:
        backend = args.backend if args.backend != 'auto' else ('nccl' if use_cuda else 'gloo')
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    torch.manual_seed(export['seed'] + rank)

    init_dir = os.path.join(HERE, 'init')
    model = MultiTask(init_dir, export).to(device)
    model.train()
    tasks = export['tasks']
    pad_id = export['padId']
    train = {t['name']: read_jsonl(os.path.join(HERE, 'data', t['name'], 'train.jsonl')) for t in tasks}
    dev = {}
    for t in tasks:
        p = os.path.join(HERE, 'data', t['name'], 'dev.jsonl')
        if os.path.exists(p):
            dev[t['name']] = read_jsonl(p)
    plan = read_jsonl(os.path.join(HERE, 'plan.jsonl'))
    acc = export['gradAccumulation']
    total_steps = export['totalSteps']
    if len(plan) < total_steps * acc:
        raise ValueError(f'plan.jsonl has {len(plan)} micro-batches; {total_steps} steps of {acc} need {total_steps * acc}')
    steps = min(total_steps, args.max_steps) if args.max_steps > 0 else total_steps
    o = export['optimizer']
    s = export['schedule']
    schedule = lambda k: lr_at(k, export['scheduleTotal'], o['lr'], s['warmup'], s['kind'])
    opt = Optimizer(model.named, o, schedule)
    kinds = [model.heads[t['name']].snap['kind'] for t in tasks]

    out = os.path.abspath(args.out)
    log = None
    if rank == 0:
        os.makedirs(out, exist_ok=True)
        log = open(os.path.join(out, 'log.jsonl'), 'w')
    started = time.time()

    def emit(obj):
        if log is not None:
            log.write(json_line({**obj, 'wallSeconds': time.time() - started}))
            log.flush()

    emit({'type': 'status', 'status': 'running', 'step': 0, 'world': world, 'device': str(device)})
    per_task = {}
    session = {'rows': 0, 'tokens': 0, 'train': 0.0}
    last_eval = None
    last_eval_step = -1
    micro = 0
    for step in range(1, steps + 1):
        t0 = time.time()
        touched = set()
        losses, names, weights = [], [], []
        epoch_end = False
        epoch = 0
        rows_in_step = tokens_in_step = 0
        for _ in range(acc):
            mb = plan[micro]
            micro += 1
            ti = mb['task']
            task = tasks[ti]
            kind = kinds[ti]
            epoch = mb['epoch']
            epoch_end = epoch_end or bool(mb.get('epochEnd'))
            touched.update(model.task_param_names(ti))
            rows = [train[task['name']][r] for r in mb['rows']]
            group = 2 if kind == 'ranking' else 1
            n_units = len(rows) // group
            lo, hi = shard(len(rows), rank, world, group)
            loss_sum = torch.zeros((), device=device)
            if hi > lo:
                ids, types, mask, lab = make_batch(rows[lo:hi], pad_id, device)
                per = per_example_loss(kind, model(ti, ids, types, mask), batch_targets(kind, lab))
                loss_sum = per.sum()
                # This rank's share of weight * mean(loss) / gradAccumulation over the whole micro-batch.
                (loss_sum * (mb['weight'] / (n_units * acc))).backward()
            losses.append(loss_sum.detach() / n_units)
            names.append(task['name'])
            weights.append(mb['weight'])
            rows_in_step += len(rows)
            tokens_in_step += sum(len(r['ids']) for r in rows)
        grads = {}
        for n in model.named:
            if n in touched:
                p = model.named[n]
                grads[n] = p.grad if p.grad is not None else torch.zeros_like(p)
        loss_vec = torch.stack(losses)
        if world > 1:
            flat = torch.cat([g.reshape(-1) for g in grads.values()] + [loss_vec])
            dist.all_reduce(flat)
            k = 0
            for n, g in grads.items():
                grads[n] = flat[k:k + g.numel()].view_as(g)
                k += g.numel()
            loss_vec = flat[k:]
        total = torch.sqrt(sum((g.float() ** 2).sum() for g in grads.values()))
        grad_norm = float(total)
        if not math.isfinite(grad_norm) or not all(math.isfinite(x) for x in loss_vec.tolist()):
            emit({'type': 'status', 'status': 'failed', 'step': step - 1,
                  'message': f'non-finite loss or gradient norm at step {step} on task {names[-1]}'})
            raise SystemExit(1)
        if export['globalClip'] > 0:
            coef = torch.clamp(export['globalClip'] / (total + 1e-6), max=1.0)
            grads = {n: g * coef for n, g in grads.items()}
        lr = schedule(opt.global_step)
        opt.step(grads)
        for p in model.parameters():
            p.grad = None
        vals = loss_vec.tolist()
        for n, v in zip(names, vals):
            per_task[n] = v
        session['rows'] += rows_in_step
        session['tokens'] += tokens_in_step
        session['train'] += time.time() - t0
        elapsed = time.time() - started
        emit({'type': 'step', 'step': step, 'totalSteps': total_steps, 'epoch': epoch, 'task': names[-1], 'tasks': names,
              'weights': weights, 'loss': sum(vals) / len(vals), 'perTaskLoss': dict(per_task), 'lr': lr,
              'gradNorm': grad_norm, 'examplesPerSec': session['rows'] / session['train'],
              'tokensPerSec': session['tokens'] / session['train'], 'etaSeconds': elapsed / step * (steps - step),
              'elapsedSeconds': elapsed})
        every = lambda n: n > 0 and step % n == 0
        if rank == 0 and (epoch_end or every(export['evalEvery'])):
            last_eval = evaluate(model, tasks, dev, export['evalBatchSize'], pad_id, device, step, epoch)
            last_eval_step = step
            emit({'type': 'eval', **last_eval})
        if rank == 0 and every(args.save_every) and step < steps:
            model.save(os.path.join(out, f'checkpoint-step{step}'), init_dir, experiment)
    if rank == 0:
        if last_eval_step != steps:
            last_eval = evaluate(model, tasks, dev, export['evalBatchSize'], pad_id, device, steps, epoch)
            emit({'type': 'eval', **last_eval})
        status = 'done' if steps == total_steps else 'stopped'
        emit({'type': 'status', 'status': status, 'step': steps})
        summary = {'status': status, 'step': steps, 'totalSteps': total_steps, 'backend': f'torch {torch.__version__} {device}',
                   'world': world, 'seed': export['seed'], 'wallSeconds': time.time() - started, 'evaluation': last_eval,
                   'examplesPerSec': session['rows'] / max(session['train'], 1e-9), 'exportDir': HERE}
        model.save(os.path.join(out, 'checkpoint'), init_dir, experiment, summary)
        with open(os.path.join(out, 'metrics.json'), 'w') as f:
            f.write(json.dumps(json.loads(json_line(summary)), indent=2) + '\n')
        log.close()
        if args.importance_rows > 0:
            imp = mask_importance(model, tasks, dev, pad_id, device, args.importance_rows)
            with open(os.path.join(out, 'importance.json'), 'w') as f:
                f.write(json.dumps({'measure': 'mask', 'tasks': imp}) + '\n')
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
