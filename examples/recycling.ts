/**
 * maxTasksPerChild: a child that has run that many tasks exits and a fresh one takes its place, which
 * keeps a leaking task's memory bounded (Python's `maxtasksperchild`).
 *
 *   npx ts-node examples/recycling.ts
 */
import path from 'node:path';
import { Pool } from '../src';
import type { LeakReport } from './tasks/leaky';

const TASKS = 20;

async function run(maxTasksPerChild?: number): Promise<LeakReport[]> {
  const pool = new Pool<typeof import('./tasks/leaky')>({
    processes: 2,
    module: path.join(__dirname, 'tasks/leaky.ts'),
    maxTasksPerChild,
  });
  // chunksize 1: every item is one task. maxTasksPerChild counts tasks, and a chunk of items is one task.
  const reports = await pool.map('leakyTask', Array.from({ length: TASKS }, (_, i) => i), { chunksize: 1 });
  pool.close();
  await pool.join();
  return reports;
}

function summarize(label: string, reports: LeakReport[]): void {
  const pids = new Set(reports.map((r) => r.pid));
  const maxLeaked = Math.max(...reports.map((r) => r.leakedMb));
  const maxRss = Math.max(...reports.map((r) => r.rssMb));
  console.log(`${label}: ${TASKS} tasks ran in ${pids.size} children; a child leaked at most ${maxLeaked} MB (peak RSS ${maxRss} MB)`);
}

async function main(): Promise<void> {
  // Without recycling, two children run every task, and each keeps all it leaked.
  summarize('without maxTasksPerChild', await run());

  // With maxTasksPerChild: 4, each child exits after 4 tasks and its memory goes with it.
  const reports = await run(4);
  const tasksByChild = new Map<number, number[]>();
  reports.forEach((r, i) => tasksByChild.set(r.pid, [...(tasksByChild.get(r.pid) ?? []), i]));
  for (const [pid, tasks] of tasksByChild) {
    const leaked = Math.max(...tasks.map((i) => reports[i].leakedMb));
    console.log(`  child ${pid} ran tasks ${tasks.join(', ')} (leaked ${leaked} MB), then exited`);
  }
  summarize('with maxTasksPerChild: 4', reports);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
