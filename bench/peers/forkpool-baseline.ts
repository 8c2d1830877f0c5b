/**
 * Another build of forkpool, named by `--baseline` (the runner passes its entry point in BASELINE_ENV): the
 * same Pool, the same tasks, so that a change can be measured against the build it started from in one
 * interleaved run.
 */
import type * as Forkpool from '../../src';
import { BASELINE_ENV, TASKS, childEnv } from '../paths';
import type { NodePeer } from './types';

const entry = process.env[BASELINE_ENV];
if (entry === undefined) throw new Error(`The baseline pool needs ${BASELINE_ENV}: run it through npm run bench -- --baseline <dir>.`);
const { Pool } = require(entry) as typeof Forkpool;

export const peer: NodePeer = {
  create(workers) {
    const pool = new Pool({ processes: workers, module: TASKS, env: childEnv() });
    return {
      call: (task, arg) => pool.apply(task, [arg]),
      map: (task, items, chunksize) => pool.map(task, items, chunksize === undefined ? undefined : { chunksize }),
      async close() {
        pool.close();
        await pool.join();
      },
    };
  },
};
