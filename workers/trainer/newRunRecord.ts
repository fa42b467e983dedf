import type { RunRecord } from './types.ts';

/** What a run is before its first step: who it is, what it trains, and where. */
export type RunIdentity = Pick<
  RunRecord,
  'id' | 'name' | 'experiment' | 'model' | 'dataKind' | 'backend' | 'data' | 'options' | 'configJson' | 'vocabText' | 'doLowerCase'
>;

/** The record the worker stores when a run starts: status 'preparing', nothing trained, measured or evaluated yet. */
export function newRunRecord(identity: RunIdentity): RunRecord {
  const now = new Date().toISOString();
  return {
    ...identity,
    createdAt: now,
    updatedAt: now,
    status: 'preparing',
    step: 0,
    totalSteps: 0,
    checkpointStep: null,
    evaluation: null,
    importance: null,
    correlation: null,
    lr: 0,
    examplesPerSec: 0,
    etaSeconds: 0,
    elapsedSeconds: 0,
    losses: [],
  };
}
