/**
 * worker-farm with its defaults (up to 10 calls in flight per child, JSON over the channel).
 */
import { WORKER_FARM_TASKS, childEnv } from '../paths';
import { TASK_NAMES, type TaskName } from '../types';
import type { NodePeer } from './types';

type Callback = (error: unknown, result?: unknown) => void;
type FarmApi = Record<TaskName, (arg: unknown, callback: Callback) => void>;
interface WorkerFarm {
  (options: object, path: string, methods: readonly string[]): FarmApi;
  end(api: FarmApi, callback: () => void): void;
}

const workerFarm = require('worker-farm') as WorkerFarm;

export const peer: NodePeer = {
  create(workers, channel) {
    const serialization = channel === 'advanced' ? { serialization: 'advanced' } : {};
    const farm = workerFarm(
      { maxConcurrentWorkers: workers, workerOptions: { env: childEnv(), ...serialization } },
      WORKER_FARM_TASKS,
      TASK_NAMES,
    );
    return {
      call: (task, arg) =>
        new Promise((resolve, reject) => farm[task](arg, (error, result) => (error ? reject(error) : resolve(result)))),
      close: () => new Promise<void>((resolve) => workerFarm.end(farm, resolve)),
    };
  },
};
