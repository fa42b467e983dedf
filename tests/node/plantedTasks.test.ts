import { describe, expect, it } from 'vitest';
import {
  generatePlantedTask,
  isEvenWord,
  isLowWord,
  plantedHelpers,
  plantedTaskDef,
  readLatents,
  sharesSkill,
  PLANTED_TASKS,
  type PlantedLatents,
} from '../../src/engine/synthetic/plantedTasks.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { syntheticSplits, syntheticTokenizer } from '../../src/engine/synthetic/syntheticData.ts';

/** Hand-written solutions, one per task, from the skills it needs (written against the text, not the generator). */
const RULES: Record<string, (z: PlantedLatents) => boolean> = {
  'PL-FIRST-LOW': (z) => isLowWord(z.first),
  'PL-FIRST-EVEN': (z) => isEvenWord(z.first),
  'PL-MARK': (z) => z.mark,
  'PL-COUNT': (z) => z.count >= 2,
  'PL-ORDER': (z) => z.order,
  'PL-MATCH': (z) => z.match,
  'PL-MARK-COUNT': (z) => z.mark !== z.count >= 2,
  'PL-MATCH-ORDER': (z) => z.match !== z.order,
};

const ruleLabel = (task: string, ex: { textA: string; textB: string | null }) => Number(RULES[task](readLatents(ex.textA, ex.textB)));

describe('planted-relations tasks', () => {
  it('each task is solved exactly by the hand-written rule of its skills on noise-free data', () => {
    expect(Object.keys(RULES).sort()).toEqual([...PLANTED_TASKS].sort());
    for (const task of PLANTED_TASKS) {
      const xs = generatePlantedTask(task, 2000, 3);
      const right = xs.filter((ex) => ruleLabel(task, ex) === ex.label).length;
      expect(right, task).toBe(2000);
      const positives = xs.filter((ex) => ex.label === 1).length / xs.length;
      expect(Math.abs(positives - 0.5), `${task} balance`).toBeLessThan(0.04); // 4 sd of a fair coin over 2000 rows is 0.045
    }
  });

  it('inputs are well-formed: A has 8–12 words, w0–w3 only as planted markers, exactly one w2 and one w3, B has 4–7 words', () => {
    for (const ex of generatePlantedTask('PL-MATCH-ORDER', 500, 11)) {
      const a = ex.textA.split(' ').map((w) => Number(w.slice(1)));
      const b = ex.textB!.split(' ').map((w) => Number(w.slice(1)));
      expect(a.length).toBeGreaterThanOrEqual(8);
      expect(a.length).toBeLessThanOrEqual(12);
      expect(b.length).toBeGreaterThanOrEqual(4);
      expect(b.length).toBeLessThanOrEqual(7);
      expect(a[0]).toBeGreaterThanOrEqual(4);
      expect(a.filter((w) => w === 2).length).toBe(1);
      expect(a.filter((w) => w === 3).length).toBe(1);
      expect(a.filter((w) => w === 0).length).toBeLessThanOrEqual(1);
      expect(a.filter((w) => w === 1).length).toBeLessThanOrEqual(3);
      expect(b.every((w) => w >= 4)).toBe(true);
    }
  });

  it('labels are flipped at the noise rate, and a seed reproduces the same rows', () => {
    const xs = generatePlantedTask('PL-MARK', 4000, 5, { noise: 0.2 });
    const wrong = xs.filter((ex) => ruleLabel('PL-MARK', ex) !== ex.label).length / xs.length;
    expect(Math.abs(wrong - 0.2)).toBeLessThan(0.025); // sd 0.0063
    expect(generatePlantedTask('PL-MARK', 50, 5, { noise: 0.2 })).toEqual(xs.slice(0, 50));
    expect(generatePlantedTask('PL-MARK', 50, 6)).not.toEqual(generatePlantedTask('PL-MARK', 50, 5));
    expect(() => generatePlantedTask('PL-MARK', 1, 1, { noise: 0.6 })).toThrow('planted tasks: noise must be in [0, 0.5], got 0.6');
    expect(() => generatePlantedTask('PL-NOPE', 1, 1)).toThrow('planted tasks: unknown task PL-NOPE');
  });

  it('tasks that share no skill have independent labels (measured on one large sample): by construction they read disjoint independent latents', () => {
    // One sample of inputs; every task's rule applied to each. Independence of two fair bits: P(a ∧ b) = 1/4.
    const xs = generatePlantedTask('PL-ORDER', 40_000, 21);
    const labels = Object.fromEntries(PLANTED_TASKS.map((t) => [t, xs.map((ex) => ruleLabel(t, ex))]));
    const pairs: { a: string; b: string; shares: boolean; dev: number }[] = [];
    for (let i = 0; i < PLANTED_TASKS.length; i++) {
      for (let j = i + 1; j < PLANTED_TASKS.length; j++) {
        const [a, b] = [PLANTED_TASKS[i], PLANTED_TASKS[j]];
        const pa = labels[a].reduce((s, x) => s + x, 0) / xs.length;
        const pb = labels[b].reduce((s, x) => s + x, 0) / xs.length;
        const pab = labels[a].reduce((s, x, k) => s + (x & labels[b][k]), 0) / xs.length;
        pairs.push({ a, b, shares: sharesSkill(a, b), dev: Math.abs(pab - pa * pb) });
      }
    }
    const unrelated = pairs.filter((p) => !p.shares);
    expect(unrelated.length).toBe(23); // 28 pairs, 5 of them share a skill
    // |P(a∧b) − P(a)P(b)| has sd ≈ 0.0022 at n = 40,000 under independence; 0.01 is > 4 sd.
    for (const p of unrelated) expect(p.dev, `${p.a} vs ${p.b}`).toBeLessThan(0.01);
  });

  it('the planted relations: helpers are the tasks sharing a skill', () => {
    expect(plantedTaskDef('PL-MARK-COUNT').skills).toEqual(['mark', 'count']);
    expect(plantedHelpers('PL-FIRST-LOW', PLANTED_TASKS)).toEqual(['PL-FIRST-EVEN']);
    expect(plantedHelpers('PL-MARK', PLANTED_TASKS)).toEqual(['PL-MARK-COUNT']);
    expect(plantedHelpers('PL-MARK-COUNT', PLANTED_TASKS)).toEqual(['PL-MARK', 'PL-COUNT']);
    expect(plantedHelpers('PL-ORDER', PLANTED_TASKS)).toEqual(['PL-MATCH-ORDER']);
    expect(sharesSkill('PL-MATCH', 'PL-ORDER')).toBe(false);
  });

  it('splits go through the synthetic vocabulary: every word one token, dev from another stream', () => {
    const s = syntheticSplits(['PL-COUNT'], { trainRows: 40, devRows: 10, seed: 2, maxLength: 32 });
    expect(s['PL-COUNT'].train.rows).toBe(40);
    expect(s['PL-COUNT'].dev!.rows).toBe(10);
    const ex = generatePlantedTask('PL-COUNT', 1, 2)[0];
    const enc = syntheticTokenizer().encode(ex.textA, ex.textB, { maxLength: 32, padding: 'none' });
    expect(enc.tokens).not.toContain('[UNK]');
    expect(enc.inputIds.length).toBe(ex.textA.split(' ').length + ex.textB!.split(' ').length + 3);
  });

  it('the experiment schema takes planted tasks with data.kind "synthetic" only', () => {
    const exp = parseExperiment({ data: { kind: 'synthetic', trainRows: 300, noise: 0.1 }, tasks: [{ name: 'PL-MARK' }, { name: 'PL-COUNT' }] });
    expect(exp.tasks.map((t) => t.name)).toEqual(['PL-MARK', 'PL-COUNT']);
    expect(exp.data).toEqual({ kind: 'synthetic', trainRows: 300, noise: 0.1 });
    expect(() => parseExperiment({ tasks: [{ name: 'PL-MARK' }] }, 'x.json')).toThrow(
      'x.json: data.kind: the synthetic tasks (PL-MARK) need data.kind "synthetic"',
    );
    expect(() => parseExperiment({ data: { kind: 'synthetic' }, tasks: [{ name: 'PL-MARK' }, { name: 'RTE' }] }, 'x.json')).toThrow(
      'x.json: tasks.1.name: "RTE" cannot be mixed with synthetic tasks',
    );
    expect(() => parseExperiment({ data: { kind: 'synthetic', noise: 0.7 }, tasks: [{ name: 'PL-MARK' }] })).toThrow(
      'data.noise: Invalid value: Expected <=0.5 but received 0.7',
    );
  });
});

