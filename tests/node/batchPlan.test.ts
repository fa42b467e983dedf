import { beforeAll, describe, expect, it } from 'vitest';
import { BatchReader, type BatchPlanMode } from '../../src/engine/data/batchReader.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import type { StepEvent } from '../../src/engine/train/trainEvents.ts';
import type { TaskSplits } from '../../src/engine/train/trainer.ts';
import { disposeTrainersAfterEach, tinyExperiment, tinyTrainer, toyRows } from '../helpers/tinyTraining.ts';
import { useBackend } from '../helpers/nodeBackends.ts';

/** One epoch's batches as row-id lists, in the order the reader hands them out. */
function epochBatches(r: BatchReader): string[] {
  return Array.from({ length: r.batchesPerEpoch }, () => r.next().uids.join(','));
}

const rows = () => memorySplit('RTE', 'train', toyRows('pair', 37, 3), { type: 'classification' });

describe('batch plans across epochs', () => {
  const epochs = (plan: BatchPlanMode) => {
    const r = new BatchReader([rows()], { batchSize: 4, seed: 'plan', plan });
    return [epochBatches(r), epochBatches(r), epochBatches(r)];
  };
  const sorted = (xs: string[]) => [...xs].sort();

  it("'fixed' replays epoch 0's batches in the same order", () => {
    const [e0, e1, e2] = epochs('fixed');
    expect(e0).toHaveLength(10);
    expect(e1).toEqual(e0);
    expect(e2).toEqual(e0);
  });

  it("'fixed-contents' keeps every batch and reshuffles their order", () => {
    const [e0, e1, e2] = epochs('fixed-contents');
    expect(sorted(e1)).toEqual(sorted(e0));
    expect(sorted(e2)).toEqual(sorted(e0));
    expect(e1).not.toEqual(e0);
    expect(e2).not.toEqual(e1);
  });

  it("'reshuffle' forms new batches each epoch; epoch 0 is the same under every plan", () => {
    const [e0, e1] = epochs('reshuffle');
    expect(e0).toEqual(epochs('fixed')[0]);
    expect(e0).toEqual(epochs('fixed-contents')[0]);
    const kept = e1.filter((b) => e0.includes(b)).length;
    expect(kept).toBeLessThan(3);
  });

  it.each(['fixed', 'fixed-contents', 'reshuffle'] as const)('%s resumes mid-epoch to the same batches', (plan) => {
    const a = new BatchReader([rows()], { batchSize: 4, seed: 'plan', plan });
    for (let i = 0; i < 23; i++) a.next();
    const b = new BatchReader([rows()], { batchSize: 4, seed: 'plan', plan });
    b.restore(JSON.parse(JSON.stringify(a.position)));
    const next = (r: BatchReader) => Array.from({ length: 15 }, () => r.next().uids.join(','));
    expect(next(b)).toEqual(next(a));
  });

  it('refuses an unknown plan', () => {
    expect(() => new BatchReader([rows()], { batchSize: 4, seed: 1, plan: 'weekly' as BatchPlanMode })).toThrow(
      "plan must be 'fixed', 'fixed-contents' or 'reshuffle', got weekly",
    );
  });
});

/**
 * At learning rate 0 with dropout off the weights never move, so each batch's loss is a fingerprint of its
 * contents: equal losses across epochs mean equal batches.
 */
