"""SMART adversarial regulariser (Jiang et al. 2020) as Taskscope's trainer adds it (src/engine/train/smart.ts, after
MT-DNN's `mt_dnn/perturbation.py` SmartPerturbation; docs/methods.md):

  d0 = N(0, 1) * noiseVar on the embedding output (zero on padding);  p = 0
  K times:  adv = f(e + p + d0);  L_in = stableKL(adv, logits.detach())  (MSE for regression)
            g = dL_in/dd0;  if ||g|| is not finite the whole term is 0;
            p <- p + stepSize * g / (max|g| over the hidden axis + epsilon)   (norm 'inf'; 'l2', 'l1' as Taskscope)
  final:    adv = f(e + p);  term = alpha * SymKL(logits, adv)  (MSE for regression)

The term is not task-weighted (SIWLM scales only the task loss). The noise is Taskscope's own draw
(tf.randomNormal seeded from the micro-batch's dropout seed, taskscope_torch/tfjs_random.py), so a run matches
Taskscope's step for step; with data parallelism each rank takes its rows' slice of the whole micro-batch's draw and
the losses are its share of the batch means, and the finiteness check is summed over ranks."""
import math

import torch
import torch.distributed as dist

from .rng import Rng
from .tfjs_random import random_normal

# Taskscope's SMART_DEFAULTS; the experiment's `smart` block overrides the fields it has.
DEFAULTS = {'alpha': 1.0, 'noiseVar': 1e-5, 'stepSize': 1e-3, 'epsilon': 1e-6, 'steps': 1, 'norm': 'inf', 'dropout': 'fresh'}


def smart_options(block, noise='taskscope'):
    """The export's `smart` block as options (None when SMART is off), checked as Taskscope checks them; `noise`
    is train.py's --smart-noise (taskscope | torch)."""
    if not block or not block.get('enabled'):
        return None
    o = {**DEFAULTS, **{k: v for k, v in block.items() if k in DEFAULTS}}
    if not isinstance(o['steps'], int) or o['steps'] < 1:
        raise ValueError(f'smart: steps must be a positive integer, got {o["steps"]}')
    for k in ('alpha', 'noiseVar', 'stepSize', 'epsilon'):
        if not (math.isfinite(o[k]) and o[k] >= 0):
            raise ValueError(f'smart: {k} must be a finite number >= 0, got {o[k]}')
    if o['norm'] not in ('inf', 'l2', 'l1') or o['dropout'] not in ('fresh', 'same'):
        raise ValueError(f'smart: norm must be inf|l2|l1 and dropout fresh|same, got {o["norm"]}, {o["dropout"]}')
    o['noise'] = noise
    return o


def dropout_seed(seed, micro_step):
    """The trainer's dropout seed of a micro-batch (src/engine/train/trainer.ts dropoutSeed)."""
    return Rng(f'{seed}/dropout/{micro_step}').next_uint32()


def noise_seed(step_seed):
    """Hashed apart from the dropout stream, as smart.ts noiseSeed."""
    return Rng(f'smart/{step_seed & 0xFFFFFFFF}/noise').next_uint32()


def normalize_gradient(g, norm, epsilon):
    if norm == 'l1':
        return torch.sign(g)
    scale = torch.linalg.vector_norm(g, dim=-1, keepdim=True) if norm == 'l2' else g.abs().amax(-1, keepdim=True)
    return g / (scale + epsilon)


def _grouped(x, kind):
    return x.reshape(-1, 2) if kind == 'ranking' else x


def _stable_kl_sum(logits, target, eps=1e-6):
    """MT-DNN's NsKlCriterion summed over rows (Taskscope's stableKl times the row count)."""
    p = torch.softmax(logits, -1)
    y = torch.softmax(target, -1).detach()
    logit = lambda x: (-torch.log(1.0 / (x + eps) - 1.0 + eps)).detach()
    return (p * (logit(p) - logit(y)) * 2).sum()


def _kl_sum(inp, target):
    """KL(softmax(target) || softmax(inp)) summed over classes and rows (Taskscope's klDivergence times rows)."""
    return (torch.softmax(target, -1) * (torch.log_softmax(target, -1) - torch.log_softmax(inp, -1))).sum()


