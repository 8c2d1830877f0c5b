/**
 * Quick start: a pool of child processes, a few ways to give it work, and a clean shutdown.
 *
 *   npx ts-node examples/quick-start.ts
 */
import path from 'node:path';
import { Pool } from '../src'; // in your own project: import { Pool } from 'forkpool';

async function main(): Promise<void> {
  // Two child processes. `module` is the file whose exports string task names refer to; the type
  // parameter lets TypeScript check those names, their arguments and their results.
  const pool = new Pool<typeof import('./tasks/math')>({
    processes: 2,
    module: path.join(__dirname, 'tasks/math.ts'),
  });

  // apply: run one task in some child and await its result.
  const f30 = await pool.apply('fib', [30]);
  console.log(`fib(30) = ${f30}`);

  // map: one task per item, results in input order (Python's Pool.map).
  const squares = await pool.map('square', [1, 2, 3, 4, 5, 6, 7, 8]);
  console.log(`squares: ${squares.join(' ')}`);

  // Several calls at once: they are queued, and the children take them as they become free.
  const fibs = await Promise.all([25, 26, 27, 28].map((n) => pool.apply('fib', [n])));
  console.log(`fib(25..28): ${fibs.join(' ')}`);

  // An async task: the child awaits it.
  console.log(`slowSquare(9) = ${await pool.apply('slowSquare', [9, 50])}`);

  // An inline function instead of a module export: its source is sent to the child and compiled there,
  // so it must be self-contained (see examples/inline-functions.ts).
  const total = await pool.apply((xs: number[]) => xs.reduce((sum, x) => sum + x, 0), [squares]);
  console.log(`sum of the squares: ${total}`);

  // close(): take no new tasks, let the submitted ones finish; join(): wait for the children to exit.
  pool.close();
  await pool.join();
  console.log('first pool closed and joined');

  // `await using` does the same at the end of the block: close(), then join().
  {
    await using scoped = new Pool({ processes: 2 });
    const childPid = await scoped.apply(() => process.pid);
    console.log(`an inline task ran in child ${childPid}; this process is ${process.pid}`);
  }
  console.log('second pool disposed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
