"""The run's micro-batch sequence, generated from the seed and the data exactly as Taskscope generates it
(src/engine/train/microBatchSchedule.ts, taskScheduler.ts, sampling/, data/batchReader.ts): each epoch's task order
from the sampler (MT-DNN mix_opt / ratio; annealed, proportional, sqrt, uniform or temperature sampling), each
task's seeded batch reader under the experiment's `batches` mode (fixed / fixed-contents / reshuffle), the SIWLM
loss weights (task_weight * alpha), and one task per optimiser step for the sampled modes.

Needs no torch: `python3 -m taskscope_torch.schedule --count N DIR...` prints the first N micro-batches of each
export folder (`--epochs E`: of its first E epochs) as one JSON line per folder, for checks."""
import json
import math
import os
import sys

from .rng import Rng

# EmBERT/PALs' hard-coded training-set sizes (sampler.sizes 'original').
EMBERT_TASK_ORDER = ['CoLA', 'MRPC', 'MNLI', 'RTE', 'STS-B', 'SST-2', 'QQP', 'QNLI']
EMBERT_TASK_SIZES = [6680, 2865, 306798, 1945, 4491, 52616, 284257, 84715]
SIWLM_WINDOW = 20
SIWLM_OFF_FOCUS_ALPHA = 0.1
BUCKET_BATCHES = 50


class BatchReader:
    """One task's batches: rows shuffled, length-bucketed in windows of 50 batches (stable sort), cut into batches,
    batches shuffled; later epochs follow `plan`. Batches are lists of row indices into the task's split."""

    def __init__(self, lengths, batch_size, seed, plan):
        if plan not in ('fixed', 'fixed-contents', 'reshuffle'):
            raise ValueError(f"batches must be 'fixed', 'fixed-contents' or 'reshuffle', got {plan}")
        self.lengths = lengths
        self.batch_size = batch_size
        self.mode = plan
        self.epoch = 0
        self.cursor = 0
        self.epoch_state = Rng(seed).get_state()
        rng = Rng.from_state(self.epoch_state)
        self.first_plan = self._form(rng)
        self.after_first = rng.get_state()
        self.plan = []
        self.next_state = self._make_plan()

    def _form(self, rng):
        order = rng.shuffle(list(range(len(self.lengths))))
        window = self.batch_size * BUCKET_BATCHES
        plan = []
        for w in range(0, len(order), window):
            chunk = sorted(order[w:w + window], key=lambda r: self.lengths[r])
            plan += [chunk[k:k + self.batch_size] for k in range(0, len(chunk), self.batch_size)]
        return rng.shuffle(plan)

    def _make_plan(self):
        if self.epoch == 0 or self.mode == 'fixed':
            self.plan = self.first_plan
            return self.after_first if self.epoch == 0 else self.epoch_state
        rng = Rng.from_state(self.epoch_state)
        self.plan = rng.shuffle(list(self.first_plan)) if self.mode == 'fixed-contents' else self._form(rng)
        return rng.get_state()

    def next(self):
        if self.cursor >= len(self.plan):
            self.epoch += 1
            self.epoch_state = self.next_state
            self.next_state = self._make_plan()
            self.cursor = 0
        b = self.plan[self.cursor]
        self.cursor += 1
        return b

    def get_state(self):
        return {'epoch': self.epoch, 'cursor': self.cursor, 'rngState': list(self.epoch_state)}

    def set_state(self, p):
        self.epoch = p['epoch']
        self.epoch_state = list(p['rngState'])
        self.next_state = self._make_plan()
        self.cursor = p['cursor']


def power_probs(sizes, alpha):
    w = [n ** alpha for n in sizes]
    total = 0
    for x in w:
        total += x
    return [x / total for x in w]


def sampling_probs(sampler, names, sizes, epoch, total_epochs):
    kind = sampler['kind']
    if kind == 'anneal' and sampler.get('sizes', 'true') == 'original':
        missing = [n for n in names if n not in EMBERT_TASK_ORDER]
        if missing:
            raise ValueError(f"sampler.sizes 'original': EmBERT has no hard-coded size for {missing[0]}")
        sizes = [EMBERT_TASK_SIZES[EMBERT_TASK_ORDER.index(n)] for n in names]
    if kind == 'anneal':
        e = min(epoch, total_epochs - 1)
        return power_probs(sizes, 1 if total_epochs == 1 else 1 - (0.8 * e) / (total_epochs - 1))
    if kind in ('proportional', 'sqrt', 'uniform'):
        return power_probs(sizes, {'proportional': 1, 'sqrt': 0.5, 'uniform': 0}[kind])
    if kind == 'temperature':
        return power_probs(sizes, 1 / sampler['temperature'])
    raise ValueError(f'sampler {kind} is not in the exported trainer')


def mtdnn_epoch(counts, mix_opt, ratio, rng):
    aux = [t for t in range(1, len(counts)) for _ in range(counts[t])]
    main = [0] * counts[0]
    if len(counts) > 1 and ratio > 0:
        extra = rng.sample(aux, math.floor(min(counts[0] * ratio, len(aux))))
        if mix_opt > 0:
            rng.shuffle(extra)
        order = extra + main
    else:
        if mix_opt > 0:
            rng.shuffle(aux)
        order = aux + main
    if mix_opt < 1:
        rng.shuffle(order)
    return order


