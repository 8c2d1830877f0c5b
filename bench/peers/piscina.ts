/**
 * piscina: worker threads, the in-process reference (no child processes, so no fork and no IPC pipe).
 */
import { Piscina, move } from 'piscina';
import { TASKS } from '../paths';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers) {
    const pool = new Piscina({ filename: TASKS, minThreads: workers, maxThreads: workers });
    return {
      call: (task, arg) => pool.run(arg, { name: task }),
      move: (buffer) => pool.run(move(buffer) as ArrayBuffer, { name: 'moveBackPiscina' }),
      async close() {
        await pool.destroy();
      },
    };
  },
};
