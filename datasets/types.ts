/** Types of the task registry (`glueTasks.ts`): everything that reads GLUE data goes through one table. */

export type TaskName = 'CoLA' | 'SST-2' | 'MRPC' | 'STS-B' | 'QQP' | 'MNLI' | 'QNLI' | 'RTE' | 'WNLI' | 'AX' | 'SciTail' | 'SNLI';

/** GLUE file stems: MNLI has matched/mismatched dev and test sets, every other task train/dev/test (or a subset). */
export type SplitName = 'train' | 'dev' | 'test' | 'dev_matched' | 'dev_mismatched' | 'test_matched' | 'test_mismatched';

/** MT-DNN's TaskType (Span and sequence labelling are not GLUE tasks). */
export type TaskType = 'classification' | 'regression' | 'ranking';

/** docs/methods.md §1.10; all reported ×100. */
export type MetricName = 'ACC' | 'F1' | 'MCC' | 'Pearson' | 'Spearman';

/**
 * How a submission file writes a prediction (docs/methods.md §1.11): the label string (MNLI, QNLI, RTE, AX), the class
 * index as an integer (CoLA, SST-2, MRPC, QQP, WNLI), or the score with 3 decimals clipped to the score range (STS-B).
 */
export type SubmissionFormat = 'string' | 'int' | 'float3';

/** Column layout of one split's TSV file in the GLUE distribution (0-based column indices). */
export interface TsvLayout {
  /** Path inside the task folder. */
  file: string;
  /** The exact header line's columns, or null when the file has none (CoLA train/dev, SciTail). */
  header: readonly string[] | null;
  /** Every row has exactly this many tab-separated columns. */
  columns: number;
  /** Column of the example id, or 'row' for the 0-based data row number when the file has no id column. */
  uid: number | 'row';
  textA: number;
  textB?: number;
  /** Absent on unlabelled (test) files. */
  label?: number;
}

export interface SplitDef {
  name: SplitName;
  /** Whether rows carry gold labels (GLUE test sets do not; SciTail's and SNLI's do). */
  labelled: boolean;
  /** Official number of examples, where published. */
  rows?: number;
  tsv?: TsvLayout;
  /** Split name on the Hugging Face Hub (file `<config>/<hubSplit>-00000-of-00001.parquet`). */
  hubSplit?: string;
  /** GLUE server file name for predictions on this split (test splits only). */
  submissionFile?: string;
}

/** The task's Parquet dataset on the Hugging Face Hub. */
export interface HubDef {
  /** e.g. `nyu-mll/glue`. */
  repo: string;
  /** Folder inside the repo, e.g. `sst2`. */
  config: string;
  textA: string;
  textB?: string;
  label: string;
  /** Id column, when there is one; otherwise the 0-based row index. */
  uid?: string;
  /**
   * 'classLabel': integer column, -1 = no label, names in the file's `huggingface` metadata; 'string': the
   * label name itself; 'float': a regression score.
   */
  labelKind: 'classLabel' | 'string' | 'float';
  /**
   * [Hub label name, registry label] pairs in the Hub's integer order. The Hub's order can differ from
   * the registry's (MNLI: entailment, neutral, contradiction on the Hub), so labels go through names.
   */
  classLabels?: readonly (readonly [hubName: string, label: string])[];
}

export interface TaskDef {
  name: TaskName;
  /** Lower-case names used by the originals (MT-DNN `sst`, `sts`, FastMTL `stsb`, …); resolved in one place. */
  aliases: readonly string[];
  /** Folder in the GLUE distribution (AX lives in `diagnostic/`). */
  folder: string;
  type: TaskType;
  /** Two texts per example. */
  pair: boolean;
  /** Label vocabulary in MT-DNN order (the index is the class id); null for regression. */
  labels: readonly string[] | null;
  /** Inclusive range of a regression score. */
  scoreRange?: readonly [number, number];
  /** Rows with these raw labels are dropped, as MT-DNN's loaders do (SNLI's '-' = no annotator majority). */
  skipLabels?: readonly string[];
  metrics: readonly MetricName[];
  submissionFormat?: SubmissionFormat;
  hub: HubDef;
  splits: readonly SplitDef[];
  /** Free-text remarks that the UI and the CLI show with the task. */
  note?: string;
}