class SiwlmCounter:
    def __init__(self, num_tasks):
        self.n = num_tasks
        self.epoch = 0
        self.iteration = 0

    def start_epoch(self, epoch):
        self.epoch = epoch
        self.iteration = 0

    def next(self, task):
        if self.epoch % 2 != 0:
            return 1 if task == 0 else SIWLM_OFF_FOCUS_ALPHA
        if self.iteration == SIWLM_WINDOW * self.n:
            self.iteration = 0
        focus = self.iteration // SIWLM_WINDOW
        self.iteration += 1
        return 1 if task == focus else SIWLM_OFF_FOCUS_ALPHA


class MicroBatchSchedule:
    """`tasks` are the export's tasks in run order (SIWLM central task first); `lengths[i]` the token counts of task
    i's training rows. next() gives (task index, row indices, loss weight, epoch, epoch end)."""

    def __init__(self, experiment, tasks, lengths):
        exp = experiment
        self.sampler = exp['sampler']
        self.acc = exp['gradAccumulation']
        seed = exp['seed']
        self.names = [t['name'] for t in tasks]
        entries = {t['name']: t for t in exp['tasks']}
        self.readers = [BatchReader(lengths[i], exp['batchSize'], f'{seed}/train/{n}', exp['batches']) for i, n in enumerate(self.names)]
        siwlm = exp['siwlm']
        self.weights = [1 if not siwlm['enabled'] else siwlm['centralWeight'] if i == 0 else entries[n].get('weight', 1)
                        for i, n in enumerate(self.names)]
        self.siwlm = SiwlmCounter(len(tasks)) if siwlm['enabled'] and siwlm.get('alternation', True) else None
        self.counts = [len(r.first_plan) for r in self.readers]
        self.sizes = [len(x) for x in lengths]
        self.total_epochs = max(1, math.ceil(exp['epochs']))
        self.epoch_length = len(self._order(0, Rng(0)))
        self.rng = Rng(f'{seed}/sampler')
        self.micro = 0
        self.completed = 0
        self.step_task = 0
        self._begin(0)

    def _order(self, epoch, rng):
        s = self.sampler
        if s['kind'] == 'mtdnn':
            return mtdnn_epoch(self.counts, s.get('mixOpt', 0), s.get('ratio', 0), rng)
        probs = sampling_probs(s, self.names, self.sizes, epoch, self.total_epochs)
        steps = s.get('stepsPerEpoch') or sum(self.counts)
        return [rng.choice_weighted(probs) for _ in range(steps)]

    def _begin(self, epoch):
        self.epoch = epoch
        self.epoch_rng_state = self.rng.get_state()
        self.order = self._order(epoch, self.rng)
        self.position = 0
        if self.siwlm:
            self.siwlm.start_epoch(epoch)

    def next(self):
        if self.position >= len(self.order):
            self._begin(self.epoch + 1)
        entry = self.order[self.position]
        self.position += 1
        step_start = self.micro % self.acc == 0
        task = entry if step_start or self.sampler['kind'] == 'mtdnn' else self.step_task
        self.step_task = task
        epoch_end = self.position == len(self.order)
        if epoch_end:
            self.completed += 1
        self.micro += 1
        rows = self.readers[task].next()
        weight = self.weights[task] * (self.siwlm.next(task) if self.siwlm else 1)
        return {'task': task, 'rows': rows, 'weight': weight, 'epoch': self.epoch, 'epochEnd': epoch_end}

    def get_state(self):
        """Taskscope's train-state fields for the schedule (TrainStateMeta)."""
        return {'microStep': self.micro, 'epoch': self.epoch, 'epochPosition': self.position, 'completedEpochs': self.completed,
                'epochRngState': list(self.epoch_rng_state), 'rngState': self.rng.get_state(),
                'readers': {n: r.get_state() for n, r in zip(self.names, self.readers)},
                'siwlm': {'epoch': self.siwlm.epoch, 'iteration': self.siwlm.iteration} if self.siwlm else None}

    def set_state(self, s):
        for n, r in zip(self.names, self.readers):
            r.set_state(s['readers'][n])
        self.rng = Rng.from_state(s['epochRngState'])
        self.epoch = s['epoch']
        self.epoch_rng_state = list(s['epochRngState'])
        self.order = self._order(self.epoch, self.rng)
        if self.rng.get_state() != list(s['rngState']):
            raise ValueError(f"resume: the sampler state does not reproduce epoch {s['epoch']}'s task order (data changed?)")
        self.position = s['epochPosition']
        if self.siwlm:
            self.siwlm.epoch, self.siwlm.iteration = s['siwlm']['epoch'], s['siwlm']['iteration']
        self.micro = s['microStep']
        self.completed = s['completedEpochs']
        self.step_task = 0


def lengths_of(jsonl_path):
    with open(jsonl_path) as f:
        return [len(json.loads(line)['ids']) for line in f if line.strip()]


def schedule_of(folder):
    with open(os.path.join(folder, 'experiment.json')) as f:
        experiment = json.load(f)
    with open(os.path.join(folder, 'export.json')) as f:
        tasks = json.load(f)['tasks']
    lengths = [lengths_of(os.path.join(folder, 'data', t['name'], 'train.jsonl')) for t in tasks]
    return MicroBatchSchedule(experiment, tasks, lengths)


if __name__ == '__main__':
    args = sys.argv[1:]
    if len(args) < 3 or args[0] not in ('--count', '--epochs'):
        raise SystemExit('usage: python3 -m taskscope_torch.schedule --count N | --epochs E  DIR...')
    for d in args[2:]:
        sch = schedule_of(d)
        n = int(args[1]) if args[0] == '--count' else int(args[1]) * sch.epoch_length
        print(json.dumps({'dir': d, 'epochLength': sch.epoch_length, 'batches': [sch.next() for _ in range(n)]}))
