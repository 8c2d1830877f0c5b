/**
 * B: `cpuTasks` tasks of the same fixed CPU work, all submitted at once. Milliseconds to the last result; the
 * report divides the serial time by it (the speedup).
 */
import { TASKS } from '../paths';
import { now, warmUp, withPool } from './common';
import type { Workload } from './types';

export const cpuTasks: Workload = {
  async run(peer, { sizes, cpuIterations }) {
    return withPool(peer.create(sizes.workers, 'default'), async (pool) => {
      await warmUp(pool, sizes.workers);
      const start = now();
      const results = await Promise.all(Array.from({ length: sizes.cpuTasks }, () => pool.call('cpu', cpuIterations)));
      const end = now();
      if (new Set(results).size !== 1 || typeof results[0] !== 'number') throw new Error('Wrong results.');
      return { value: end - start, phases: { total: end - start } };
    });
  },
};

/**
 * Iterations of the CPU task that take `targetMs` in this process. From the fastest of a few timings: on a
 * shared machine the slower ones measure the other processes, and the task should be sized for the CPU.
 */
export function calibrateCpu(targetMs: number): number {
  const { cpu } = require(TASKS) as { cpu: (iterations: number) => number };
  cpu(1e6); // let the loop be optimised first
  let iterations = 1e6;
  const perMs: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = now();
    cpu(iterations);
    const elapsed = Math.max(now() - start, 0.01);
    // The first, short timing only sizes the others.
    if (round > 0) perMs.push(iterations / elapsed);
    iterations = Math.max(1e5, Math.round((iterations / elapsed) * targetMs));
  }
  return Math.round(Math.max(...perMs) * targetMs);
}
