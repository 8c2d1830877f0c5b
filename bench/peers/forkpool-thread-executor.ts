/**
 * forkpool's ThreadPoolExecutor, through the built package: one `submit` per call, each awaited as a Future.
 * No `env`, as for piscina (see forkpool-threads.ts).
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY, TASKS } from '../paths';
import type { NodePeer } from './types';

const { ThreadPoolExecutor } = require(PACKAGE_ENTRY) as typeof Forkpool;

export const peer: NodePeer = {
  create(workers) {
    const executor = new ThreadPoolExecutor({ maxWorkers: workers, module: TASKS });
    return {
      call: (task, arg) => executor.submit(task, arg).result(),
      close: () => executor.shutdown(),
    };
  },
};
