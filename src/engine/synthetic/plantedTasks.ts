import { Rng } from '../runtime/rng.ts';
import { SYNTHETIC_WORDS, type SyntheticExample } from './syntheticTasks.ts';

/**
 * Planted-relations benchmark (docs/planted-relations.md): a family of binary tasks over the synthetic
 * vocabulary whose relations are known by construction. Every example of every task is drawn the same way,
 * from five independent latent variables, one per *skill*; a task's label is a fixed function of the latents
 * of the skills it needs. So
 *   - tasks that share a skill read the same latent (the same attention pattern solves both: related);
 *   - tasks that share no skill read disjoint, independent latents: their labels are independent by
 *     construction, and what one task's rows teach about another's latent is only the shared input format.
 *
 * Skills and the attention each needs (sentence A = words a₀ a₁ …, sentence B = b₀ b₁ …):
 *   first  a₀, the first word of A (a fixed position)                      → "first" latent: a content word
 *   mark   does the marker w0 occur anywhere in A (one token identity)     → bit
 *   match  is b₀ the same word as a₀ (across the two segments)              → bit
 *   count  how many copies of w1 are in A: 0–3 (aggregate over tokens)     → 0…3, read as ≥ 2
 *   order  does w2 come before w3 in A (relative position of two tokens)   → bit
 * Words w0–w3 are markers and never filler; content words are w4…w39, "low" = w4…w21, "even" = even index.
 */

export const PLANTED_SKILLS = ['first', 'mark', 'match', 'count', 'order'] as const;
export type PlantedSkill = (typeof PLANTED_SKILLS)[number];

/** The latents of one example: independent, each uniform over its range. */
export interface PlantedLatents {
  first: number;
  mark: boolean;
  match: boolean;
  count: number;
  order: boolean;
}

export interface PlantedTaskDef {
  name: string;
  skills: readonly PlantedSkill[];
  /** The rule that defines the label (noise-free). */
  label: (z: PlantedLatents) => boolean;
  about: string;
}

const MARK = 0;
const COUNTED = 1;
const BEFORE = 2;
const AFTER = 3;
const FIRST_CONTENT = 4;
const CONTENT = SYNTHETIC_WORDS - FIRST_CONTENT;
/** Content words below this index are "low" (half of them). */
const LOW_END = FIRST_CONTENT + CONTENT / 2;

export const isLowWord = (w: number) => w >= FIRST_CONTENT && w < LOW_END;
export const isEvenWord = (w: number) => w % 2 === 0;

export const PLANTED_TASK_DEFS = [
  { name: 'PL-FIRST-LOW', skills: ['first'], label: (z) => isLowWord(z.first), about: 'is the first word of A a low word (w4–w21)?' },
  { name: 'PL-FIRST-EVEN', skills: ['first'], label: (z) => isEvenWord(z.first), about: 'does the first word of A have an even index?' },
  { name: 'PL-MARK', skills: ['mark'], label: (z) => z.mark, about: 'does w0 occur in A?' },
  { name: 'PL-COUNT', skills: ['count'], label: (z) => z.count >= 2, about: 'does w1 occur at least twice in A?' },
  { name: 'PL-ORDER', skills: ['order'], label: (z) => z.order, about: 'does w2 come before w3 in A?' },
  { name: 'PL-MATCH', skills: ['match'], label: (z) => z.match, about: 'do A and B start with the same word?' },
  {
    name: 'PL-MARK-COUNT',
    skills: ['mark', 'count'],
    label: (z) => z.mark !== z.count >= 2,
    about: 'exactly one of: w0 occurs in A; w1 occurs at least twice in A',
  },
  {
    name: 'PL-MATCH-ORDER',
    skills: ['match', 'order'],
    label: (z) => z.match !== z.order,
    about: 'exactly one of: A and B start with the same word; w2 comes before w3',
  },
] as const satisfies readonly PlantedTaskDef[];

export type PlantedTaskName = (typeof PLANTED_TASK_DEFS)[number]['name'];
export const PLANTED_TASKS = PLANTED_TASK_DEFS.map((d) => d.name) as PlantedTaskName[];