describe('synthetic data in the CLI', () => {
  it('syntheticRunData generates every task from the experiment seed, applies maxTrainRows and per-task dropout', async () => {
    const { syntheticRunData, dataSourceOf } = await import('../../src/cli/experimentDataSource.ts');
    const exp = parseExperiment({
      data: { kind: 'synthetic', trainRows: 120, devRows: 30 },
      seed: 4,
      maxLength: 32,
      tasks: [{ name: 'PL-MARK', maxTrainRows: 50, dropout: 0.2 }, { name: 'PL-ORDER' }],
    });
    const { data, specs } = syntheticRunData(exp);
    expect(data['PL-MARK'].train.rows).toBe(50);
    expect(data['PL-ORDER'].train.rows).toBe(120);
    expect(data['PL-ORDER'].dev!.rows).toBe(30);
    expect(specs['PL-MARK']).toEqual({ name: 'PL-MARK', type: 'classification', numLabels: 2, metrics: ['acc'], dropout: 0.2 });
    expect(specs['PL-ORDER'].dropout).toBe(0.1);
    expect(syntheticRunData(exp).data['PL-MARK'].train.uids).toEqual(data['PL-MARK'].train.uids);
    expect(data['PL-MARK'].train.uids[0]).toBe('PL-MARK-4-0');
    expect(() => dataSourceOf(exp, 'encode')).toThrow('encode: data kind "synthetic" is generated, not read: only train, select, prune and study take it');
  });
});
