import { describe, expect, it } from 'vitest';
import { generateSyntheticTask, syntheticVocabText, SYNTHETIC_TASKS, SYNTHETIC_WORDS } from '../../src/engine/synthetic/syntheticTasks.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';

describe('synthetic demo tasks', () => {
  const tok = BertTokenizer.fromVocabText(syntheticVocabText(), { doLowerCase: true, source: 'synthetic vocab' });

  it('every word is one WordPiece token (no [UNK]) and the vocab has the specials first', () => {
    expect(tok.vocabSize).toBe(5 + SYNTHETIC_WORDS);
    const e = tok.encode('w0 w13 w39', 'w2', { maxLength: 16, padding: 'none' });
    expect(e.tokens).toEqual(['[CLS]', 'w0', 'w13', 'w39', '[SEP]', 'w2', '[SEP]']);
    expect(e.inputIds).toEqual([2, 5, 18, 44, 3, 7, 3]);
  });

  it('labels follow each task rule exactly', () => {
    const words = (t: string) => t.split(' ').map((w) => Number(w.slice(1)));
    for (const ex of generateSyntheticTask('SYN-FIRST', 200, 1)) expect(ex.label).toBe(words(ex.textA)[0] < SYNTHETIC_WORDS / 2 ? 1 : 0);
    for (const ex of generateSyntheticTask('SYN-CONTAINS', 200, 1)) expect(ex.label).toBe(words(ex.textA).includes(0) ? 1 : 0);
    for (const ex of generateSyntheticTask('SYN-MATCH', 200, 1)) expect(ex.label).toBe(words(ex.textA)[0] === words(ex.textB!)[0] ? 1 : 0);
    for (const ex of generateSyntheticTask('SYN-COUNT', 200, 1)) {
      const w = words(ex.textA);
      expect(ex.label).toBeCloseTo((5 * w.filter((x) => x < SYNTHETIC_WORDS / 2).length) / w.length, 12);
    }
  });

  it('classification tasks are balanced and a seed reproduces the same data', () => {
    for (const task of SYNTHETIC_TASKS.filter((t) => t !== 'SYN-COUNT')) {
      const xs = generateSyntheticTask(task, 300, 7);
      expect(xs.filter((x) => x.label === 1).length).toBe(150);
      expect(generateSyntheticTask(task, 300, 7)).toEqual(xs);
      expect(generateSyntheticTask(task, 300, 8)).not.toEqual(xs);
    }
  });
});
