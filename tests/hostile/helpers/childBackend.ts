import * as tf from '@tensorflow/tfjs';

/** The cpu backend, as the in-process tests use (the same arithmetic, so the results compare bit for bit). */
export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}
