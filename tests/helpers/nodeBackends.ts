import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export const NODE_TEST_BACKENDS = ['cpu', 'wasm'] as const;

export async function useBackend(name: (typeof NODE_TEST_BACKENDS)[number]) {
  await tf.setBackend(name);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not activate (got ${tf.getBackend()})`);
}
