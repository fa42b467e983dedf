#!/usr/bin/env python3
"""Taskscope experiment, exported for PyTorch (torch only; no transformers, no safetensors package).

Run on one process:            python3 train.py --out run
Data parallel on one machine:  torchrun --nproc_per_node 2 train.py --out run
Continue a stopped run:        python3 train.py --out run --resume
Several machines: see README.md in this folder.

What this reproduces of the Taskscope trainer (src/engine/train/trainer.ts in the Taskscope repository):
  * the model (taskscope_torch/model.py, heads.py): BERT with MT-DNN's heads (linear classification, regression,
    pairwise ranking, SAN) and the EmBERT / PALs variants;
  * the micro-batch sequence (taskscope_torch/schedule.py), generated here from the seed and data/ exactly as
    Taskscope generates it: sampler, batch readers, SIWLM weights, one task per step, accumulation. The first
    micro-batches are checked against schedule-check.jsonl, which Taskscope wrote;
  * loss / gradAccumulation, global clipping, data parallelism (taskscope_torch/step.py), the optimiser and the
    warmup schedules (optim.py), evaluation with the same metrics (evaluation.py), a log.jsonl in Taskscope's
    format, checkpoints in Hugging Face layout plus heads.json, and a resumable train state (resume.py).
"""
import argparse
import datetime
import json
import math
import os
import shutil
import time

import torch
import torch.distributed as dist

from taskscope_torch.evaluation import evaluate, mask_importance, read_jsonl
from taskscope_torch.heads import MultiTask
from taskscope_torch.optim import Optimizer, lr_at
from taskscope_torch.resume import load_state, save_state
from taskscope_torch.schedule import MicroBatchSchedule
from taskscope_torch.smart import smart_options
from taskscope_torch.step import NonFinite, train_step

HERE = os.path.dirname(os.path.abspath(__file__))


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


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='run', help='run folder: log.jsonl, metrics.json, checkpoint/ (default ./run)')
    ap.add_argument('--max-steps', type=int, default=0, help='stop after this optimiser step (0 = the whole run)')
    ap.add_argument('--resume', action='store_true', help='continue from <out>/train-state/ (same number of processes)')
    ap.add_argument('--device', default='auto', help='auto (cuda:LOCAL_RANK when available, else cpu) | cpu | cuda')
    ap.add_argument('--backend', default='auto', help='torch.distributed backend: auto (nccl on GPU, gloo on CPU) | gloo | nccl')
    ap.add_argument('--threads', type=int, default=0, help='torch intra-op threads per process (0 = torch default)')
    ap.add_argument('--save-every', type=int, default=0,
                    help='also write checkpoint-step<N>/ and the train state every N steps (0 = only when the run ends or stops)')
    ap.add_argument('--smart-noise', default='taskscope', choices=['taskscope', 'torch'],
                    help="SMART's initial noise: taskscope (tfjs's draw, Taskscope's values; pure Python, about 0.6 s per "
                         'million values) | torch (torch.randn, fast, other values)')
    ap.add_argument('--importance-rows', type=int, default=0,
                    help='after training, head importance (mask measure) on this many dev rows per task -> importance.json (0 = skip)')
    return ap.parse_args()


def check_schedule(schedule, export):
    """The generated sequence must start as Taskscope's did (schedule-check.jsonl); the generator is then left as new."""
    if schedule.epoch_length != export['epochLength']:
        raise SystemExit(f"schedule: {schedule.epoch_length} micro-batches per epoch here, {export['epochLength']} in Taskscope")
    path = os.path.join(HERE, 'schedule-check.jsonl')
    if not os.path.exists(path):
        return
    for n, want in enumerate(read_jsonl(path), 1):
        got = schedule.next()
        if [got['task'], got['rows'], got['weight']] != [want['task'], want['rows'], want['weight']]:
            raise SystemExit(f'schedule-check.jsonl:{n}: Taskscope drew task {want["task"]} rows {want["rows"][:4]}..., '
                             f'this trainer task {got["task"]} rows {got["rows"][:4]}...')


def resumed_log(path, step):
    """The log lines of a resumed run up to its saved step (a run cut later wrote lines the resumed run redoes)."""
    if not os.path.exists(path):
        return ''
    keep = [l for l in read_jsonl(path) if l['type'] in ('step', 'eval') and l['step'] <= step]
    return ''.join(json_line(l) for l in keep)


