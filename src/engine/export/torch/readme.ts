import type { TorchExportSpec } from './torchExport.ts';

/** README.md of an export folder: what is in it, how to run it on one machine and on a cluster. */
export function torchExportReadme(spec: TorchExportSpec, checkedMicroBatches: number): string {
  const tasks = spec.tasks.map((t) => `${t.name} (${t.head === 'san' ? 'SAN' : t.type})`).join(', ');
  return `# ${spec.name}: Taskscope experiment for PyTorch

Written by \`taskscope export-torch\`. Needs Python 3 and PyTorch (tested with Debian's python3-torch 1.13);
no other package. Tasks: ${tasks}; variant ${spec.variant.kind}; ${spec.totalSteps} optimiser steps of
${spec.gradAccumulation} micro-batch(es) of ${spec.batchSize} rows; optimiser ${spec.optimizer.kind} (lr ${spec.optimizer.lr}),
schedule ${spec.schedule.kind} (warmup ${spec.schedule.warmup}), global clip ${spec.globalClip}${smartLine(spec)}.

| file | what |
| --- | --- |
| train.py | the entry point: arguments, the training loop, logging, checkpoints |
| taskscope_torch/ | model.py (BERT, EmBERT, PALs), heads.py (heads, losses), schedule.py + rng.py (task sampling, batches, SIWLM), optim.py, step.py (one data-parallel step), evaluation.py (metrics, head importance), resume.py, safetensors_io.py, smart.py + tfjs_random.py (SMART adversarial training and its noise) |
| experiment.json | the Taskscope experiment, as exported |
| export.json | the resolved run: task order, step counts, optimiser and schedule values |
| schedule-check.jsonl | the run's first ${checkedMicroBatches} micro-batches as Taskscope drew them (task index, row indices, loss weight) |
| data/<task>/train.jsonl, dev.jsonl | Taskscope's token ids (\`ids\`, \`segmentA\`, \`label\`, \`uid\`) |
| mtdnn/ | (GLUE tasks only) the tasks and data as the original MT-DNN code base reads them: task_def.yml and <task>_{train,dev}.json (uid, label, token_id, type_id); see Taskscope's docs/torch-export.md for what does not map |
| init/ | the starting weights: HF BERT folder (config.json, vocab.txt, model.safetensors) + heads.json (+ extension.safetensors) |

train.py generates the micro-batch sequence itself, from the seed and data/, with a port of Taskscope's seeded
generator and sampler (taskscope_torch/schedule.py): MT-DNN mix_opt/ratio or annealed / proportional / sqrt /
uniform / temperature sampling, the \`batches\` mode (fixed, fixed-contents, reshuffle), the SIWLM loss weights, one
task per optimiser step and gradient accumulation. At start it checks that its first micro-batches are the ones in
schedule-check.jsonl and stops if not. \`python3 -m taskscope_torch.schedule --count N .\` prints the first N.

## One machine

    python3 train.py --out run                      # one process (GPU when available)
    torchrun --nproc_per_node 2 train.py --out run  # 2 processes: gloo on CPU, nccl on GPU (one GPU per process)

With Debian's torch 1.13 under Python 3.11 (bookworm), torchrun fails at start in \`to_map\` (\`'NoneType' object
has no attribute 'get'\`): its default \`--redirects 0\` does not parse there. Add \`--redirects 1 --tee 2\` (worker
stdout to log files, stderr to the console as well); newer torch releases do not need it.

Each micro-batch is split across the processes and the gradients are summed with all_reduce, so any number of
processes computes the same updates as one (up to float rounding). \`--max-steps N\` stops early, \`--threads N\`
sets torch's threads per process, \`--save-every N\` writes intermediate checkpoints and the train state.

A run saves its train state (weights, optimiser, schedule position, each process's generator) in
\`<out>/train-state/\` when it ends or stops and every \`--save-every\` steps; \`--resume\` continues from it with
the same losses as an uncut run. Resume with the same number of processes (the dropout generators are per process).

Output in \`--out\`: \`log.jsonl\` (Taskscope's step/eval/status lines), \`metrics.json\`, \`checkpoint/\` (HF
layout: config.json, vocab.txt, tokenizer_config.json, model.safetensors with BertModel tensor names, plus
heads.json, extension.safetensors for a variant, experiment.json), \`data/<task>/dev.jsonl\` (the dev rows) and
\`train-state/\`. \`--importance-rows N\` also writes \`importance.json\` (head importance on N dev rows per task).
Bring the run back into Taskscope: in the page, Results → "Import PyTorch run" and pick the \`--out\` folder (the
page measures head importance and task correlation on the trained checkpoint itself); on the command line,
\`taskscope import-run <out>\` (Taskscope's dev metrics, head importance and task correlation, in \`import.json\`).

## SMART

When the experiment has SMART on (export.json's \`smart\`), every micro-batch adds SMART's adversarial term
(Jiang et al. 2020, as MT-DNN's SmartPerturbation and Taskscope's trainer): noise on the embedding output, K ascent
steps on the stable-KL (MSE for regression) loss with max-abs normalised gradients, then alpha times the symmetric KL
between the clean and the perturbed outputs. The noise is Taskscope's own draw (tfjs's seeded normal generator,
taskscope_torch/tfjs_random.py), computed in pure Python: about 0.6 s per million values, i.e. per micro-batch
rows × padded length × hidden size. For large models pass \`--smart-noise torch\` (torch.randn from the same seed:
fast, but other values than Taskscope's, so losses agree in distribution only). Dropout in the adversarial forwards:
'fresh' (default) replays one generator state for all of them, apart from the clean forward's.

## Several machines

Start the same command on every node; torchrun's rendezvous connects them. The export folder must be on
every node (a shared file system or a copy); only rank 0 writes \`--out\`.

    # on each of 2 nodes, 4 GPUs each; HOST:PORT reachable from all nodes
    torchrun --nnodes 2 --nproc_per_node 4 --rdzv_id ${slug(spec.name)} --rdzv_backend c10d \\
      --rdzv_endpoint HOST:29500 train.py --out run

SLURM (one task per node, torchrun starts the processes):

    #!/bin/bash
    #SBATCH --job-name=${slug(spec.name)}
    #SBATCH --nodes=2
    #SBATCH --ntasks-per-node=1
    #SBATCH --gpus-per-node=4
    #SBATCH --cpus-per-task=16
    head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
    srun torchrun --nnodes "$SLURM_NNODES" --nproc_per_node 4 \\
      --rdzv_id "$SLURM_JOB_ID" --rdzv_backend c10d --rdzv_endpoint "$head:29500" \\
      train.py --out run

The batch size is the experiment's (${spec.batchSize} rows per micro-batch, split across all processes), not
per process: more processes make a step faster, not bigger. To train with a larger batch, change the experiment
in Taskscope and export again.
`;
}

function smartLine(spec: TorchExportSpec): string {
  const s = spec.smart;
  if (!s) return '';
  return `; SMART (alpha ${s.alpha}, noise ${s.noiseVar}, step ${s.stepSize}, epsilon ${s.epsilon}, ${s.steps} step(s), norm ${s.norm})`;
}

function slug(s: string): string {
  return s.replace(/[^\w.-]+/g, '_');
}
