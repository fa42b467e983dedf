// The CLI as one esbuild bundle in dist-cli/, built from src/ on first use and rebuilt whenever a source file it
// was built from has changed. Running TypeScript through tsx costs seconds of start-up on every call (resolving
// and transforming ~140 modules); the bundle is plain JavaScript that Node loads at once. npm packages stay
// external (they are loaded from node_modules as usual), so only our own sources are in it.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = 'src/cli/main.ts';
const distOf = (root) => join(root, 'dist-cli');
const manifestOf = (root) => join(distOf(root), 'manifest.json');
/** Bumped whenever the build options below change, so an older bundle is never reused. */
const FORMAT = 1;
/** Older builds are removed, but not while a long run may still load chunks from them. */
const KEEP_BUILDS = 4;
const KEEP_MS = 24 * 3600 * 1000;

const fingerprint = (root, file) => {
  const s = statSync(join(root, file));
  return `${s.size}:${s.mtimeMs}`;
};

/** The bundle's entry file when dist-cli/ holds a build of exactly the current sources, else null. */
export function freshBundle(root = packageRoot) {
  let m;
  try {
    m = JSON.parse(readFileSync(manifestOf(root), 'utf8'));
  } catch {
    return null;
  }
  if (m.format !== FORMAT || m.entry !== ENTRY) return null;
  for (const [file, print] of Object.entries(m.inputs)) {
    try {
      if (fingerprint(root, file) !== print) return null;
    } catch {
      return null; // a source file was deleted or renamed
    }
  }
  return join(distOf(root), m.build, 'main.js');
}

/**
 * Builds the bundle into a new folder and then points manifest.json at it (written to a temporary file and
 * renamed, which is atomic): CLI processes started at the same time (e.g. `study --parallel`) may each build,
 * and each one reads a complete manifest and a complete build.
 */
export async function buildBundle(root = packageRoot) {
  const { build } = await import('esbuild');
  const started = Date.now();
  const name = `build-${started.toString(36)}-${process.pid}`;
  const distDir = distOf(root);
  const outdir = join(distDir, name);
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: ENTRY },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    // A file saved while the build ran may or may not be in it: leave it unmatched so the next run rebuilds.
    inputs[file] = statSync(join(root, file)).mtimeMs >= started ? 'changed-during-build' : fingerprint(root, file);
  }
  const tmp = join(distDir, `.manifest-${process.pid}.json`);
  writeFileSync(tmp, `${JSON.stringify({ format: FORMAT, entry: ENTRY, build: name, builtAt: new Date(started).toISOString(), inputs }, null, 1)}\n`);
  renameSync(tmp, manifestOf(root));
  removeOldBuilds(distDir, name);
  return join(outdir, 'main.js');
}

function removeOldBuilds(distDir, current) {
  const builds = readdirSync(distDir)
    .filter((d) => d.startsWith('build-') && d !== current)
    .map((d) => ({ d, t: statSync(join(distDir, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  builds.forEach(({ d, t }, i) => {
    if (i >= KEEP_BUILDS - 1 && Date.now() - t > KEEP_MS) rmSync(join(distDir, d), { recursive: true, force: true });
  });
}

/**
 * The bundle to run, building it when it is missing or stale; null when it cannot be built here (esbuild
 * missing, a read-only install, a syntax error that tsx will then report with its own message).
 */
export async function cliBundle(root = packageRoot) {
  const fresh = freshBundle(root);
  if (fresh) return fresh;
  try {
    mkdirSync(distOf(root), { recursive: true });
    return await buildBundle(root);
  } catch {
    return null;
  }
}
