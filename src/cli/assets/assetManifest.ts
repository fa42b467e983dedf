import * as v from 'valibot';
import manifestJson from './manifest.json' with { type: 'json' };

const EntrySchema = v.object({
  path: v.pipe(
    v.string(),
    v.regex(/^(assets|tools)\/[^\s]+$/, 'a path under assets/ or tools/'),
    v.check((p) => !p.split('/').includes('..'), 'no ".." segments'),
  ),
  bytes: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits')),
});
const ManifestSchema = v.object({ description: v.string(), files: v.array(EntrySchema) });

export type AssetEntry = v.InferOutput<typeof EntrySchema>;

/** Files under this prefix are the Hub's own (`datasets/nyu-mll/glue/resolve/main/...`) and may come from the Hub. */
export const HUB_PREFIX = 'assets/hub/';

/** Checks a manifest; an error names the entry and field. */
export function parseManifest(raw: unknown, name: string): AssetEntry[] {
  const r = v.safeParse(ManifestSchema, raw);
  if (!r.success) {
    const issue = r.issues[0];
    throw new Error(`${name}: ${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`);
  }
  return r.output.files;
}

/** The committed manifest: what the tests and offline demos need, with the SHA-256 of each file. */
export const ASSET_MANIFEST: readonly AssetEntry[] = parseManifest(manifestJson, 'src/cli/assets/manifest.json');
