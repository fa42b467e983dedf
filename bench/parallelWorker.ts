/**
 * One data-parallel replica for bench/parallelBench.ts: builds bench/trainBench.ts's trainer at the given
 * shape on tfjs-wasm, runs one warm-up step, then on each 'go' runs `reps` train steps and answers with
 * their times. Exchanging a gradient-sized buffer is timed by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initNodeBackend } from '../src/cli/nodeBackend.ts';
import { buildEncoder, buildMultiTaskModel } from '../src/engine/model/modelFactory.ts';
import { Trainer } from '../src/engine/train/trainer.ts';
import { benchExperiment, randomSplit, TASK, VOCAB, type NamedShape } from './trainBench.ts';

const { shape, reps } = workerData as { shape: NamedShape; reps: number };
await initNodeBackend('wasm');
const exp = benchExperiment(shape, 'adamw');
const model = buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: VOCAB }));
// Enough rows for every 'go' of the bench without wrapping into a second epoch.
const trainer = new Trainer({ experiment: exp, model, data: { [TASK]: { train: randomSplit(shape, shape.batch * (1 + 64 * reps)) } } });
await trainer.trainStep();
parentPort!.postMessage({ type: 'ready' });
parentPort!.on('message', async (msg: { type: 'go' } | { type: 'exit' }) => {
  if (msg.type === 'exit') {
    trainer.dispose();
    model.dispose();
    parentPort!.close();
    return;
  }
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await trainer.trainStep();
    ms.push(performance.now() - t);
  }
  parentPort!.postMessage({ type: 'done', ms });
});
