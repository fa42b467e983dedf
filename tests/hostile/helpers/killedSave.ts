// Child process: trains faultTrainer() into <dir> and SIGKILLs itself at the k-th file operation of the saves.
import { useCpu } from './childBackend.ts';
import { FolderTrainStateStore, nodeStateFs } from '../../../src/engine/platform/node/folderTrainStateStore.ts';
import { dyingFs, faultTrainer } from './tinyRun.ts';

const [dir, at, when] = process.argv.slice(2);
await useCpu();
const fs = dyingFs(nodeStateFs, Number(at), when as 'before' | 'after', () => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
});
const trainer = faultTrainer(new FolderTrainStateStore(dir, fs));
await trainer.run();
process.stdout.write('finished without being killed\n');
