import { asyncBufferFromUrl, cachedAsyncBuffer, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { getSplit, hubParquetPath } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import { DataError, errorText, type DataIssue } from './dataError.ts';
import { pickedPath } from './fileProvider.ts';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './inputLimits.ts';
import { MAX_LINE_CHARS } from './lineReader.ts';
import { boundedDecompressors, checkParquetFile, checkParquetFooter } from './parquetBounds.ts';
import { checkScore } from './tsvRows.ts';
import type { DataSource, OpenOptions, RawExample } from './types.ts';

export const DEFAULT_HUB_MIRROR = 'https://huggingface.co';

export interface OpenedParquet {
  file: AsyncBuffer;
  name: string;
}

/** Random-access Parquet files laid out as on the Hub (`datasets/<repo>/resolve/main/<config>/<split>-…parquet`). */
export interface ParquetProvider {
  describe(): string;
  open(relPath: string): Promise<OpenedParquet | null>;
}

/** The Hub itself (default) or any mirror with its URL layout; range requests fetch only what is read. */
export function hubUrlProvider(mirror: string = DEFAULT_HUB_MIRROR, fetchImpl: typeof fetch = globalThis.fetch): ParquetProvider {
  const base = mirror.replace(/\/+$/, '');
  return {
    describe: () => base,
    async open(relPath) {
      const url = `${base}/${relPath}`;
      let res: Response;
      try {
        res = await fetchImpl(url, { method: 'HEAD' });
      } catch (e) {
        throw new DataError({ file: url, reason: `cannot fetch (${errorText(e)})`, fatal: true });
      }
      if (res.status === 404) return null;
      if (!res.ok) throw new DataError({ file: url, reason: `HTTP ${res.status} ${res.statusText}`, fatal: true });
      const len = Number(res.headers.get('content-length'));
      const file = await asyncBufferFromUrl({ url, byteLength: len > 0 ? len : undefined, fetch: fetchImpl });
      return { file: cachedAsyncBuffer(file), name: url };
    },
  };
}

export function blobAsyncBuffer(blob: Blob): AsyncBuffer {
  return { byteLength: blob.size, slice: (start, end) => blob.slice(start, end).arrayBuffer() };
}

/** Parquet files the user picked; matched on the `<config>/<split>-00000-of-00001.parquet` end of their paths. */
export function hubFileListProvider(files: readonly File[], label = 'picked files'): ParquetProvider {
  return {
    describe: () => label,
    async open(relPath) {
      const tail = relPath.split('/').slice(-2).join('/');
      const f = files.find((x) => pickedPath(x) === tail || pickedPath(x).endsWith(`/${tail}`));
      return f ? { file: blobAsyncBuffer(f), name: pickedPath(f) } : null;
    },
  };
}

export function memoryParquetProvider(files: Record<string, Uint8Array>, label = 'memory'): ParquetProvider {
  return {
    describe: () => label,
    async open(relPath) {
      const b = files[relPath];
      return b ? { file: blobAsyncBuffer(new Blob([b as BlobPart])), name: `${label}/${relPath}` } : null;
    },
  };
}

type LabelMap = { kind: 'index'; toRegistry: number[]; names: string[] } | { kind: 'name'; toRegistry: Map<string, number> } | { kind: 'score' };

/**
 * The Hub's integer labels go through their names (from the file's `huggingface` metadata) to the registry's
 * order, because the orders differ (MNLI, QNLI, RTE). Names the registry does not map are an error.
 */
function labelMap(task: TaskDef, meta: FileMetaData, name: string): LabelMap {
  const hub = task.hub;
  if (hub.labelKind === 'float') return { kind: 'score' };
  const pairs = hub.classLabels ?? [];
  const toIndex = (hubName: string): number => {
    const pair = pairs.find(([h]) => h === hubName);
    return pair && task.labels ? task.labels.indexOf(pair[1]) : -1;
  };
  if (hub.labelKind === 'string') return { kind: 'name', toRegistry: new Map(pairs.map(([h]) => [h, toIndex(h)])) };
  let names = pairs.map(([h]) => h);
  const kv = meta.key_value_metadata?.find((k) => k.key === 'huggingface');
  if (kv?.value) {
    try {
      const feats = JSON.parse(kv.value)?.info?.features ?? JSON.parse(kv.value)?.features;
      const fromFile = feats?.[hub.label]?.names;
      if (Array.isArray(fromFile)) names = fromFile.map(String);
    } catch {
      // Unreadable metadata: fall back to the registry's record of the Hub's order.
    }
  }
  const toRegistry = names.map(toIndex);
  const bad = names.filter((_, i) => toRegistry[i] < 0);
  if (bad.length > 0) {
    throw new DataError({
      file: name,
      fatal: true,
      reason: `label names [${names.join(', ')}] in the Parquet metadata do not match the registry's ${task.name} labels (it maps: ${pairs.map(([h, l]) => `${h}→${l}`).join(', ')})`,
    });
  }
  return { kind: 'index', toRegistry, names };
}

/** The Hugging Face Hub's Parquet conversion of GLUE (`nyu-mll/glue`), SciTail and SNLI, read with hyparquet. */
export class ParquetSource implements DataSource {
  readonly kind = 'parquet' as const;
  constructor(
    readonly files: ParquetProvider,
    readonly limits: InputLimits = DEFAULT_INPUT_LIMITS,
  ) {}

  describe(): string {
    return this.files.describe();
  }

  async locate(task: TaskDef, split: SplitName): Promise<string | null> {
    const def = getSplit(task, split);
    if (!def.hubSplit) return null;
    const opened = await this.files.open(hubParquetPath(task, def));
    return opened ? opened.name : null;
  }

  async *open(task: TaskDef, split: SplitName, opts: OpenOptions = {}): AsyncGenerator<RawExample> {
    const def = getSplit(task, split);
    const rel = def.hubSplit ? hubParquetPath(task, def) : `${task.hub.config}/${split}`;
    const opened = def.hubSplit ? await this.files.open(rel) : null;
    if (!opened) throw new DataError({ file: this.describe(), reason: `has no ${rel} (${task.name} ${split})`, fatal: true });
    const { file, name } = opened;
    const collect = opts.onMalformed === 'collect';
    const report = (issue: DataIssue): boolean => {
      if (!collect) throw new DataError(issue);
      opts.issues?.push(issue);
      return !!issue.fatal;
    };

    let meta: FileMetaData;
    let labels: LabelMap;
    try {
      await checkParquetFile(file, name, this.limits);
      meta = await parquetMetadataAsync(file);
      checkParquetFooter(meta, name, this.limits);
      labels = labelMap(task, meta, name);
    } catch (e) {
      report(e instanceof DataError ? e.issue : { file: name, reason: `not a readable Parquet file (${errorText(e)})`, fatal: true });
      return;
    }
    const hub = task.hub;
    const have = new Set(meta.schema.slice(1).map((s) => s.name));
    const wanted = [hub.textA, hub.textB, def.labelled ? hub.label : undefined, hub.uid].filter((c): c is string => !!c);
    const missing = wanted.filter((c) => !have.has(c));
    if (missing.length > 0) {
      report({ file: name, fatal: true, reason: `no column ${missing.map((c) => JSON.stringify(c)).join(', ')} (columns: ${[...have].join(', ')})` });
      return;
    }

    const totalRows = Number(meta.num_rows);
    let rowStart = 0;
    for (const [g, rg] of meta.row_groups.entries()) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const rowEnd = rowStart + Number(rg.num_rows);
      let rows: Record<string, unknown>[];
      try {
        const compressors = boundedDecompressors(name, g + 1, this.limits);
        rows = await parquetReadObjects({ file, metadata: meta, columns: wanted, rowStart, rowEnd, compressors });
      } catch (e) {
        if (e instanceof DataError) report(e.issue);
        else report({ file: name, line: rowStart + 1, unit: 'row', fatal: true, reason: `cannot decode rows ${rowStart + 1}–${rowEnd} (${errorText(e)})` });
        return;
      }
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        const line = rowStart + i + 1;
        const issue = (reason: string) => report({ file: name, line, unit: 'row', reason });
        const textA = r[hub.textA];
        const textB = hub.textB ? r[hub.textB] : undefined;
        if (typeof textA !== 'string' || (hub.textB && typeof textB !== 'string')) {
          if (issue(`missing text in column ${typeof textA !== 'string' ? hub.textA : hub.textB}`)) return;
          continue;
        }
        const long = [hub.textA, hub.textB].find((c) => c !== undefined && (r[c] as string).length > MAX_LINE_CHARS);
        if (long) {
          if (issue(`text in column ${long} is longer than ${MAX_LINE_CHARS} characters (the limit per cell, as per line of a TSV file)`)) return;
          continue;
        }
        let label: number | undefined;
        if (def.labelled) {
          const parsed = this.label(task, labels, r[hub.label]);
          if (parsed === 'skip') {
            if (opts.skipped) opts.skipped.rows++;
            continue;
          }
          if (typeof parsed === 'string') {
            if (issue(parsed)) return;
            continue;
          }
          label = parsed;
        }
        const ex: RawExample = { uid: hub.uid ? String(r[hub.uid]) : String(line - 1), textA, line, file: name };
        if (hub.textB) ex.textB = textB as string;
        if (label !== undefined) ex.label = label;
        yield ex;
      }
      rowStart = rowEnd;
      opts.onProgress?.({ bytes: Math.round((file.byteLength * rowStart) / Math.max(1, totalRows)), totalBytes: file.byteLength });
    }
  }

  /** Registry class id or score, 'skip' for a deliberately unlabelled row, or the reason the value is bad. */
  private label(task: TaskDef, map: LabelMap, value: unknown): number | 'skip' | string {
    if (map.kind === 'score') {
      const v = typeof value === 'number' ? value : NaN;
      if (!Number.isFinite(v)) return `score ${JSON.stringify(String(value))} is not a number`;
      return checkScore(task, v) ?? v;
    }
    if (map.kind === 'name') {
      const raw = String(value);
      if (task.skipLabels?.includes(raw)) return 'skip';
      const idx = map.toRegistry.get(raw);
      return idx === undefined || idx < 0 ? `unknown label ${JSON.stringify(raw)} (expected one of: ${[...map.toRegistry.keys()].join(', ')})` : idx;
    }
    const n = typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : NaN;
    if (n === -1) return task.skipLabels ? 'skip' : 'no label (-1) in a labelled split';
    const idx = Number.isInteger(n) && n >= 0 ? map.toRegistry[n] : undefined;
    if (idx === undefined) return `unknown label ${String(value)} (the file names ${map.names.length} classes: ${map.names.join(', ')})`;
    return idx;
  }
}
