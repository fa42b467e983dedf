import * as tf from '@tensorflow/tfjs';

/**
 * A short, fixed workload timed on the active backend for the auto backend decision: four dense layers of
 * a BERT-Tiny-sized feed-forward block (rows × 512 → 512, GELU-free ReLU to stay cheap) and a softmax, read
 * back each time so GPU work is really finished. Median of `reps` after one warm-up (shader compilation).
 */
export async function timeCalibrationStep({ rows = 256, width = 512, reps = 3 } = {}): Promise<number> {
  const x = tf.randomUniform([rows, width], -1, 1, 'float32', 1);
  const w = tf.randomUniform([width, width], -0.05, 0.05, 'float32', 2);
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const out = tf.tidy(() => {
      let y: tf.Tensor2D = x as tf.Tensor2D;
      for (let i = 0; i < 4; i++) y = tf.relu(tf.matMul(y, w as tf.Tensor2D));
      return tf.sum(tf.softmax(y));
    });
    await out.data();
    out.dispose();
    return performance.now() - t0;
  };
  try {
    await once();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(await once());
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    x.dispose();
    w.dispose();
  }
}
