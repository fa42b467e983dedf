"""Optimisers and schedule (src/engine/train/optim, schedule.ts in Taskscope): state is created per parameter on its
first gradient; afterwards a parameter without a gradient is updated with a zero one (torch's behaviour for a
zero-filled .grad); each parameter counts its own steps, which some originals feed to the schedule."""
import math

import torch

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
