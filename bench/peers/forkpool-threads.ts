/**
 * forkpool's ThreadPool, through its built package: the pool of forkpool.ts over worker threads. No `env`,
 * as for piscina: a thread starts no process, which would read this machine's CA bundle (see childEnv).
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY, TASKS } from '../paths';
import type { NodePeer } from './types';

const { ThreadPool } = require(PACKAGE_ENTRY) as typeof Forkpool;

export const peer: NodePeer = {
  create(workers) {
    const pool = new ThreadPool({ processes: workers, module: TASKS });
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
