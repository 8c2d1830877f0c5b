/**
 * forkpool's ThreadPoolExecutor, through the built package: one `submit` per call, each awaited as a Future.
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY, TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

const { ThreadPoolExecutor } = require(PACKAGE_ENTRY) as typeof Forkpool;

export const peer: NodePeer = {
  create(workers) {
    const executor = new ThreadPoolExecutor({ maxWorkers: workers, module: TASKS, env: childEnv() });
    return {
      call: (task, arg) => executor.submit(task, arg).result(),
      close: () => executor.shutdown(),
    };
  },
};