describe('trainer batches at learning rate 0', () => {
  beforeAll(() => useBackend('cpu'));
  const track = disposeTrainersAfterEach();
  const data = (): Record<string, TaskSplits> => {
    const split = (task: string, kind: 'pair' | 'score', n: number, seed: number) =>
      memorySplit(task, 'train', toyRows(kind, n, seed), { type: kind === 'pair' ? 'classification' : 'regression' });
    return {
      RTE: { train: split('RTE', 'pair', 45, 1) },
      MRPC: { train: split('MRPC', 'pair', 19, 2) },
      'STS-B': { train: split('STS-B', 'score', 70, 3) },
    };
  };
  const tasks = [
    { name: 'RTE' as const, dropout: 0 },
    { name: 'MRPC' as const, dropout: 0 },
    { name: 'STS-B' as const, dropout: 0 },
  ];

  async function stepEvents(over: Parameters<typeof tinyExperiment>[0]): Promise<{ events: StepEvent[]; epochLength: number }> {
    const events: StepEvent[] = [];
    const exp = tinyExperiment({ tasks, optimizer: { kind: 'adamax', lr: 0 }, encoderDropout: 0, epochs: 3, batchSize: 4, ...over });
    const t = track(tinyTrainer(exp, data(), { onEvent: (e) => e.type === 'step' && events.push(e) }));
    while (t.step < t.totalSteps) await t.trainStep();
    return { events, epochLength: t.epochLength };
  }

  /** Per epoch and task, the losses of that task's batches in the order they came. */
  function lossesByEpochAndTask(events: StepEvent[], epochLength: number): Map<string, number[]>[] {
    const out: Map<string, number[]>[] = [];
    events.forEach((e, i) => {
      const epoch = Math.floor(i / epochLength);
      out[epoch] ??= new Map();
      const list = out[epoch].get(e.task) ?? [];
      list.push(e.loss);
      out[epoch].set(e.task, list);
    });
    return out;
  }

  it("MT-DNN ('fixed', as the seed) keeps every task's batches and re-orders only the tasks", async () => {
    const { events, epochLength } = await stepEvents({ batches: 'fixed' });
    expect(epochLength).toBe(12 + 5 + 18);
    expect(events).toHaveLength(3 * epochLength);
    const [e0, e1, e2] = lossesByEpochAndTask(events, epochLength);
    for (const task of ['RTE', 'MRPC', 'STS-B']) {
      expect(e0.get(task)!.length).toBe(task === 'RTE' ? 12 : task === 'MRPC' ? 5 : 18);
      // Same batches in the same order: the same weights give the same losses (within float rounding of one op order).
      e1.get(task)!.forEach((l, i) => expect(l).toBeCloseTo(e0.get(task)![i], 6));
      e2.get(task)!.forEach((l, i) => expect(l).toBeCloseTo(e0.get(task)![i], 6));
    }
    const taskOrder = (from: number) =>
      events
        .slice(from, from + epochLength)
        .map((e) => e.task)
        .join(',');
    expect(taskOrder(epochLength)).not.toBe(taskOrder(0));
  });

  it("'reshuffle' (Taskscope's own option) gives batches epoch 1 never had in epoch 0 — the fingerprint can fail", async () => {
    const { events, epochLength } = await stepEvents({ batches: 'reshuffle' });
    const [e0, e1] = lossesByEpochAndTask(events, epochLength);
    let unseen = 0;
    for (const task of ['RTE', 'MRPC', 'STS-B']) {
      for (const l of e1.get(task)!) if (!e0.get(task)!.some((m) => Math.abs(m - l) < 1e-6)) unseen++;
    }
    expect(unseen).toBeGreaterThan(20);
  });

  it('anneal with gradient accumulation 2: every optimiser step holds one task', async () => {
    const { events } = await stepEvents({ batches: 'fixed', sampler: { kind: 'anneal' }, gradAccumulation: 2 });
    expect(events.length).toBe(Math.floor((3 * 35) / 2));
    for (const e of events) {
      expect(e.tasks).toHaveLength(2);
      expect(new Set(e.tasks).size).toBe(1);
    }
    // All three tasks still take part.
    expect(new Set(events.map((e) => e.task)).size).toBe(3);
  });

  it('MT-DNN with gradient accumulation 2 accumulates its batch list as it comes, mixing tasks as the seed does', async () => {
    const { events } = await stepEvents({ batches: 'fixed', gradAccumulation: 2 });
    const mixed = events.filter((e) => new Set(e.tasks).size > 1).length;
    expect(mixed).toBeGreaterThan(0);
  });
});
