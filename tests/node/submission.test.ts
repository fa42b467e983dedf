import { unzipSync, strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { buildSubmissionFiles, buildSubmissionZip, submissionTargets, submissionTsv, type SubmissionPredictions } from '../../src/engine/train/submission.ts';

/* The GLUE submission zip (docs/methods.md §1.11, §7.19; Taskscope decision 4), from hand-made predictions. */

const OFFICIAL_FILES = ['CoLA.tsv', 'SST-2.tsv', 'MRPC.tsv', 'STS-B.tsv', 'QQP.tsv', 'MNLI-m.tsv', 'MNLI-mm.tsv', 'QNLI.tsv', 'RTE.tsv', 'WNLI.tsv', 'AX.tsv'];

/** Three rows per test set, uids out of order (10 sorts after 2 as a number, before it as a string). */
function allPredictions(): SubmissionPredictions[] {
  const cls = (task: string, split: string, preds: number[]): SubmissionPredictions => ({ task, split, uids: ['10', '0', '2'], predictions: preds });
  return [
    cls('CoLA', 'test', [1, 0, 1]),
    cls('SST-2', 'test', [0, 1, 1]),
    cls('MRPC', 'test', [1, 1, 0]),
    { task: 'STS-B', split: 'test', uids: ['10', '0', '2', '3'], predictions: [5.4, -0.2, 3.14159, 2.0005] },
    cls('QQP', 'test', [0, 0, 1]),
    cls('MNLI', 'test_matched', [2, 0, 1]),
    cls('MNLI', 'test_mismatched', [1, 2, 0]),
    cls('QNLI', 'test', [1, 0, 0]),
    cls('RTE', 'test', [0, 1, 0]),
    cls('WNLI', 'test', [1, 1, 1]),
    cls('AX', 'test', [0, 2, 1]), // MNLI head's class ids
  ];
}

describe('GLUE submission', () => {
  it('the registry names exactly the 11 official files', () => {
    expect(submissionTargets().map((t) => t.file)).toEqual(OFFICIAL_FILES);
  });

  it('zips every official file with the header, integer order and label formats', () => {
    const { zip, missing, warnings } = buildSubmissionZip(allPredictions());
    expect(missing).toEqual([]);
    expect(warnings).toContain('CoLA.tsv has 3 rows; the official CoLA test set has 1063');
    const files = unzipSync(zip);
    expect(Object.keys(files)).toEqual(OFFICIAL_FILES);
    const text = (name: string) => strFromU8(files[name]);
    expect(text('CoLA.tsv')).toBe('index\tprediction\n0\t0\n2\t1\n10\t1\n');
    expect(text('SST-2.tsv')).toBe('index\tprediction\n0\t1\n2\t1\n10\t0\n');
    expect(text('MNLI-m.tsv')).toBe('index\tprediction\n0\tcontradiction\n2\tneutral\n10\tentailment\n');
    expect(text('MNLI-mm.tsv')).toBe('index\tprediction\n0\tentailment\n2\tcontradiction\n10\tneutral\n');
    expect(text('QNLI.tsv')).toBe('index\tprediction\n0\tnot_entailment\n2\tnot_entailment\n10\tentailment\n');
    expect(text('RTE.tsv')).toBe('index\tprediction\n0\tentailment\n2\tnot_entailment\n10\tnot_entailment\n');
    expect(text('AX.tsv')).toBe('index\tprediction\n0\tentailment\n2\tneutral\n10\tcontradiction\n');
    // STS-B: the score clipped to [0, 5] with 3 decimals (2.0005 is 2.000500000000000167 as a double).
    expect(text('STS-B.tsv')).toBe('index\tprediction\n0\t0.000\n2\t3.142\n3\t2.001\n10\t5.000\n');
    // The same predictions give the same bytes (fixed zip time).
    expect(buildSubmissionZip(allPredictions()).zip).toEqual(zip);
  });

  it('refuses an incomplete submission and names what is missing', () => {
    const some = allPredictions().filter((p) => !(p.task === 'AX' || p.split === 'test_mismatched'));
    expect(() => buildSubmissionFiles(some)).toThrow(
      'GLUE submission: no predictions for MNLI-mm.tsv (MNLI test_mismatched), AX.tsv (AX test); predict them, or allow a partial submission to write only the others',
    );
  });

  it('writes only some files when asked, and says which are left out', () => {
    const some = allPredictions().filter((p) => p.task === 'RTE' || p.task === 'STS-B');
    const { zip, missing } = buildSubmissionZip(some, { allowPartial: true });
    expect(Object.keys(unzipSync(zip))).toEqual(['STS-B.tsv', 'RTE.tsv']);
    expect(missing).toEqual(OFFICIAL_FILES.filter((f) => f !== 'STS-B.tsv' && f !== 'RTE.tsv'));
  });

  it('rejects bad predictions with the file and index', () => {
    const target = submissionTargets().find((t) => t.file === 'MNLI-m.tsv')!;
    expect(() => submissionTsv(target, { task: 'MNLI', split: 'test_matched', uids: ['0', '1'], predictions: [0, 3] })).toThrow(
      'MNLI-m.tsv: prediction for index 1 is 3, not a class id in [0, 3)',
    );
    expect(() => submissionTsv(target, { task: 'MNLI', split: 'test_matched', uids: ['0', 'x7'], predictions: [0, 1] })).toThrow(
      'MNLI-m.tsv: index "x7" is not a non-negative integer (GLUE test files are indexed by integers)',
    );
    expect(() => submissionTsv(target, { task: 'MNLI', split: 'test_matched', uids: ['4', '4'], predictions: [0, 1] })).toThrow(
      'MNLI-m.tsv: index 4 is predicted twice',
    );
    const sts = submissionTargets().find((t) => t.file === 'STS-B.tsv')!;
    expect(() => submissionTsv(sts, { task: 'STS-B', split: 'test', uids: ['0'], predictions: [NaN] })).toThrow('STS-B.tsv: prediction for index 0 is NaN');
    expect(() => buildSubmissionFiles([{ task: 'MNLI', split: 'dev_matched', uids: [], predictions: [] }], { allowPartial: true })).toThrow(
      'GLUE submission: MNLI dev_matched is not a submitted test set (use test_matched / test_mismatched)',
    );
    expect(() => buildSubmissionFiles([{ task: 'SciTail', split: 'test', uids: [], predictions: [] }], { allowPartial: true })).toThrow(
      "GLUE submission: SciTail test is not a submitted test set (SciTail is not part of GLUE's submission)",
    );
    const twice = allPredictions();
    twice.push({ ...twice[0] });
    expect(() => buildSubmissionFiles(twice)).toThrow('GLUE submission: predictions for CoLA.tsv (CoLA test) are given twice');
  });

  it("accepts the originals' task names (sts → STS-B)", () => {
    const { files } = buildSubmissionFiles([{ task: 'sts', split: 'test', uids: ['1'], predictions: [Float32Array.of(2.5)[0]] }], { allowPartial: true });
    expect(files.get('STS-B.tsv')).toBe('index\tprediction\n1\t2.500\n');
  });
});
