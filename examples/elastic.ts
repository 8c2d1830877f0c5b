/**
 * A server-style pool that grows under load and shrinks when idle: `minProcesses` children stay, and up to
 * `processes` start when requests queue up; those beyond the minimum exit after `idleTimeout` without work.
 * The pool's lifecycle events and `stats()` show it happen.
 *
 *   npx ts-node examples/elastic.ts
 */
import { Pool } from '../src';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request that takes `ms` of CPU. */
function handle(ms: number): number {
  const until = Date.now() + ms;
  let spins = 0;
  while (Date.now() < until) spins++;
  return spins;
}

async function main(): Promise<void> {
  const pool = new Pool({ processes: 4, minProcesses: 1, idleTimeout: 300 });
  const started = Date.now();
  const at = () => `${String(Date.now() - started).padStart(5)} ms`;
  pool.on('spawn', ({ pid }) => console.log(`${at()}  child ${pid} started`));
  pool.on('exit', ({ pid, reason }) => console.log(`${at()}  child ${pid} exited (${reason})`));
  const report = (label: string) => {
    const { processes, starting, busy, idle, queued } = pool.stats();
    console.log(`${at()}  ${label}: processes ${processes} (${starting} starting, ${busy} busy, ${idle} idle), ${queued} requests waiting`);
  };

  await sleep(100);
  report('quiet');
  // A burst: twelve requests at once. Children start to take them, up to four.
  const burst = Promise.all(Array.from({ length: 12 }, () => pool.apply(handle, [100])));
  await sleep(50);
  report('under load');
  await burst;
  report('burst served');
  // Nothing to do for a while: the children beyond the minimum exit.
  await sleep(800);
  report('idle again');
  pool.close();
  await pool.join();
  const { spawned, completed } = pool.stats();
  console.log(`${spawned} children started over the run, ${completed} requests served`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
