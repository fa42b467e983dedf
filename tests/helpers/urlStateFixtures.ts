import { deflateSync, strToU8 } from 'fflate';
import { toBase64Url } from '../../src/urlState/hashCodec.ts';
import type { ResultSnapshot } from '../../src/urlState/snapshot.ts';

/** A hash carrying exactly this JSON text (so tests can write what JSON.stringify never would, e.g. 1e400). */
export const rawHash = (json: string) => `v1.${toBase64Url(deflateSync(strToU8(json)))}`;

/**
 * A shared run's results as the Results view packs them into a link: two tasks on a 2 × 4-head model, with
 * values carrying more digits than a link keeps (urlState.test.ts checks the rounding).
 */
export function sampleSnapshot(): ResultSnapshot {
  return {
    runName: 'synthetic demo',
    step: 64,
    backend: 'webgpu',
    layers: 2,
    heads: 4,
    tasks: ['SYN-FIRST', 'SYN-MATCH'],
    importance: {
      'SYN-FIRST': [
        [0, 0.25, 0.5, 1],
        [0.1234, 0.9, 0.33, 0.77],
      ],
      'SYN-MATCH': [
        [1, 0, 0.6, 0.61],
        [0.2, 0.3, 0.4, 0.5],
      ],
    },
    correlation: {
      method: 'kendall_tau_b',
      values: [
        [1, -0.23456],
        [-0.23456, 1],
      ],
    },
    metrics: [
      { task: 'SYN-FIRST', metric: 'acc', value: 0.8125 },
      { task: 'SYN-MATCH', metric: 'f1', value: 0.66667 },
    ],
    glueScore: 0.73958,
    losses: [{ task: 'SYN-FIRST', steps: [1, 2, 3], values: [0.69314, 0.6, 0.512345] }],
  };
}
