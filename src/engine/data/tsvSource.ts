import { GLUE_TASKS, getSplit, tsvPath } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import { DataError } from './dataError.ts';
import type { FileProvider } from './fileProvider.ts';
import { readLines } from './lineReader.ts';
import { tsvExamples } from './tsvRows.ts';
import type { DataSource, OpenOptions, RawExample } from './types.ts';

/** Every `<folder>/<file>` the registry knows, for recognising a GLUE layout inside a listing. */
const KNOWN_PATHS = GLUE_TASKS.flatMap((t) => t.splits.filter((s) => s.tsv).map((s) => tsvPath(t, s)));

function endsWithPath(path: string, suffix: string): boolean {
  return path === suffix || path.endsWith(`/${suffix}`);
}

/**
 * The original GLUE distribution (`<root>/<Task>/<split>.tsv`, as download_glue_data.py writes it) behind any
 * FileProvider. In a listing (zip, picked folder) the root may sit under another folder (`glue_data/SST-2/…`).
 */
export class TsvSource implements DataSource {
  readonly kind = 'tsv' as const;
  constructor(readonly files: FileProvider) {}

  describe(): string {
    return this.files.describe();
  }

  async locate(task: TaskDef, split: SplitName): Promise<string | null> {
    const want = tsvPath(task, getSplit(task, split));
    if (!this.files.list) return (await this.files.exists(want)) ? want : null;
    const paths = await this.files.list();
    const matches = paths.filter((p) => endsWithPath(p, want)).sort((a, b) => a.length - b.length);
    if (matches.length > 0) return matches[0];
    const recognised = paths.filter((p) => KNOWN_PATHS.some((k) => endsWithPath(p, k)));
    if (recognised.length === 0) {
      // Loose files picked without their folder: accept the bare file name when it is unambiguous.
      const file = want.slice(want.lastIndexOf('/') + 1);
      const loose = paths.filter((p) => !p.includes('/') && p === file);
      if (loose.length === 1 && paths.every((p) => !p.includes('/'))) return loose[0];
      const shown = paths.slice(0, 8).join(', ') + (paths.length > 8 ? `, … (${paths.length} files)` : '');
      throw new DataError({
        file: this.describe(),
        fatal: true,
        reason: `no GLUE task folder found: expected paths like ${want} or glue_data/${want} (one folder per task, as download_glue_data.py writes them); it holds: ${shown}`,
      });
    }
    return null;
  }

  async *open(task: TaskDef, split: SplitName, opts: OpenOptions = {}): AsyncGenerator<RawExample> {
    const def = getSplit(task, split);
    const path = await this.locate(task, split);
    const opened = path === null ? null : await this.files.open(path);
    if (!opened) throw new DataError({ file: this.describe(), reason: `has no ${tsvPath(task, def)} (${task.name} ${split})`, fatal: true });
    const onBytes = opts.onProgress ? (bytes: number) => opts.onProgress!({ bytes, totalBytes: opened.size }) : undefined;
    const lines = readLines(opened.stream, opened.name, { onBytes, signal: opts.signal });
    yield* tsvExamples(lines, task, def, opened.name, opts);
  }
}
