/**
 * E: a cold coarse map. A fresh pool of `workers` gets as many CPU tasks of about a second as it has
 * children, in one map (the pool's default chunksize, 1 here) or one call each where a pool has no map.
 * Milliseconds from the pool's constructor to the last result: the children must boot, and each must take
 * one task, at once.
 */
import { now, withPool } from './common';
import type { Workload } from './types';

export const coarseMap: Workload = {
  async run(peer, { sizes, cpuIterations }) {
    const iterations = Math.round((cpuIterations * sizes.coarseTaskMs) / sizes.cpuTaskMs);
    const items = Array.from({ length: sizes.workers }, () => iterations);
    const start = now();
    const pool = peer.create(sizes.workers, 'default');
    return withPool(pool, async () => {
      const results = pool.map !== undefined ? await pool.map('cpu', items, undefined) : await Promise.all(items.map((n) => pool.call('cpu', n)));
      const end = now();
      if (new Set(results).size !== 1 || typeof results[0] !== 'number') throw new Error('Wrong results.');
      return { value: end - start, phases: { total: end - start } };
    });
  },
};
