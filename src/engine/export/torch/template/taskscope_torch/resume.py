"""Resumable train state: model and optimiser tensors, the schedule's position (Taskscope's TrainStateMeta fields),
each rank's torch generator (dropout), the counters. Written with torch.save, atomically, under <out>/train-state/."""
import os

import torch

STATE_FORMAT = 'taskscope-torch-state/1'


def _atomic_save(obj, path):
    tmp = path + '.tmp'
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_path(folder, rank):
    return os.path.join(folder, f'rng-rank{rank}.pt')


def save_state(folder, rank, world, model, opt, schedule, counters):
    """Every rank writes its generator; rank 0 writes the rest (the ranks hold the same weights and schedule)."""
    os.makedirs(folder, exist_ok=True)
    rng = {'cpu': torch.get_rng_state()}
    if torch.cuda.is_available():
        rng['cuda'] = torch.cuda.get_rng_state()
    _atomic_save(rng, _rng_path(folder, rank))
    if rank != 0:
        return
    state = {
        'format': STATE_FORMAT,
        'world': world,
        'params': {n: p.detach().cpu().clone() for n, p in model.named.items()},
        'optimizer': {'global_step': opt.global_step,
                      'state': {n: {'m': s['m'].cpu(), 'v': s['v'].cpu(), 'steps': s['steps']} for n, s in opt.state.items()}},
        'schedule': schedule.get_state(),
        **counters,
    }
    _atomic_save(state, os.path.join(folder, 'state.pt'))


def load_state(folder, rank, world, model, opt, schedule, device):
    path = os.path.join(folder, 'state.pt')
    if not os.path.exists(path):
        raise SystemExit(f'--resume: {path} not found (a run saves it with --save-every N and when it stops)')
    state = torch.load(path, map_location='cpu')
    if state.get('format') != STATE_FORMAT:
        raise SystemExit(f'--resume: {path} is not a {STATE_FORMAT} state')
    if state['world'] != world:
        raise SystemExit(f"--resume: the state was saved by {state['world']} processes; resume with the same number (this run has {world})")
    with torch.no_grad():
        for n, p in model.named.items():
            p.copy_(state['params'][n].to(device))
    opt.global_step = state['optimizer']['global_step']
    opt.state = {n: {'m': s['m'].to(device), 'v': s['v'].to(device), 'steps': s['steps']}
                 for n, s in state['optimizer']['state'].items()}
    schedule.set_state(state['schedule'])
    rng = torch.load(_rng_path(folder, rank))
    torch.set_rng_state(rng['cpu'])
    if 'cuda' in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng['cuda'])
    return state
