import { snappyUncompress, type AsyncBuffer, type Compressors, type FileMetaData } from 'hyparquet';
import { DataError } from './dataError.ts';
import { overLimit, pastRatio, ratioReason, type InputLimits } from './inputLimits.ts';

/*
 * The bounds a hostile or damaged Parquet file meets before hyparquet decodes it: its size and magic bytes,
 * the rows and column-chunk sizes its footer declares, and, as pages are decoded, each page's declared size and
 * ratio (hyparquet allocates a page's declared size before inflating it, so a lying header is stopped there).
 */

const MAGIC = 'PAR1';

function fileError(name: string, reason: string): DataError {
  return new DataError({ file: name, reason, fatal: true });
}

/** Size limit and `PAR1` at both ends, read before the footer so a text file or a cut download says so plainly. */
export async function checkParquetFile(file: AsyncBuffer, name: string, limits: InputLimits): Promise<void> {
  const size = file.byteLength;
  if (size > limits.maxEntryBytes) throw fileError(name, overLimit(`is ${size} bytes`, limits, 'maxEntryBytes', 'Parquet file'));
  const text = async (start: number, end: number) => new TextDecoder('latin1').decode(await file.slice(start, end));
  if (size < 4 || (await text(0, 4)) !== MAGIC) throw fileError(name, `not a Parquet file (it does not start with "${MAGIC}")`);
  if (size < 12 || (await text(size - 4, size)) !== MAGIC) {
    throw fileError(name, `truncated: it starts as a Parquet file but does not end with "${MAGIC}" (${size} bytes; an interrupted download?)`);
  }
}

/** The rows and column-chunk sizes the footer declares, checked before any page is read. */
export function checkParquetFooter(meta: FileMetaData, name: string, limits: InputLimits): void {
  const declared = Number(meta.num_rows);
  if (declared > limits.maxRows) throw fileError(name, overLimit(`declares ${declared} rows`, limits, 'maxRows', 'Parquet file'));
  const inGroups = meta.row_groups.reduce((n, rg) => n + Number(rg.num_rows), 0);
  if (declared < 0 || inGroups !== declared || meta.row_groups.some((rg) => Number(rg.num_rows) < 0)) {
    throw fileError(name, `its row groups hold ${inGroups} rows but the footer declares ${declared} (a damaged file?)`);
  }
  meta.row_groups.forEach((rg, g) => {
    for (const c of rg.columns) {
      const m = c.meta_data;
      if (!m) continue;
      const where = `column "${m.path_in_schema.join('.')}" of row group ${g + 1}`;
      const inflated = Number(m.total_uncompressed_size);
      if (inflated > limits.maxEntryBytes) {
        throw fileError(name, overLimit(`${where} declares ${inflated} bytes decoded`, limits, 'maxEntryBytes', 'column chunk'));
      }
      if (pastRatio(inflated, Number(m.total_compressed_size), limits)) {
        throw fileError(name, `${where} ${ratioReason(inflated, String(m.total_compressed_size), limits, 'a decompression bomb')}`);
      }
    }
  });
}

/**
 * Snappy (the only codec hyparquet reads without add-ons, and the Hub's) behind the page bounds: each page's
 * declared size and ratio are checked before its output is allocated, and the pages of one read (a row group)
 * may not decode past `maxEntryBytes` in all.
 */
export function boundedDecompressors(name: string, rowGroup: number, limits: InputLimits): Compressors {
  let total = 0;
  return {
    SNAPPY(input, outputLength) {
      const where = `a page of row group ${rowGroup}`;
      if (outputLength > limits.maxPageBytes)
        throw fileError(name, overLimit(`${where} declares ${outputLength} bytes decoded`, limits, 'maxPageBytes', 'page'));
      if (pastRatio(outputLength, input.length, limits)) {
        throw fileError(name, `${where} ${ratioReason(outputLength, String(input.length), limits, 'a decompression bomb')}`);
      }
      total += outputLength;
      if (total > limits.maxEntryBytes) {
        throw fileError(name, overLimit(`row group ${rowGroup} decodes past ${limits.maxEntryBytes} bytes`, limits, 'maxEntryBytes', 'row group'));
      }
      const out = new Uint8Array(outputLength);
      snappyUncompress(input, out);
      return out;
    },
  };
}
