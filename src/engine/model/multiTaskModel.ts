import type * as tf from '@tensorflow/tfjs';
import type { BertEncoder, EncoderInput, EncoderOutput } from './bertEncoder.ts';
import type { EncoderExtension } from './encoderExtension.ts';
import type { HeadFeatures, HeadSnapshot, TaskHead } from './heads/taskHead.ts';
import { createTaskHead, type HeadChoice, type HeadInit } from './headFactory.ts';
import type { TaskSpec } from './taskSpec.ts';

export interface TaskForwardOptions {
  training: boolean;
  /** Base seed of this call's dropout masks (encoder and head); undefined = unseeded. */
  seed?: number;
  /** SMART's perturbation, added to the embedding output. */
  embeddingDelta?: tf.Tensor;
  headMask?: tf.Tensor2D;
}

export interface TaskForward {
  /** The head's output: logits [B, C] (classification), scores [B] (regression, ranking). */
  output: tf.Tensor;
  encoder: EncoderOutput;
  features: HeadFeatures;
}

export interface TaskSlot {
  spec: TaskSpec;
  choice: HeadChoice;
  head: TaskHead;
}

/** Keeps the head's dropout stream apart from the encoder's, which uses seed, seed+1, … (one per dropout). */
const HEAD_SEED_OFFSET = 0x3c6ef372;

/**
 * MT-DNN's network: one shared encoder (with an optional variant extension) and one answer head per task.
 * The task's index in `tasks` is the task id that variant extensions (EmBERT, PALs) see.
 */
export class MultiTaskModel {
  private readonly slots = new Map<string, TaskSlot>();
  private disposed = false;

  constructor(
    readonly encoder: BertEncoder,
    extension: EncoderExtension | null = null,
  ) {
    if (extension) encoder.extension = extension;
  }

  /** Adds a head for each task; `seed` makes the fresh heads' weights reproducible (one stream per task). */
  static create(
    encoder: BertEncoder,
    tasks: readonly { spec: TaskSpec; choice?: HeadChoice; init?: HeadInit }[],
    seed: number,
    extension: EncoderExtension | null = null,
  ): MultiTaskModel {
    const m = new MultiTaskModel(encoder, extension);
    tasks.forEach((t, i) => m.addTask(t.spec, t.init ?? { seed: (seed * 1000 + 17 * (i + 1)) >>> 0 }, t.choice ?? 'linear'));
    return m;
  }

  get tasks(): string[] {
    return [...this.slots.keys()];
  }

  get hiddenSize(): number {
    return this.encoder.config.hiddenSize;
  }

  addTask(spec: TaskSpec, init: HeadInit, choice: HeadChoice = 'linear'): TaskHead {
    this.checkAlive();
    if (this.slots.has(spec.name)) throw new Error(`model: task ${spec.name} already has a head`);
    const head = createTaskHead(spec, this.hiddenSize, init, choice);
    this.slots.set(spec.name, { spec, choice, head });
    return head;
  }

  slot(task: string): TaskSlot {
    const s = this.slots.get(task);
    if (!s) throw new Error(`model: no head for task ${task} (tasks: ${this.tasks.join(', ') || 'none'})`);
    return s;
  }

  head(task: string): TaskHead {
    return this.slot(task).head;
  }

  taskId(task: string): number {
    const id = this.tasks.indexOf(task);
    if (id < 0) throw new Error(`model: no head for task ${task} (tasks: ${this.tasks.join(', ') || 'none'})`);
    return id;
  }

  /** Encoder → task head. Call inside tf.tidy (or a gradient function): intermediate tensors are not disposed. */
  forwardTask(task: string, batch: EncoderInput, opts: TaskForwardOptions): TaskForward {
    this.checkAlive();
    const { head } = this.slot(task);
    const enc = this.encoder.forward(batch, {
      training: opts.training,
      dropoutSeed: opts.seed,
      taskId: this.taskId(task),
      embeddingDelta: opts.embeddingDelta,
      headMask: opts.headMask,
    });
    const features: HeadFeatures = {
      pooled: enc.pooled,
      sequence: enc.lastHiddenState,
      tokenTypeIds: batch.tokenTypeIds,
      attentionMask: batch.attentionMask,
    };
    const headSeed = opts.seed === undefined ? undefined : (opts.seed + HEAD_SEED_OFFSET) >>> 0;
    return { output: head.forward(features, { training: opts.training, dropoutSeed: headSeed }), encoder: enc, features };
  }

  /** The shared encoder's variables (with the extension's), by HF name. */
  encoderVariables(): Map<string, tf.Variable> {
    return this.encoder.namedVariables();
  }

  /** Encoder + extension + every head (`heads.<task>.<layer>.weight|bias`). */
  namedVariables(): Map<string, tf.Variable> {
    const m = this.encoderVariables();
    for (const { head } of this.slots.values()) for (const [n, v] of head.namedVariables()) m.set(n, v);
    return m;
  }

  /** What one task's loss can reach: the encoder, the extension and that task's head. */
  taskVariables(task: string): Map<string, tf.Variable> {
    const m = this.encoderVariables();
    for (const [n, v] of this.head(task).namedVariables()) m.set(n, v);
    return m;
  }

  headSnapshots(): HeadSnapshot[] {
    return [...this.slots.values()].map((s) => s.head.snapshot());
  }

  /** MT-DNN strip_model (docs/methods.md §1.8): drop every task head, keep the encoder; new heads come with addTask. */
  stripHeads(): void {
    for (const s of this.slots.values()) s.head.dispose();
    this.slots.clear();
  }

  dispose(): void {
    if (this.disposed) return;
    this.stripHeads();
    this.encoder.dispose();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('model: used after dispose()');
  }
}