def main():
    args = parse_args()
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
    train = [read_jsonl(os.path.join(HERE, 'data', t['name'], 'train.jsonl')) for t in tasks]
    dev = {}
    for t in tasks:
        p = os.path.join(HERE, 'data', t['name'], 'dev.jsonl')
        if os.path.exists(p):
            dev[t['name']] = read_jsonl(p)
    # thresholdHoldout: the held-out training rows Taskscope split off (data/<task>/holdout.jsonl), for F1 thresholds.
    holdout = {t['name']: read_jsonl(os.path.join(HERE, 'data', t['name'], 'holdout.jsonl')) for t in tasks
               if os.path.exists(os.path.join(HERE, 'data', t['name'], 'holdout.jsonl'))}
    lengths = [[len(r['ids']) for r in rows] for rows in train]
    check_schedule(MicroBatchSchedule(experiment, tasks, lengths), export)
    schedule = MicroBatchSchedule(experiment, tasks, lengths)
    acc = export['gradAccumulation']
    total_steps = export['totalSteps']
    steps = min(total_steps, args.max_steps) if args.max_steps > 0 else total_steps
    o = export['optimizer']
    s = export['schedule']
    lr_of = lambda k: lr_at(k, export['scheduleTotal'], o['lr'], s['warmup'], s['kind'])
    opt = Optimizer(model.named, o, lr_of)
    kinds = [model.heads[t['name']].snap['kind'] for t in tasks]
    smart = smart_options(export.get('smart'), args.smart_noise)

    out = os.path.abspath(args.out)
    state_dir = os.path.join(out, 'train-state')
    counters = {'step': 0, 'perTask': {}, 'lastEvalStep': -1, 'lastEval': None, 'rows': 0, 'tokens': 0, 'trainSeconds': 0.0,
                'elapsed': 0.0, 'epoch': 0}
    if args.resume:
        saved = load_state(state_dir, rank, world, model, opt, schedule, device)
        counters = {k: saved[k] for k in counters}
    log = None
    if rank == 0:
        os.makedirs(out, exist_ok=True)
        earlier = resumed_log(os.path.join(out, 'log.jsonl'), counters['step']) if args.resume else ''
        log = open(os.path.join(out, 'log.jsonl'), 'w')
        log.write(earlier)
    started = time.time() - counters['elapsed']

    def emit(obj):
        if log is not None:
            log.write(json_line({**obj, 'wallSeconds': time.time() - started}))
            log.flush()

    def save():
        counters['elapsed'] = time.time() - started
        save_state(state_dir, rank, world, model, opt, schedule, counters)

    c = counters
    emit({'type': 'status', 'status': 'running', 'step': c['step'], 'world': world, 'device': str(device), 'resumed': args.resume})
    for step in range(c['step'] + 1, steps + 1):
        t0 = time.time()
        lr = lr_of(opt.global_step)
        try:
            r = train_step(model, opt, schedule, train, kinds, pad_id, device, rank, world, acc, export['globalClip'],
                           smart, export['seed'])
        except NonFinite as e:
            emit({'type': 'status', 'status': 'failed', 'step': step - 1, 'message': f'{e} at step {step}'})
            raise SystemExit(1)
        vals = r['losses']
        for n, v in zip(r['tasks'], vals):
            c['perTask'][n] = v
        c['step'], c['epoch'] = step, r['epoch']
        c['rows'] += r['rows']
        c['tokens'] += r['tokens']
        c['trainSeconds'] += time.time() - t0
        elapsed = time.time() - started
        emit({'type': 'step', 'step': step, 'totalSteps': total_steps, 'epoch': r['epoch'], 'task': r['tasks'][-1],
              'tasks': r['tasks'], 'weights': r['weights'], 'loss': sum(vals) / len(vals), 'perTaskLoss': dict(c['perTask']),
              'lr': lr, 'gradNorm': r['gradNorm'], 'examplesPerSec': c['rows'] / c['trainSeconds'],
              'tokensPerSec': c['tokens'] / c['trainSeconds'], 'etaSeconds': elapsed / step * (steps - step), 'elapsedSeconds': elapsed})
        every = lambda n: n > 0 and step % n == 0
        if rank == 0 and (r['epochEnd'] or every(export['evalEvery'])):
            c['lastEval'] = evaluate(model, tasks, dev, export['evalBatchSize'], pad_id, device, step, r['epoch'], holdout)
            c['lastEvalStep'] = step
            emit({'type': 'eval', **c['lastEval']})
        if every(args.save_every) and step < steps:
            if rank == 0:
                model.save(os.path.join(out, f'checkpoint-step{step}'), init_dir, experiment)
            save()
    if c['step'] == steps:
        save()
    if rank == 0:
        if c['lastEvalStep'] != steps:
            c['lastEval'] = evaluate(model, tasks, dev, export['evalBatchSize'], pad_id, device, steps, c['epoch'], holdout)
            emit({'type': 'eval', **c['lastEval']})
        status = 'done' if steps == total_steps else 'stopped'
        emit({'type': 'status', 'status': status, 'step': steps})
        summary = {'status': status, 'step': steps, 'totalSteps': total_steps, 'backend': f'torch {torch.__version__} {device}',
                   'world': world, 'seed': export['seed'], 'wallSeconds': time.time() - started, 'evaluation': c['lastEval'],
                   'examplesPerSec': c['rows'] / max(c['trainSeconds'], 1e-9), 'exportDir': HERE, 'padId': pad_id,
                   'evalBatchSize': export['evalBatchSize']}
        model.save(os.path.join(out, 'checkpoint'), init_dir, experiment, summary)
        with open(os.path.join(out, 'metrics.json'), 'w') as f:
            f.write(json.dumps(json.loads(json_line(summary)), indent=2) + '\n')
        log.close()
        # The dev rows go with the run, so Taskscope's page can measure head importance on the imported model.
        for t in tasks:
            src = os.path.join(HERE, 'data', t['name'], 'dev.jsonl')
            if os.path.exists(src):
                os.makedirs(os.path.join(out, 'data', t['name']), exist_ok=True)
                shutil.copyfile(src, os.path.join(out, 'data', t['name'], 'dev.jsonl'))
        if args.importance_rows > 0:
            imp = mask_importance(model, tasks, dev, pad_id, device, args.importance_rows)
            with open(os.path.join(out, 'importance.json'), 'w') as f:
                f.write(json.dumps({'measure': 'mask', 'tasks': imp}) + '\n')
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
