import type { ExperimentInput } from './experimentSchema.ts';

/**
 * Settings of the seed papers' scripts (docs/methods.md §1.7–1.9, §2.4–2.5, §3.6, §4.3, §5.2–5.4). Each preset is a
 * partial config: the composer merges the user's task list into it. Models are whatever the user loads;
 * the originals used BERT-base/large, which the note beside each result must say. `batches` follows each
 * seed's data loader: MT-DNN's yml-era sampler and EmBERT/PALs' cycled loader keep a task's batches fixed;
 * FastMTL's per-task RandomSampler loaders draw new batches every epoch.
 */
export const PRESETS: Record<string, { label: string; config: Omit<ExperimentInput, 'tasks'> }> = {
  mtdnn: {
    label: 'MT-DNN multi-task (Adamax 5e-5, warmup 0.1, 5 epochs, batch 32, SAN for pair tasks)',
    config: {
      batches: 'fixed',
      sampler: { kind: 'mtdnn', mixOpt: 0, ratio: 0 },
      optimizer: { kind: 'adamax', lr: 5e-5, weightDecay: 0.01 },
      schedule: { kind: 'warmup_linear', warmup: 0.1 },
      epochs: 5,
      batchSize: 32,
      globalClip: 1,
      maxLength: 512,
      seed: 2018,
    },
  },
  'mtdnn-finetune': {
    label: 'MT-DNN fine-tune (linear head, Adamax, 5 epochs)',
    config: {
      batches: 'fixed',
      sampler: { kind: 'mtdnn', mixOpt: 0, ratio: 0 },
      optimizer: { kind: 'adamax', lr: 5e-5 },
      epochs: 5,
      batchSize: 32,
      globalClip: 1,
      maxLength: 512,
      seed: 2018,
    },
  },
  siwlm: {
    label: 'SIWLM (central task weight 3, sequential/intensive alternation, then RAdam + SMART fine-tune)',
    config: {
      batches: 'fixed',
      sampler: { kind: 'mtdnn', mixOpt: 0, ratio: 0 },
      siwlm: { enabled: true, centralWeight: 3, alternation: true },
      optimizer: { kind: 'adamax', lr: 5e-5 },
      epochs: 5,
      batchSize: 32,
      globalClip: 1,
      maxLength: 512,
    },
  },
  'siwlm-finetune': {
    label: 'SIWLM fine-tune (RAdam 5e-5 + SMART)',
    config: { batches: 'fixed', optimizer: { kind: 'radam', lr: 5e-5 }, smart: { enabled: true }, epochs: 5, batchSize: 32, globalClip: 1, maxLength: 512 },
  },
  'gradts-trial': {
    label: 'GradTS trial runs (Adamax 5e-5, batch 4, grad-acc 4, 7 epochs, seed 2018)',
    config: {
      batches: 'fixed',
      optimizer: { kind: 'adamax', lr: 5e-5 },
      batchSize: 4,
      gradAccumulation: 4,
      epochs: 7,
      globalClip: 1,
      maxLength: 512,
      seed: 2018,
    },
  },
  fastmtl: {
    label: 'FastMTL TO-MTDNN (AdamW 2e-5, no warmup, wd 0, 3 epochs, batch 32, seq 128, seed 84)',
    config: {
      batches: 'reshuffle',
      optimizer: { kind: 'adamw', lr: 2e-5, weightDecay: 0 },
      schedule: { kind: 'warmup_linear', warmup: 0 },
      epochs: 3,
      batchSize: 32,
      maxLength: 128,
      seed: 84,
      globalClip: 1,
    },
  },
  embert: {
    label: 'EmBERT (task-embedded attention, anneal sampling, BERTAdam 2e-5, seq 128, seed 1)',
    config: {
      batches: 'fixed',
      variant: { kind: 'embert' },
      sampler: { kind: 'anneal' },
      optimizer: { kind: 'bertadam', lr: 2e-5, maxGradNorm: 1 },
      schedule: { kind: 'warmup_linear_old', warmup: 0.1 },
      epochs: 25,
      batchSize: 32,
      maxLength: 128,
      seed: 1,
      globalClip: 0,
    },
  },
  pals: {
    label: 'PALs (projected attention layers, anneal sampling, BERTAdam 2e-5, seq 128, seed 42)',
    config: {
      batches: 'fixed',
      variant: { kind: 'pals', hiddenSizeAug: 204, palHeads: 6 },
      sampler: { kind: 'anneal' },
      optimizer: { kind: 'bertadam', lr: 2e-5, maxGradNorm: 1 },
      schedule: { kind: 'warmup_linear_old', warmup: 0.1 },
      epochs: 25,
      batchSize: 32,
      maxLength: 128,
      seed: 42,
      globalClip: 0,
    },
  },
  gated: {
    label: 'Gated-BERT (gated last layer, anneal sampling, seq padded to 128)',
    config: {
      batches: 'fixed',
      variant: { kind: 'gated', hiddenSizeAug: 204 },
      sampler: { kind: 'anneal' },
      optimizer: { kind: 'bertadam', lr: 2e-5, maxGradNorm: 1 },
      schedule: { kind: 'warmup_linear_old', warmup: 0.1 },
      epochs: 25,
      batchSize: 32,
      maxLength: 128,
      seed: 1,
      globalClip: 0,
    },
  },
};
