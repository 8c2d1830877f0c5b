/**
 * Threads: the same pool over worker threads, switched with one word, and what threads add: buffers moved
 * rather than copied, both ways, and memory shared as it is.
 *
 *   npx ts-node examples/threads.ts
 */
import path from 'node:path';
import { Pool, ThreadPool } from '../src'; // in your own project: import { Pool, ThreadPool } from 'forkpool';

type Samples = typeof import('./tasks/samples');
const MODULE = path.join(__dirname, 'tasks/samples.ts');

async function main(): Promise<void> {
  // One word: the same options, calls and results, over worker threads instead of child processes.
  for (const Kind of [Pool, ThreadPool]) {
    await using pool = new Kind<Samples>({ processes: 2, module: MODULE });
    console.log(`${Kind.name}: ${(await pool.map('whoAmI', [1, 2])).join(', ')}`);
  }

  await using pool = new ThreadPool<Samples>({ processes: 2, module: MODULE });

  // The task moves its result back with transfer(): 8 MB arrive without being copied (with a Pool they
  // would be copied, and nothing else would change).
  const wave = await pool.apply('sine', [1_000_000, 1000]);
  console.log(`a sine wave of ${wave.length} samples came back, ${wave.byteLength} bytes moved`);

  // The transfer option moves an argument to the thread: it is detached here from then on.
  const power = await pool.apply('power', [wave], { transfer: [wave.buffer] });
  console.log(`its power is ${power.toFixed(3)}; here it now holds ${wave.byteLength} bytes`);

  // A SharedArrayBuffer is shared as it is: two threads square its halves in place.
  const shared = new Float64Array(new SharedArrayBuffer(8 * 1000));
  for (let i = 0; i < shared.length; i++) shared[i] = i;
  await pool.starmap('squareInPlace', [
    [shared, 0, 500],
    [shared, 500, 1000],
  ]);
  console.log(`squared in place by the threads: shared[3] = ${shared[3]}, shared[999] = ${shared[999]}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
