/**
 * workerpool with process workers (JSON over the channel unless asked otherwise).
 */
import workerpool from 'workerpool';
import { WORKERPOOL_WORKER, childEnv } from '../paths';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers, channel) {
    const pool = workerpool.pool(WORKERPOOL_WORKER, {
      workerType: 'process',
      minWorkers: workers,
      maxWorkers: workers,
      forkOpts: { env: childEnv(), ...(channel === 'advanced' ? { serialization: 'advanced' as const } : {}) },
    });
    return {
      // workerpool's own promise class: adopt it into a native one.
      call: (task, arg) => Promise.resolve(pool.exec(task, [arg])),
      async close() {
        await pool.terminate();
      },
    };
  },
};
