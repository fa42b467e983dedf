// Node only: a run folder's log.jsonl, appended in order and cut back to a resumed step.
import { appendFile, readFile } from 'node:fs/promises';
import { atomicWriteFile } from '../engine/platform/node/nodeAtomicWrite.ts';
import { isStorageFull } from '../engine/data/shardStore.ts';

/** The step a log line belongs to: step/status/checkpoint lines carry `step`, eval lines their result's. */
function stepOf(line: Record<string, unknown>): number | null {
  return typeof line.step === 'number' ? line.step : null;
}

/**
 * Appends JSON lines one after the other (concurrent appendFile calls may land out of order), remembers the
 * first failure and reports it on `flush()`, naming the file.
 */
export class RunLog {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  constructor(readonly file: string) {}

  append(obj: unknown): void {
    const text = `${JSON.stringify(obj)}\n`;
    this.chain = this.chain.then(() =>
      this.failure
        ? undefined
        : appendFile(this.file, text).catch((e: NodeJS.ErrnoException) => {
            this.failure = new Error(`${isStorageFull(e) ? 'storage full' : 'cannot write'} appending to ${this.file} (${e.message})`, { cause: e });
          }),
    );
  }

  /** Waits for every line so far; throws the first write failure. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }

  /**
   * Keeps the lines of steps up to `step` (and a cut last line is dropped), so a resumed run never holds a
   * step twice; returns how many lines were dropped.
   */
  static async cutAfter(file: string, step: number): Promise<number> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    const kept: string[] = [];
    let dropped = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        dropped++; // a line cut by a kill
        continue;
      }
      const s = stepOf(obj);
      if (s !== null && s > step) dropped++;
      else kept.push(line);
    }
    if (dropped > 0) await atomicWriteFile(file, kept.map((l) => `${l}\n`).join(''));
    return dropped;
  }
}
