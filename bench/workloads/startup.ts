/**
 * D: create a pool of `workers` and wait for the result of one tiny call. Milliseconds; "create" is the time
 * the constructor itself takes.
 */
import { now, withPool } from './common';
import type { Workload } from './types';

export const startup: Workload = {
  async run(peer, { sizes }) {
    const start = now();
    const pool = peer.create(sizes.workers, 'default');
    const created = now();
    return withPool(pool, async () => {
      const result = await pool.call('tiny', 1);
      const end = now();
      if (result !== 2) throw new Error(`Wrong result: ${String(result)}.`);
      return { value: end - start, phases: { create: created - start, total: end - start } };
    });
  },
};
