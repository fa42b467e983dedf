import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's python3-torch is installed for /usr/bin/python3 only (CONTRIBUTING.md, Benchmarks). */
export const TORCH_PYTHON = process.env.TASKSCOPE_TORCH_PYTHON ?? '/usr/bin/python3';

/** `threads` runs that request under torch.set_num_threads(n); absent = torch's default. */
export type TorchRequest =
  | { op: 'forward'; config: Record<string, number | string>; batch: number; seq: number; reps: number; warmup: number; threads?: number; weights?: string }
  | {
      op: 'train';
      config: Record<string, number | string>;
      batch: number;
      seq: number;
      reps: number;
      warmup: number;
      threads?: number;
      optimizer?: 'adamw' | 'adamax' | 'adam';
      weight_decay?: number;
      global_clip?: number;
      labels?: number;
    }
  | { op: 'matmul'; n: number; reps: number; warmup: number; threads?: number }
  | { op: 'info' }
  | { op: 'outputs'; config: Record<string, unknown>; weights: string; ids: number[][]; types: number[][]; mask: number[][] }
  | { op: 'export_onnx'; config: Record<string, unknown>; weights: string; path: string };
/** `cpus` and `blas` (torch's BLAS_INFO) come with op 'info' only; `threads` is then torch's default thread count. */
export interface TorchAnswer {
  op: string;
  ms: number[];
  torch: string;
  threads: number;
  cpus?: number;
  blas?: string;
  /** op 'info': the BLAS shared objects the process has mapped (reference BLAS or OpenBLAS). */
  blas_loaded?: string;
  /** op 'outputs': flattened [B, T, H] and [B, H]. */
  last_hidden_state?: number[];
  pooled?: number[];
}

/** A long-lived PyTorch process answering timing requests, so its runs interleave with ours. */
export class TorchPeer {
  private proc: ChildProcessWithoutNullStreams;
  private lines: AsyncIterableIterator<string>;
  private constructor(proc: ChildProcessWithoutNullStreams) {
    this.proc = proc;
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }
  static available(): boolean {
    if (!existsSync(TORCH_PYTHON)) return false;
    const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return r.status === 0;
  }
  static start(): TorchPeer {
    const script = fileURLToPath(new URL('./torchBert.py', import.meta.url));
    const proc = spawn(TORCH_PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stderr.on('data', (d) => process.stderr.write(`[torch] ${d}`));
    return new TorchPeer(proc);
  }
  async request(req: TorchRequest): Promise<TorchAnswer> {
    this.proc.stdin.write(JSON.stringify(req) + '\n');
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`PyTorch peer exited while answering ${req.op}`);
    return JSON.parse(value) as TorchAnswer;
  }
  close() {
    this.proc.stdin.end();
  }
}

/** HF config.json fields for the PyTorch peer's BERT of this shape (BERT's 30,522-token vocabulary by default). */
export function torchConfig(
  s: { hidden: number; layers: number; heads: number; intermediate: number },
  { dropout = 0.1, vocab = 30522 }: { dropout?: number; vocab?: number } = {},
) {
  return {
    vocab_size: vocab,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    hidden_dropout_prob: dropout,
    attention_probs_dropout_prob: dropout,
  };
}
