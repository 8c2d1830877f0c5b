/**
 * forkpool's ProcessPoolExecutor, through the built package: one `submit` per call, each awaited as a
 * Future, beside Python's executor on the same workload.
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY, TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

const { ProcessPoolExecutor } = require(PACKAGE_ENTRY) as typeof Forkpool;

export const peer: NodePeer = {
  create(workers) {
    const executor = new ProcessPoolExecutor({ maxWorkers: workers, module: TASKS, env: childEnv() });
    return {
      call: (task, arg) => executor.submit(task, arg).result(),
      close: () => executor.shutdown(),
    };
  },
};
