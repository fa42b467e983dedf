export * from './mtdnnSchedule.ts';
export * from './siwlm.ts';
export * from './taskProbs.ts';
export * from './fastmtl.ts';