def _inner_sum(adv, target, kind):
    if kind == 'regression':
        return ((adv.reshape(-1) - target.reshape(-1)) ** 2).sum()
    return _stable_kl_sum(_grouped(adv, kind), _grouped(target, kind))


def _outer_sum(logits, adv, kind):
    if kind == 'regression':
        return ((logits.reshape(-1) - adv.reshape(-1)) ** 2).sum()
    a, b = _grouped(logits, kind), _grouped(adv, kind)
    return _kl_sum(a, b.detach()) + _kl_sum(b, a.detach())


def _get_rng(device):
    return torch.cuda.get_rng_state(device) if device.type == 'cuda' else torch.get_rng_state()


def _set_rng(device, state):
    if device.type == 'cuda':
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


class SmartStep:
    """One micro-batch's SMART term on this rank. Make it before the clean forward (it notes the dropout generator's
    state for dropout 'same'), call `term` after it, or `idle` on a rank with no rows of the micro-batch."""

    def __init__(self, options, step_seed, device, world):
        self.o = options
        self.seed = step_seed
        self.device = device
        self.world = world
        self.before_clean = _get_rng(device) if options['dropout'] == 'same' else None

    def _finite(self, g):
        sq = (g.float() ** 2).sum()
        if self.world > 1:
            dist.all_reduce(sq)
        return math.isfinite(math.sqrt(float(sq))) if math.isfinite(float(sq)) else False

    def _draw(self, b, full_len, hidden, lo):
        """Rows lo..lo+b of the whole batch's [B, full_len, hidden] standard-normal draw. 'taskscope': tfjs's
        values (pure Python, about 0.6 s per million values); 'torch': torch.randn from the same seed, fast but
        other values. tfjs draws from Math.random for seed 0 (one seed in 2^32), so that draw is torch's too."""
        seed = noise_seed(self.seed)
        if self.o['noise'] == 'taskscope' and seed != 0:
            return random_normal([b, full_len, hidden], seed, skip=lo * full_len * hidden)
        g = torch.Generator().manual_seed(seed)
        return torch.randn([lo + b, full_len, hidden], generator=g)[lo:]

    def idle(self):
        """The collectives of a rank that holds none of the micro-batch's rows (their squared gradient norm is 0)."""
        if self.world > 1:
            for _ in range(self.o['steps']):
                self._finite(torch.zeros((), device=self.device))

    def term(self, forward, logits, mask, kind, hidden, full_len, lo, n_units):
        """alpha * this rank's share of the adversarial loss (None when the inner gradient was not finite).
        forward(delta) runs this rank's rows with delta added to the embedding output; mask [b, T] is theirs;
        they are rows lo.. of a micro-batch padded to full_len tokens (the noise is that batch's [B, full_len, hidden]
        draw); n_units rows (groups for ranking) make the whole batch's mean."""
        o = self.o
        b, T = mask.shape
        full = self._draw(b, full_len, hidden, lo)
        noise = (full[:, :T].to(self.device) * o['noiseVar']) * mask.to(torch.float32).view(b, T, 1)
        # The adversarial forwards' dropout: 'fresh' shares one generator state among them, apart from the clean
        # forward's; 'same' replays the clean forward's. (Taskscope seeds its masks; torch's differ, as with no SMART.)
        state = self.before_clean if o['dropout'] == 'same' else _get_rng(self.device)

        def adv_forward(delta):
            _set_rng(self.device, state)
            return forward(delta)

        target = logits.detach()
        p = torch.zeros_like(noise)
        finite = True
        for _ in range(o['steps']):
            n = noise.clone().requires_grad_(True)
            inner = _inner_sum(adv_forward(p + n), target, kind) / n_units
            (g,) = torch.autograd.grad(inner, n)
            ok = self._finite(g)
            direction = normalize_gradient(g, o['norm'], o['epsilon'])
            safe = torch.where(torch.isfinite(direction), direction, torch.zeros_like(direction)) * (1.0 if ok else 0.0)
            p = (p + safe * o['stepSize']).detach()
            finite = finite and ok
        adv = adv_forward(p)
        if not finite:
            return None
        return _outer_sum(logits, adv, kind) / n_units * o['alpha']
