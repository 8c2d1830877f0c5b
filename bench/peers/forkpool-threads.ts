/**
 * forkpool's ThreadPool, through its built package: the pool of forkpool.ts over worker threads.
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY, TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

const { ThreadPool } = require(PACKAGE_ENTRY) as typeof Forkpool;

export const peer: NodePeer = {
  create(workers) {
    const pool = new ThreadPool({ processes: workers, module: TASKS, env: childEnv() });
    return {
      call: (task, arg) => pool.apply(task, [arg]),
      move: (buffer) => pool.apply('moveBack', [buffer], { transfer: [buffer] }) as Promise<ArrayBuffer>,
      map: (task, items, chunksize) => pool.map(task, items, chunksize === undefined ? undefined : { chunksize }),
      async close() {
        pool.close();
        await pool.join();
      },
    };
  },
};
