import { describe, expect, it } from 'vitest';
import { trainProgress } from '../../src/cli/trainProgress.ts';
import type { StepEvent } from '../../src/engine/train/trainEvents.ts';

function stepEvent(step: number, totalSteps: number, secondsPerStep: number): StepEvent {
  return {
    type: 'step',
    step,
    totalSteps,
    epoch: Math.floor((step - 1) / 100),
    task: 'RTE',
    tasks: ['RTE'],
    weights: [1],
    loss: 0.69,
    perTaskLoss: { RTE: 0.69 },
    lr: 2e-5,
    gradNorm: 1,
    examplesPerSec: 32 / secondsPerStep,
    tokensPerSec: 4096 / secondsPerStep,
    etaSeconds: secondsPerStep * (totalSteps - step),
    elapsedSeconds: secondsPerStep * step,
  };
}

/** A log file or a CI pipe: not a terminal, collects what is written. */
function pipe() {
  const chunks: string[] = [];
  return { stream: { isTTY: false, write: (t: string) => chunks.push(t) }, text: () => chunks.join('') };
}

describe('taskscope train progress without a terminal', () => {
  it('writes whole lines: the first step, one per interval, the last; step of the real total and a formatted ETA', () => {
    const out = pipe();
    let clock = 0;
    const p = trainProgress({ stream: out.stream, lineEverySeconds: 30, now: () => clock });
    p.start(0, 345, 0);
    for (let step = 1; step <= 345; step++) {
      clock = step * 1000; // one step a second
      p.step(stepEvent(step, 345, 1));
      if (step === 100) p.log('step 100 (epoch 0) dev: RTE accuracy 52.71; GLUE 52.71');
    }
    p.stop();
    const lines = out.text().split('\n');
    expect(lines.pop()).toBe(''); // every write ends its line: no carriage returns, no redraws
    expect(out.text()).not.toContain('\r');
    expect(lines[0]).toBe('step 1/345 (0%) | epoch 0 | loss 0.6900 | lr 2.00e-5 | 32.0 ex/s | 4096 tok/s | elapsed 1 s | ETA 5 min 44 s');
    expect(lines[1]).toBe('step 31/345 (8%) | epoch 0 | loss 0.6900 | lr 2.00e-5 | 32.0 ex/s | 4096 tok/s | elapsed 31 s | ETA 5 min 14 s');
    expect(lines).toContain('step 100 (epoch 0) dev: RTE accuracy 52.71; GLUE 52.71');
    expect(lines[lines.length - 1]).toBe('step 345/345 (100%) | epoch 3 | loss 0.6900 | lr 2.00e-5 | 32.0 ex/s | 4096 tok/s | elapsed 5 min 45 s | ETA 0 s');
    const stepLines = lines.filter((l) => l.startsWith('step ') && l.includes('/345'));
    // 1, 31, 61, …, 331 and 345.
    expect(stepLines.map((l) => Number(l.slice(5, l.indexOf('/'))))).toEqual([...Array.from({ length: 12 }, (_, i) => 1 + 30 * i), 345]);
  });

  it('a resumed run counts from where it resumed and says "estimating…" while the rate is 0', () => {
    const out = pipe();
    const p = trainProgress({ stream: out.stream, lineEverySeconds: 30, now: () => 0 });
    p.start(200, 345, 1);
    p.step({ ...stepEvent(201, 345, 1), examplesPerSec: 0, etaSeconds: 0 });
    p.step(stepEvent(202, 345, 2)); // same clock: within the interval, no line
    p.stop(); // stopped early: the step it reached is the last line
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'step 201/345 (58%) | epoch 2 | loss 0.6900 | lr 2.00e-5 | 0.0 ex/s | 4096 tok/s | elapsed 3 min 21 s | ETA estimating…',
      'step 202/345 (58%) | epoch 2 | loss 0.6900 | lr 2.00e-5 | 16.0 ex/s | 2048 tok/s | elapsed 6 min 44 s | ETA 4 min 46 s',
    ]);
  });
});
