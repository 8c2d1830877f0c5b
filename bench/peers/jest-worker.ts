/**
 * jest-worker with child processes (its default); its channel is always the advanced one.
 */
import { Worker } from 'jest-worker';
import { TASKS, childEnv } from '../paths';
import { TASK_NAMES, type TaskName } from '../types';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers) {
    const worker = new Worker(TASKS, {
      numWorkers: workers,
      enableWorkerThreads: false,
      exposedMethods: TASK_NAMES,
      forkOptions: { env: childEnv() },
    });
    const methods = worker as unknown as Record<TaskName, (arg: unknown) => Promise<unknown>>;
    return {
      call: (task, arg) => methods[task](arg),
      async close() {
        await worker.end();
      },
    };
  },
};
