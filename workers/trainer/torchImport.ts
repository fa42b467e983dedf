import { importedRunRecord } from './importedRun.ts';
import { putRun } from './runStore.ts';
import type { RunRecord } from './types.ts';

/** A run trained by an export-torch folder (its files by path inside the folder) stored as a run of this browser. */
export async function importTorchRun(files: [string, string][]): Promise<RunRecord> {
  const record = importedRunRecord(new Map(files), `torch-${Date.now().toString(36)}`);
  await putRun(record);
  return record;
}
