/**
 * GradTS's single-task tuning settings before the gradients are taken (docs/methods.md §3.1), as a partial
 * experiment over the user's (which wins, for small budgets). A plain module: the page's selection form reads
 * it, and the page must not import the tensor code in gradtsMatrices.ts.
 */
export const GRADTS_TUNE_CONFIG = {
  optimizer: { kind: 'adamax', lr: 5e-5 },
  schedule: { kind: 'warmup_linear', warmup: 0.1 },
  epochs: 3,
  batchSize: 4,
  gradAccumulation: 1,
  globalClip: 1,
  seed: 2018,
} as const;
