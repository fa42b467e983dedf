import { fileListProvider, urlFileProvider } from './fileProvider.ts';
import { DEFAULT_HUB_MIRROR, ParquetSource, hubFileListProvider, hubUrlProvider } from './parquetSource.ts';
import { TsvSource } from './tsvSource.ts';
import type { DataSource } from './types.ts';
import { zipFileProvider } from './zipProvider.ts';

/** A data source as the UI describes it (structured-cloneable, so it can cross into the data worker). */
export type SourceSpec =
  /** The Hub's Parquet files, from huggingface.co or a mirror with the same URL layout. */
  | { kind: 'hub'; mirror?: string }
  /** A GLUE TSV folder served over HTTP (e.g. the dev server's `/mirror/glue`). */
  | { kind: 'glue-url'; base: string }
  /** Files the user picked: a GLUE folder of TSVs, or Hub Parquet files (`<config>/<split>-00000-of-00001.parquet`). */
  | { kind: 'files'; files: File[]; label?: string }
  /** A zip of a GLUE folder. */
  | { kind: 'zip'; file: Blob; name: string };

export function sourceFromSpec(spec: SourceSpec, fetchImpl: typeof fetch = globalThis.fetch): DataSource {
  switch (spec.kind) {
    case 'hub':
      return new ParquetSource(hubUrlProvider(spec.mirror || DEFAULT_HUB_MIRROR, fetchImpl));
    case 'glue-url':
      return new TsvSource(urlFileProvider(spec.base, fetchImpl));
    case 'files': {
      const label = spec.label ?? 'picked files';
      return spec.files.some((f) => f.name.endsWith('.parquet'))
        ? new ParquetSource(hubFileListProvider(spec.files, label))
        : new TsvSource(fileListProvider(spec.files, label));
    }
    case 'zip':
      return new TsvSource(zipFileProvider(() => spec.file.stream() as ReadableStream<Uint8Array>, spec.name));
  }
}
