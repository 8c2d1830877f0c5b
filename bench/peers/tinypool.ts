/**
 * tinypool with its child-process runtime (JSON over the channel unless asked otherwise).
 */
import { Tinypool } from 'tinypool';
import { TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers, channel) {
    const pool = new Tinypool({
      filename: TASKS,
      runtime: 'child_process',
      minThreads: workers,
      maxThreads: workers,
      env: childEnv() as Record<string, string>,
      ...(channel === 'advanced' ? { serialization: 'advanced' as const } : {}),
    });
    return {
      call: (task, arg) => pool.run(arg, { name: task }),
      async close() {
        await pool.destroy();
      },
    };
  },
};
