/**
 * piscina: worker threads, the in-process reference (no child processes, so no fork and no IPC pipe).
 */
import { Piscina } from 'piscina';
import { TASKS } from '../paths';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers) {
    const pool = new Piscina({ filename: TASKS, minThreads: workers, maxThreads: workers });
    return {
      call: (task, arg) => pool.run(arg, { name: task }),
      async close() {
        await pool.destroy();
      },
    };
  },
};
