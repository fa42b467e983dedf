export type { BatchSource, HeadMatrix, LabelledBatch, LossOptions } from './types.ts';
export { maskImportance, batchMeanLossMaskGrad, perExampleMaskGrads, type MaskImportanceResult } from './headImportance.ts';
export { LiveMaskImportance } from './liveMaskImportance.ts';
export { gradtsImportance, gradtsRawPerExample, type GradtsResult } from './gradtsImportance.ts';
export { minMax, normalizeMaskImportance, normalizeGradts, meanMatrix } from './importanceNormalize.ts';
export { taskCorrelationMatrix, headCorrelation, flattenHeads, rankAuxiliaryTasks, type CorrelationMethod, type TaskCorrelationMatrix } from './taskCorrelation.ts';
export { instanceToTaskCorrelation, selectInstances } from './instanceCorrelation.ts';
export { computeImportanceFixture, fixtureHead, fixtureMinibatch, type ImportanceFixture, type ImportanceFixtureResult } from './fixtureCheck.ts';
