import type { SplitPredictions } from '../evaluate.ts';

/** One line of a predictions file. `scores`: class probabilities (classification) or [score] (regression, ranking). */
export interface PredictionRecord {
  uid: string;
  prediction: number;
  scores: number[];
}

export function predictionsJsonl(p: SplitPredictions): string {
  const width = p.uids.length ? p.scores.length / p.uids.length : 0;
  const lines = p.uids.map((uid, i) =>
    JSON.stringify({
      uid,
      prediction: p.predictions[i],
      scores: Array.from(p.scores.subarray(i * width, (i + 1) * width)),
    } satisfies PredictionRecord),
  );
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export function parsePredictionsJsonl(text: string, origin: string): { uids: string[]; predictions: number[]; scores: number[]; width: number } {
  const uids: string[] = [];
  const predictions: number[] = [];
  const scores: number[] = [];
  let width = -1;
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    let r: PredictionRecord;
    try {
      r = JSON.parse(line) as PredictionRecord;
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof r.uid !== 'string' || typeof r.prediction !== 'number' || !Array.isArray(r.scores)) {
      throw new Error(`${origin}:${i + 1}: expected {"uid": string, "prediction": number, "scores": number[]}`);
    }
    if (width >= 0 && r.scores.length !== width) throw new Error(`${origin}:${i + 1}: field scores: ${r.scores.length} values, earlier lines have ${width}`);
    width = r.scores.length;
    uids.push(r.uid);
    predictions.push(r.prediction);
    scores.push(...r.scores);
  });
  return { uids, predictions, scores, width: Math.max(0, width) };
}
