"""One optimiser step of data-parallel multi-task training.

Every micro-batch is split across the ranks (contiguous slices of its rows); each rank's loss is its share of the
batch-mean loss, and the gradients are summed over ranks with all_reduce before clipping, so N processes compute the
same update as one process with the whole batch (what DistributedDataParallel does, done by hand because each step
touches only one task's head)."""
import math

import torch
import torch.distributed as dist

from .evaluation import batch_targets, make_batch
from .heads import per_example_loss
from .smart import SmartStep, dropout_seed


def shard(n, rank, world, group):
    """Rank `rank`'s contiguous slice of n rows (whole groups of `group` rows), as torch.tensor_split divides."""
    groups = n // group
    base, extra = divmod(groups, world)
    start = rank * base + min(rank, extra)
    size = base + (1 if rank < extra else 0)
    return start * group, (start + size) * group


class NonFinite(Exception):
    pass


def train_step(model, opt, schedule, train, kinds, pad_id, device, rank, world, acc, global_clip, smart=None, seed=0):
    """Draws gradAccumulation micro-batches from `schedule`, accumulates, clips, steps. Returns what the log needs.
    `smart`: SMART's options (taskscope_torch/smart.py) or None; `seed` the experiment's (SMART's noise)."""
    tasks = model.tasks
    touched = set()
    losses, names, weights = [], [], []
    epoch_end = False
    epoch = 0
    rows_in_step = tokens_in_step = 0
    for _ in range(acc):
        adv = SmartStep(smart, dropout_seed(seed, schedule.micro), device, world) if smart else None
        mb = schedule.next()
        ti = mb['task']
        kind = kinds[ti]
        epoch = mb['epoch']
        epoch_end = epoch_end or mb['epochEnd']
        touched.update(model.task_param_names(ti))
        rows = [train[ti][r] for r in mb['rows']]
        group = 2 if kind == 'ranking' else 1
        n_units = len(rows) // group
        lo, hi = shard(len(rows), rank, world, group)
        loss_sum = torch.zeros((), device=device)
        if hi > lo:
            ids, types, mask, lab = make_batch(rows[lo:hi], pad_id, device)
            out = model(ti, ids, types, mask)
            loss_sum = per_example_loss(kind, out, batch_targets(kind, lab)).sum()
            # This rank's share of weight * mean(loss) / gradAccumulation over the whole micro-batch.
            total = loss_sum * (mb['weight'] / (n_units * acc))
            if adv is not None:
                full_len = max(len(r['ids']) for r in rows)
                forward = lambda delta: model(ti, ids, types, mask, delta=delta)
                term = adv.term(forward, out, mask, kind, model.bert.c['hidden_size'], full_len, lo, n_units)
                if term is not None:  # SMART is not task-weighted; like the task loss it is scaled by 1/gradAccumulation
                    total = total + term / acc
            total.backward()
        elif adv is not None:
            adv.idle()
        losses.append(loss_sum.detach() / n_units)
        names.append(tasks[ti]['name'])
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
        raise NonFinite(f'non-finite loss or gradient norm on task {names[-1]}')
    if global_clip > 0:
        coef = torch.clamp(global_clip / (total + 1e-6), max=1.0)
        grads = {n: g * coef for n, g in grads.items()}
    opt.step(grads)
    for p in model.parameters():
        p.grad = None
    return {'losses': loss_vec.tolist(), 'tasks': names, 'weights': weights, 'epoch': epoch, 'epochEnd': epoch_end,
            'gradNorm': grad_norm, 'rows': rows_in_step, 'tokens': tokens_in_step}
