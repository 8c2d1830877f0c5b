/**
 * The peer over the Pool class of a forkpool build, with its defaults (the advanced channel): this build's
 * (forkpool.ts) or another's (forkpool-baseline.ts). Loads no build itself: each peer loads only its own.
 */
import type * as Forkpool from '../../src';
import { TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

export function poolPeer(Pool: typeof Forkpool.Pool): NodePeer {
  return {
    create(workers) {
      const pool = new Pool({ processes: workers, module: TASKS, env: childEnv() });
      return {
        call: (task, arg) => pool.apply(task, [arg]),
        map: (task, items, chunksize) => pool.map(task, items, chunksize === undefined ? undefined : { chunksize }),
        async close() {
          pool.close();
          await pool.join();
        },
      };
    },
  };
}
