import { describe, expect, it } from 'vitest';
import { StepTelemetry } from '../../src/engine/train/stepTelemetry.ts';

describe('StepTelemetry', () => {
  it('rates count training time only; the ETA uses wall time per step, pauses included; reset starts over', () => {
    let t = 1_000;
    const tel = new StepTelemetry(() => t);
    // Step 1: 2 s of training (32 rows, 4,096 tokens).
    let started = tel.now();
    t += 2_000;
    expect(tel.record(32, 4096, started, 9)).toEqual({ examplesPerSec: 16, tokensPerSec: 2048, etaSeconds: 18, elapsedSeconds: 2 });
    // 4 s of evaluation between steps, then step 2: 2 s of training.
    t += 4_000;
    started = tel.now();
    t += 2_000;
    expect(tel.record(32, 4096, started, 8)).toEqual({ examplesPerSec: 16, tokensPerSec: 2048, etaSeconds: 32, elapsedSeconds: 8 });
    tel.reset();
    started = tel.now();
    t += 500;
    expect(tel.record(8, 1000, started, 0)).toEqual({ examplesPerSec: 16, tokensPerSec: 2000, etaSeconds: 0, elapsedSeconds: 0.5 });
  });
});
