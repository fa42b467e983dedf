import * as tf from '@tensorflow/tfjs';

const registered = new Set<string>();

/** tf.registerGradient, once per kernel name (tfjs warns when a gradient is registered again). */
export function registerGradientOnce(config: tf.GradConfig): void {
  if (registered.has(config.kernelName)) return;
  registered.add(config.kernelName);
  tf.registerGradient(config);
}
