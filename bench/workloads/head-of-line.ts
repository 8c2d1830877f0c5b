/**
 * F: head of line. A warm pool that has been serving tiny calls gets one CPU task of about a second, then
 * `headShortsPerWorker` × workers CPU tasks of a hundredth of that, one call each. Milliseconds from the
 * first call until the last short task has finished: a pool that leaves short tasks waiting behind the long
 * one takes about as long as the long task; one that balances finishes them on the other children.
 */
import { now, warmUp, withPool } from './common';
import type { Workload } from './types';

/** Tiny calls per worker before the clock starts, so that children that widen their prefetch have done so. */
const TINY_CALLS_PER_WORKER = 1000;

export const headOfLine: Workload = {
  async run(peer, { sizes, cpuIterations }) {
    const perMs = cpuIterations / sizes.cpuTaskMs;
    const long = Math.round(perMs * sizes.headLongMs);
    const short = Math.round(perMs * sizes.headShortMs);
    return withPool(peer.create(sizes.workers, 'default'), async (pool) => {
      await warmUp(pool, sizes.workers);
      await Promise.all(Array.from({ length: TINY_CALLS_PER_WORKER * sizes.workers }, (_, i) => pool.call('tiny', i)));
      const start = now();
      const longTask = pool.call('cpu', long);
      const shorts = await Promise.all(Array.from({ length: sizes.headShortsPerWorker * sizes.workers }, () => pool.call('cpu', short)));
      const end = now();
      await longTask;
      if (new Set(shorts).size !== 1 || typeof shorts[0] !== 'number') throw new Error('Wrong results.');
      return { value: end - start, phases: { total: end - start, long: now() - start } };
    });
  },
};
