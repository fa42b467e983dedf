// Plain parsing of a run's log.jsonl, with no tensor code, so the page and the worker can read logs cheaply.
import type { EvaluationResult } from '../../train/evaluate.ts';

/** One line of a run's log.jsonl (Taskscope's trainer events, as the CLI and the exported trainer write them). */
export type RunLogLine = Record<string, unknown> & { type: string };

/** Parses log.jsonl; every problem names the line. Step lines need numeric step and loss. */
export function parseRunLog(text: string, origin = 'log.jsonl'): RunLogLine[] {
  const out: RunLogLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const o = v as RunLogLine;
    if (typeof o !== 'object' || o === null || typeof o.type !== 'string') throw new Error(`${origin}:${i + 1}: expected an object with a "type" field`);
    if (o.type === 'step' && (typeof o.step !== 'number' || typeof o.loss !== 'number')) {
      throw new Error(`${origin}:${i + 1}: a step line needs numeric "step" and "loss"`);
    }
    if (o.type === 'eval' && !Array.isArray(o.tasks)) throw new Error(`${origin}:${i + 1}: an eval line needs a "tasks" array`);
    out.push(o);
  });
  if (!out.some((l) => l.type === 'step')) throw new Error(`${origin}: no step lines: not a training log`);
  return out;
}

/** The last evaluation in a log, as Taskscope's EvaluationResult (null metrics, written for NaN, read back as NaN). */
export function lastEvaluation(log: readonly RunLogLine[]): EvaluationResult | null {
  const e = [...log].reverse().find((l) => l.type === 'eval');
  if (!e) return null;
  const num = (x: unknown) => (typeof x === 'number' ? x : NaN);
  const tasks = (e.tasks as Record<string, unknown>[]).map((t) => ({
    task: String(t.task),
    rows: num(t.rows),
    loss: num(t.loss),
    metrics: Object.fromEntries(Object.entries((t.metrics ?? {}) as Record<string, unknown>).map(([k, v]) => [k, num(v)])),
    score: num(t.score),
  }));
  return { step: num(e.step), epoch: num(e.epoch), tasks, glueScore: num(e.glueScore) };
}
