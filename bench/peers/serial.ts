/**
 * No pool: every call runs at once in the measuring process, one after another. The reference that the
 * speedups of B and gzip divide by.
 */
import { TASKS } from '../paths';
import type { TaskName } from '../types';
import type { NodePeer } from './types';

const tasks = require(TASKS) as Record<TaskName, (arg: unknown) => unknown>;

export const peer: NodePeer = {
  create() {
    return {
      call: async (task, arg) => tasks[task](arg),
      map: async (task, items) => items.map((item) => tasks[task](item)),
      async close() {},
    };
  },
};
