import * as tf from '@tensorflow/tfjs';

/**
 * Fused LayerNorm and GELU as tfjs kernels of their own. A backend may register a single-dispatch kernel
 * for them (workers/webgpuKernels.ts does on webgpu, where the generic compositions cost 5-10 dispatches
 * each); ops.ts uses them only where one is registered, so wasm, cpu and Node keep the generic path.
 * Gradients are registered here, for every backend, in closed form:
 *   GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2)),  GELU'(x) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π)
 *   LayerNorm (Ba et al. 2016): x̂ = (x − μ)·r, r = 1/√(σ² + ε), y = γx̂ + β;
 *   dx = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ;  dγ = Σ dy·x̂;  dβ = Σ dy (sums over rows).
 */

export const FUSED_GELU = 'TaskscopeGelu';
export const FUSED_GELU_GRAD = 'TaskscopeGeluGrad';
export const FUSED_LAYER_NORM = 'TaskscopeLayerNorm';
/** dx of LayerNorm from x, γ and dy (attr eps): optional, the gradient falls back to tfjs ops without it. */
export const FUSED_LAYER_NORM_GRAD_X = 'TaskscopeLayerNormGradX';
/** x̂ = (x − μ)·r of x [rows, H] (attr eps), for dγ: optional, as FUSED_LAYER_NORM_GRAD_X. */
export const FUSED_LAYER_NORM_XHAT = 'TaskscopeLayerNormXhat';

export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** x [..., H] (float32) → GELU, one kernel. Only where hasFusedKernel(FUSED_GELU). */
export function fusedGelu(x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(FUSED_GELU, { x }) as tf.Tensor;
}

/** x [..., H], γ and β [H] → LayerNorm over the last axis, one kernel. Only where hasFusedKernel(FUSED_LAYER_NORM). */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const H = x.shape[x.rank - 1]!;
  return tf.tidy(() => {
    const rows = tf.reshape(x, [-1, H]);
    const y = tf.engine().runKernel(FUSED_LAYER_NORM, { x: rows, gamma, beta }, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.reshape(y, x.shape);
  });
}

let registered = false;

/** Registers the closed-form gradients (idempotent; tfjs warns on a second registration). */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: FUSED_GELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.engine().runKernel(FUSED_GELU_GRAD, { x: x!, dy: dy as tf.Tensor }) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: FUSED_LAYER_NORM,
    inputsToSave: ['x', 'gamma'],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma] = saved as [tf.Tensor2D, tf.Tensor1D];
      const eps = (attrs as unknown as { eps: number }).eps;
      const g = dy as tf.Tensor2D;
      const parts = () => {
        const mean = tf.mean(x, -1, true);
        const centered = tf.sub(x, mean);
        const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
        return { xhat: tf.mul(centered, r), r };
      };
      return {
        x: () => {
          if (hasFusedKernel(FUSED_LAYER_NORM_GRAD_X)) {
            return tf.engine().runKernel(FUSED_LAYER_NORM_GRAD_X, { x, gamma, dy: g }, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
          }
          const { xhat, r } = parts();
          const gg = tf.mul(g, gamma);
          return tf.mul(r, tf.sub(tf.sub(gg, tf.mean(gg, -1, true)), tf.mul(xhat, tf.mean(tf.mul(gg, xhat), -1, true))));
        },
        gamma: () => {
          const xhat = hasFusedKernel(FUSED_LAYER_NORM_XHAT)
            ? (tf.engine().runKernel(FUSED_LAYER_NORM_XHAT, { x }, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor)
            : parts().xhat;
          return tf.sum(tf.mul(g, xhat), 0);
        },
        beta: () => tf.sum(g, 0),
      };
    },
  });
}
