"""MT-DNN's task heads (Liu et al. 2019) as Taskscope implements them, their losses, and the multi-task model
(encoder + one head per task) with Taskscope's parameter names."""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import Bert
from .safetensors_io import read_safetensors, write_safetensors

HEADS_FORMAT = 'taskscope-heads/1'

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

    def forward(self, task_idx, ids, types, mask, head_mask=None, delta=None):
        seq, pooled = self.bert(ids, types, mask, task_idx, head_mask, delta)
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
