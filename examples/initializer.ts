/**
 * An initializer loads a heavy resource once per child, not once per task.
 *
 * Python's `Pool(initializer=..., initargs=...)`: `buildTable(LIMIT)` runs in every child before its
 * first task and keeps the table in a module-level variable that the tasks read.
 *
 *   npx ts-node examples/initializer.ts
 */
import path from 'node:path';
import { BrokenPoolError, Pool } from '../src';

const LIMIT = 10_000_000;
const TASKS = 40;

async function main(): Promise<void> {
  const module = path.join(__dirname, 'tasks/lookup.ts');
  const pool = new Pool<typeof import('./tasks/lookup')>({
    processes: 2,
    module,
    initializer: 'buildTable', // a name in `module`; { module, name } or an inline function work too
    initargs: [LIMIT],
  });

  // 40 tasks, one even number each (chunksize 1 makes every item its own task).
  const evens = Array.from({ length: TASKS }, (_, i) => LIMIT - 2 * (i + 1));
  const results = await pool.map('goldbach', evens, { chunksize: 1 });
  pool.close();
  await pool.join();

  // Which child ran what, and how many times each one built the table.
  const byChild = new Map<number, { tasks: number; builds: number }>();
  for (const { pid, builds } of results) {
    const entry = byChild.get(pid) ?? { tasks: 0, builds };
    entry.tasks++;
    entry.builds = Math.max(entry.builds, builds);
    byChild.set(pid, entry);
  }
  for (const [pid, { tasks, builds }] of byChild) {
    console.log(`child ${pid}: ran ${tasks} tasks, built the table ${builds} time(s)`);
  }
  const first = results[0];
  const last = results[results.length - 1];
  const fewest = Math.min(...results.map((r) => r.pairs));
  console.log(`${first.n} is the sum of two primes in ${first.pairs} ways`);
  console.log(`every even number from ${last.n} to ${first.n}: at least ${fewest} ways`);

  // An initializer that throws breaks the pool: tasks reject with BrokenPoolError, whose `cause` is the
  // initializer's error. The pool does not start replacement children that would fail the same way.
  const failing = new Pool<typeof import('./tasks/lookup')>({ processes: 2, module, initializer: 'buildTable', initargs: [-1] });
  try {
    await failing.apply('goldbach', [10]);
  } catch (error) {
    if (!(error instanceof BrokenPoolError)) throw error;
    console.log(`with a failing initializer: ${error.name}, cause: ${(error.cause as Error).message}`);
    console.log(`pool broken: ${failing.broken}`);
  }
  failing.close();
  await failing.join();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
