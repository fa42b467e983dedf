import { importTorchRunFiles } from './importTorchRun.ts';
import { putRun } from './runStore.ts';
import type { RunRecord } from './types.ts';

/** A train.py run folder (paths inside it → contents); head importance and correlation are computed here on its checkpoint. */
export async function importTorchRun(files: [string, Blob][]): Promise<RunRecord> {
  const record = await importTorchRunFiles(new Map(files), `torch-${Date.now().toString(36)}`);
  await putRun(record);
  return record;
}
