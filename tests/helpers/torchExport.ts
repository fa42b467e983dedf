import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { fixtureModelDir, glueDir } from './shared.ts';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** Debian's torch lives under /usr/bin/python3; the tests use it whatever python3 PATH finds. */
export const PYTHON = process.env.TASKSCOPE_TORCH_PYTHON ?? '/usr/bin/python3';

export { readTorchTemplate } from '../../src/cli/commands/exportTorch.ts';

export async function writeFiles(dir: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<void> {
  for (const [name, content] of files) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

const run = promisify(execFile);

/** Runs `python3 train.py …` (or torchrun) in an export folder; rejects with its stderr on failure. */
export async function runTorch(dir: string, args: string[], nproc = 1): Promise<string> {
  const env = { ...process.env, OMP_NUM_THREADS: '1' };
  // `--redirects 1 --tee 2`: torch 1.13's launcher cannot parse its own default "0" under Python 3.11 (IntFlag
  // iteration skips the zero member), as on Debian bookworm; any non-zero setting avoids that path.
  const cmd =
    nproc === 1
      ? [join(dir, 'train.py'), ...args]
      : [
          '-m',
          'torch.distributed.run',
          '--standalone',
          '--nnodes',
          '1',
          '--nproc_per_node',
          String(nproc),
          '--redirects',
          '1',
          '--tee',
          '2',
          join(dir, 'train.py'),
          ...args,
        ];
  try {
    const r = await run(PYTHON, cmd, { cwd: dir, env, maxBuffer: 64 << 20, timeout: 300_000 });
    return r.stderr;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${PYTHON} ${cmd.join(' ')} failed: ${err.message}\n${err.stderr ?? ''}`);
  }
}

export async function readLog(file: string): Promise<Record<string, any>[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** A small export-torch experiment over the shared GLUE files: RTE (optionally with a SAN head) and WNLI, 48 rows each. */
export function glueTorchExperiment(name: string, rteHead: 'linear' | 'san' = 'linear'): Record<string, unknown> {
  return {
    name,
    tasks: [
      { name: 'RTE', maxTrainRows: 48, head: rteHead },
      { name: 'WNLI', maxTrainRows: 48 },
    ],
    model: { kind: 'dir', path: fixtureModelDir('random-tiny') },
    data: { kind: 'glue-dir', path: glueDir },
    epochs: 1,
    batchSize: 16,
    evalBatchSize: 64,
    maxLength: 32,
    seed: 5,
    optimizer: { kind: 'adamax', lr: 1e-3 },
  };
}

/** The files of a train.py --out folder that the page's import reads (log, metrics, checkpoint/, dev rows), as blobs. */
export async function runFolderBlobs(runDir: string, tasks: readonly string[]): Promise<Map<string, Blob>> {
  const names = [
    'log.jsonl',
    'metrics.json',
    ...tasks.map((t) => `data/${t}/dev.jsonl`),
    ...(await readdir(join(runDir, 'checkpoint'))).map((n) => `checkpoint/${n}`),
  ];
  const files = new Map<string, Blob>();
  for (const f of names) files.set(f, new Blob([await readFile(join(runDir, f))]));
  return files;
}
