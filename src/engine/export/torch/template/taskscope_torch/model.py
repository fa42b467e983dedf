"""The encoder: BERT (Devlin et al. 2019, post-LayerNorm, exact-erf GELU, -10000 attention-mask bias) and the
EmBERT task-embedded attention and PALs (Stickland & Murray 2019) variants. Module names give state-dict keys equal
to transformers' BertModel keys (embeddings.*, encoder.*, pooler.*), so model.safetensors loads with
BertModel.from_pretrained."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

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
        if variant['kind'] not in ('mtdnn', 'embert', 'pals', 'gated'):
            raise ValueError(f'variant {variant["kind"]} is not in this exported trainer (mtdnn, embert, pals, gated)')

    def ext_param_names(self, task_id):
        """Extension tensors a batch of task `task_id` reaches (PALs: only that task's; EmBERT: whole tables)."""
        if self.ext is None:
            return []
        if self.variant['kind'] == 'pals':
            return [n for n in self.ext.names if f'.task.{task_id}.' in n or n.startswith(f'task.{task_id}.')]
        return list(self.ext.names)

    def forward(self, ids, types, mask, task_id, head_mask=None, delta=None):
        """`delta` [B, T, H] is added to the embedding output (after its dropout): SMART's perturbation."""
        if self.variant['kind'] != 'gated':
            return self.encode(ids, types, mask, task_id, head_mask, delta)
        # Gated-BERT's gate reads the flattened sequence: every batch is padded to gated_seq_len, outputs cut back.
        T = ids.shape[1]
        S = self.ext.get('gated.gate_q.weight').shape[1] // self.c['hidden_size']
        if T > S:
            raise ValueError(f'Gated-BERT: a batch of {T} tokens is longer than gated_seq_len {S}')
        pad = lambda x, v: F.pad(x, (0, S - T), value=v)
        if delta is not None:
            delta = F.pad(delta, (0, 0, 0, S - T))
        h, pooled = self.encode(pad(ids, self.c.get('pad_token_id', 0)), pad(types, 0), pad(mask, 0), task_id, head_mask, delta)
        return h[:, :T], pooled

    def encode(self, ids, types, mask, task_id, head_mask=None, delta=None):
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
        if delta is not None:
            h = h + delta
        bias = ((1.0 - mask.float()) * -10000.0).view(B, 1, 1, T)
        kind = self.variant['kind']
        for l, layer in enumerate(self.encoder.layer):
            s = layer.attention.self
            q, k, v = s.query(h), s.key(h), s.value(h)
            if kind == 'gated' and l == len(self.encoder.layer) - 1:
                dq, dk, dv = self.gated_deltas(h, task_id)
                q, k, v = q + dq, k + dk, v + dv
            elif kind in ('embert', 'gated'):
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

    def gated_deltas(self, h, i):
        """Gated-BERT's last-layer additions for task i (src/engine/model/variants/gatedAttention.ts): own low-rank Q/K
        adapters scaled by c1, the other tasks' adapters mixed by softmax gates over the flattened sequence scaled by
        c2, and the task's value adapter scaled by cV."""
        ext = self.ext
        B, S, H = h.shape
        T = ext.get('gated.task_emb_q1').shape[0]
        low = lambda j, kind: ext_linear(ext, f'gated.task.{j}.{kind}_up', ext_linear(ext, f'gated.task.{j}.{kind}_down', h))
        row = lambda name: ext.get(f'gated.task_emb_{name}')[i].view(1, 1, -1)
        flat = h.reshape(B, S * H)

        def mixture(gate, kind):
            g = torch.softmax(ext_linear(ext, f'gated.gate_{gate}', flat), -1)
            total = None
            for j in range(T):
                if j != i:
                    term = g[:, j].view(B, 1, 1) * low(j, kind)
                    total = term if total is None else total + term
            return total

        q = row('q1') * low(i, 'query')
        k = row('k1') * low(i, 'key')
        mq, mk = mixture('q', 'query'), mixture('k', 'key')
        if mq is not None:
            q = q + row('q2') * mq
        if mk is not None:
            k = k + row('k2') * mk
        v = row('v') * ext_linear(ext, f'gated.task.{i}.value', h)
        return q, k, v

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
