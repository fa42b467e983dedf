/** What runs right now, for the job bar: a label, progress (0–1, or null when unknown), ETA and a cancel action. */
export interface Job {
  id: number;
  label: string;
  detail: string;
  progress: number | null;
  etaSeconds: number | null;
  cancel?: () => void;
}

export class JobList {
  items = $state<Job[]>([]);
  private next = 1;

  start(label: string, cancel?: () => void): Job {
    const job: Job = { id: this.next++, label, detail: '', progress: null, etaSeconds: null, cancel };
    this.items.push(job);
    return this.items[this.items.length - 1];
  }

  update(id: number, patch: Partial<Omit<Job, 'id'>>): void {
    const j = this.items.find((x) => x.id === id);
    if (j) Object.assign(j, patch);
  }

  finish(id: number): void {
    this.items = this.items.filter((x) => x.id !== id);
  }

  /** Runs `work` as a job that disappears when it settles. */
  async run<T>(label: string, work: (job: Job) => Promise<T>, cancel?: () => void): Promise<T> {
    const job = this.start(label, cancel);
    try {
      return await work(job);
    } finally {
      this.finish(job.id);
    }
  }
}
