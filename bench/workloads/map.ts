/**
 * A, as one map: `mapItems` tiny tasks in a single map call, with chunksize 1 (every item its own task) or
 * the pool's default (Python's ceil(n / (4 * workers))). Items per second.
 *
 * Before the clock starts, one map over a tenth of the items with the same chunksize: the map's own code
 * has then run once in the parent and in the children. Without it, a run this short is mostly the first
 * compilation of that code.
 */
import { MemoryProbe } from '../memory';
import { now, seconds, warmUp, withPool } from './common';
import type { Workload } from './types';

/** The warm-up map covers this fraction of the items. */
const WARM_UP_FRACTION = 10;

export function mapWorkload(chunksize: number | undefined, fullMapsBefore = 0): Workload {
  return {
    needsMap: true,
    async run(peer, { sizes }) {
      const probe = new MemoryProbe();
      probe.begin();
      return withPool(peer.create(sizes.workers, 'default'), async (pool) => {
        await warmUp(pool, sizes.workers);
        const n = sizes.mapItems;
        const items = Array.from({ length: n }, (_, i) => i);
        await pool.map!('tiny', items.slice(0, Math.ceil(n / WARM_UP_FRACTION)), chunksize);
        for (let i = 0; i < fullMapsBefore; i++) await pool.map!('tiny', items, chunksize);
        const start = now();
        const results = await pool.map!('tiny', items, chunksize);
        const end = now();
        const memory = probe.end();
        if (results.length !== n || results.some((result, i) => result !== i + 1)) throw new Error('Wrong results.');
        return { value: n / seconds(start, end), phases: { total: end - start }, memory };
      });
    },
  };
}
