/**
 * Memory of an idle pool: create it, run one round of tiny calls, let it sit, then read the resident sets of
 * its children and how much the measuring process grew (threads live there). MiB, children and growth
 * together: what the idle pool costs.
 */
import { MemoryProbe } from '../memory';
import { delay, warmUp, withPool } from './common';
import type { Workload } from './types';

export const idle: Workload = {
  async run(peer, { sizes }) {
    const probe = new MemoryProbe();
    probe.begin();
    return withPool(peer.create(sizes.workers, 'default'), async (pool) => {
      await warmUp(pool, sizes.workers);
      await delay(sizes.idleSettleMs);
      const memory = probe.end({ settle: true });
      const children = memory.children.reduce((sum, child) => sum + child.rssMiB, 0);
      const growth = memory.parentEndMiB !== null && memory.parentBaseMiB !== null ? memory.parentEndMiB - memory.parentBaseMiB : 0;
      return { value: children + Math.max(0, growth), memory };
    });
  },
};
