/**
 * tinypool with its default runtime: worker threads, as piscina (from which it was forked).
 */
import { Tinypool } from 'tinypool';
import { TASKS } from '../paths';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers) {
    const pool = new Tinypool({ filename: TASKS, minThreads: workers, maxThreads: workers });
    return {
      call: (task, arg) => pool.run(arg, { name: task }),
      move: (buffer) => pool.run(Tinypool.move(buffer) as ArrayBuffer, { name: 'moveBackTinypool' }),
      async close() {
        await pool.destroy();
      },
    };
  },
};