export function plantedTaskDef(name: string): PlantedTaskDef {
  const d = PLANTED_TASK_DEFS.find((t) => t.name === name);
  if (!d) throw new Error(`planted tasks: unknown task ${name} (known: ${PLANTED_TASKS.join(', ')})`);
  return d;
}

export const sharesSkill = (a: string, b: string) => plantedTaskDef(a).skills.some((s) => (plantedTaskDef(b).skills as readonly string[]).includes(s));

/** The planted helpers of a target: the other tasks of `among` that share a skill with it. */
export function plantedHelpers(target: string, among: readonly string[]): string[] {
  return among.filter((t) => t !== target && sharesSkill(target, t));
}

export interface PlantedOptions {
  /** Probability that a label is flipped (0 = noise-free). */
  noise?: number;
  /** Length of sentence A: minLength … maxLength words (at least 8, so six markers fit after a₀). */
  minLength?: number;
  maxLength?: number;
}

function drawLatents(rng: Rng): PlantedLatents {
  return { first: FIRST_CONTENT + rng.int(CONTENT), mark: rng.int(2) === 1, match: rng.int(2) === 1, count: rng.int(4), order: rng.int(2) === 1 };
}

const content = (rng: Rng) => FIRST_CONTENT + rng.int(CONTENT);

/** Writes the latents into a pair of word sequences; the filler is content words only. */
function realize(rng: Rng, z: PlantedLatents, lenA: number): { a: number[]; b: number[] } {
  const a = [z.first, ...Array.from({ length: lenA - 1 }, () => content(rng))];
  const markers = [...(z.mark ? [MARK] : []), ...Array<number>(z.count).fill(COUNTED), BEFORE, AFTER];
  const slots = rng.sample(
    Array.from({ length: lenA - 1 }, (_, i) => i + 1),
    markers.length,
  );
  markers.forEach((m, i) => (a[slots[i]] = m));
  const [p, q] = [slots[markers.length - 2], slots[markers.length - 1]];
  // BEFORE sits at the earlier of its two slots exactly when the order latent is set.
  if ((a[Math.min(p, q)] === BEFORE) !== z.order) [a[p], a[q]] = [a[q], a[p]];
  const b = Array.from({ length: 4 + rng.int(4) }, () => content(rng));
  if (z.match) b[0] = z.first;
  else while (b[0] === z.first) b[0] = content(rng);
  return { a, b };
}

const words = (ws: number[]) => ws.map((w) => `w${w}`).join(' ');

/** `count` examples of one planted task from seed `seed`: latents drawn uniformly, label by the task's rule, flipped with probability `noise`. */
export function generatePlantedTask(task: string, count: number, seed: number, opts: PlantedOptions = {}): SyntheticExample[] {
  const def = plantedTaskDef(task);
  const noise = opts.noise ?? 0;
  const minLength = opts.minLength ?? 8;
  const maxLength = opts.maxLength ?? 12;
  if (!(noise >= 0 && noise <= 0.5)) throw new Error(`planted tasks: noise must be in [0, 0.5], got ${noise}`);
  if (!Number.isInteger(minLength) || minLength < 8 || !Number.isInteger(maxLength) || maxLength < minLength) {
    throw new Error(`planted tasks: sentence length must be integers with 8 ≤ minLength ≤ maxLength, got ${minLength}…${maxLength}`);
  }
  const rng = new Rng(`planted/${task}/${seed}`);
  const out: SyntheticExample[] = [];
  for (let i = 0; i < count; i++) {
    const z = drawLatents(rng);
    const { a, b } = realize(rng, z, minLength + rng.int(maxLength - minLength + 1));
    const flip = noise > 0 && rng.uniform() < noise;
    out.push({ uid: `${task}-${seed}-${i}`, textA: words(a), textB: words(b), label: Number(def.label(z) !== flip) });
  }
  return out;
}

/** Reads the latents back from an example's text: the hand-written solution of every skill. */
export function readLatents(textA: string, textB: string | null): PlantedLatents {
  const a = textA.split(' ').map((w) => Number(w.slice(1)));
  const b = (textB ?? '').split(' ').map((w) => Number(w.slice(1)));
  return {
    first: a[0],
    mark: a.includes(MARK),
    match: b[0] === a[0],
    count: a.filter((w) => w === COUNTED).length,
    order: a.indexOf(BEFORE) < a.indexOf(AFTER),
  };
}
