import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../checkpoint/types.ts';
import type { DenseParams } from '../bertWeights.ts';

/**
 * How a variant's task-specific parameters start:
 * - `random`: the seeds' fresh init (N(0, initializer_range²) weights and embeddings, zero biases, except where a
 *   variant says otherwise, e.g. Gated-BERT's zero gates);
 * - `neutral`: as `random`, but the few tensors that make the extension's contribution exactly zero are zero, so
 *   the encoder computes plain BERT (identity checks; which tensors is documented per variant);
 * - `tensors`: restored from a snapshot (names and shapes checked).
 */
export type ExtensionInit =
  | { from: 'random'; seed: number }
  | { from: 'neutral'; seed: number }
  | { from: 'tensors'; tensors: ReadonlyMap<string, NamedTensor> | readonly NamedTensor[] };

/** `name` holds `.task.{i}.` when the tensor belongs to task i alone (adapters, PALs); null for shared tensors. */
export function taskIdOfParam(name: string): number | null {
  const m = /(?:^|\.)task\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}

export function checkTaskId(owner: string, taskId: number, numTasks: number): number {
  if (!Number.isInteger(taskId) || taskId < 0 || taskId >= numTasks) {
    throw new Error(`${owner}: taskId ${taskId} is out of range for num_tasks ${numTasks}`);
  }
  return taskId;
}

type Fill = 'normal' | 'zeros';

interface Binding {
  name: string;
  variable: tf.Variable;
  transposed: boolean;
}

let instanceCounter = 0;

/**
 * The variables of one extension under stable checkpoint names (all starting with `prefix`). Dense weights
 * are named and saved in PyTorch's [out, in] layout (`.weight`) but held transposed, [in, out], for a plain matMul.
 */
export class ExtensionParams {
  private readonly bindings: Binding[] = [];
  private readonly tfPrefix: string;
  private readonly tensors: ReadonlyMap<string, NamedTensor> | null;
  private readonly used = new Set<string>();
  private seed: number;

  constructor(
    readonly owner: string,
    readonly prefix: string,
    readonly init: ExtensionInit,
    private readonly std: number,
  ) {
    this.tfPrefix = `${prefix}${instanceCounter++}`;
    if (init.from === 'tensors') {
      this.tensors =
        init.tensors instanceof Map
          ? (init.tensors as ReadonlyMap<string, NamedTensor>)
          : new Map((init.tensors as readonly NamedTensor[]).map((t) => [t.name, t]));
      this.seed = 0;
    } else {
      this.tensors = null;
      this.seed = init.seed;
    }
  }

  /** One tensor of the given (saved) shape; `fresh` is its `random` init, `neutral` its `neutral` init. */
  add(name: string, shape: number[], fresh: Fill, neutral: Fill = fresh, transposed = false): tf.Variable {
    const full = `${this.prefix}${name}`;
    const fill = this.init.from === 'neutral' ? neutral : fresh;
    const variable = tf.tidy(() => {
      let value: tf.Tensor;
      if (this.tensors) {
        const t = this.tensors.get(full);
        if (!t) throw new Error(`${this.owner}: checkpoint is missing tensor ${full} (shape [${shape}])`);
        if (t.shape.join(',') !== shape.join(',')) {
          throw new Error(`${this.owner}: tensor ${full} has shape [${t.shape}], expected [${shape}] from the variant config`);
        }
        if (t.data.length !== shape.reduce((a, b) => a * b, 1)) {
          throw new Error(`${this.owner}: tensor ${full} holds ${t.data.length} values, expected ${shape.reduce((a, b) => a * b, 1)}`);
        }
        this.used.add(full);
        value = tf.tensor(t.data, shape, 'float32');
      } else if (fill === 'normal') {
        // nn.Linear/nn.Embedding init in the seeds' init_weights: normal_(0, initializer_range), not truncated.
        value = tf.randomNormal(shape, 0, this.std, 'float32', this.seed++);
      } else {
        this.seed++; // keep later tensors' seeds independent of which fills are zero
        value = tf.zeros(shape);
      }
      return tf.variable(transposed ? tf.transpose(value) : value, true, `${this.tfPrefix}/${name}`);
    });
    this.bindings.push({ name: full, variable, transposed });
    return variable;
  }

  /** nn.Linear(inDim, outDim): `.weight` [out, in] (normal) and `.bias` [out] (zeros). */
  linear(name: string, inDim: number, outDim: number, neutral: Fill = 'normal'): DenseParams {
    return {
      kernel: this.add(`${name}.weight`, [outDim, inDim], 'normal', neutral, true),
      bias: this.add(`${name}.bias`, [outDim], 'zeros'),
    };
  }

  /** After construction from a snapshot: tensors under this prefix that no variable took mean a config mismatch. */
  finish(): void {
    if (!this.tensors) return;
    const extra = [...this.tensors.keys()].filter((n) => n.startsWith(this.prefix) && !this.used.has(n));
    if (extra.length > 0) {
      this.dispose();
      throw new Error(
        `${this.owner}: checkpoint has tensors this variant config does not use: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` (+${extra.length - 5} more)` : ''}`,
      );
    }
  }

  namedVariables(): Map<string, tf.Variable> {
    return new Map(this.bindings.map((b) => [b.name, b.variable]));
  }

  /** Copies of every tensor in saved layout; restoring them with `{ from: 'tensors' }` is exact. */
  snapshot(): NamedTensor[] {
    return this.bindings.map(({ name, variable, transposed }) => {
      const t = transposed ? tf.tidy(() => tf.transpose(variable)) : variable;
      const data = new Float32Array(t.dataSync() as Float32Array);
      const shape = t.shape.slice();
      if (transposed) t.dispose();
      return { name, shape, dtype: 'F32' as const, data };
    });
  }

  dispose(): void {
    for (const b of this.bindings) if (!b.variable.isDisposed) b.variable.dispose();
  }
}
