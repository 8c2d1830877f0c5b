/**
 * forkpool, through its built package as users get it, with its defaults (the advanced channel).
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY, TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

const { Pool } = require(PACKAGE_ENTRY) as typeof Forkpool;

export const peer: NodePeer = {
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
