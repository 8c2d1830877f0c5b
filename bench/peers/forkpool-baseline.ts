/**
 * Another build of forkpool, named by `--baseline` (the runner passes its entry point in BASELINE_ENV): the
 * same Pool, the same tasks, so that a change can be measured against the build it started from in one
 * interleaved run.
 */
import type * as Forkpool from '../../src';
import { BASELINE_ENV } from '../paths';
import { poolPeer } from './pool-peer';

const entry = process.env[BASELINE_ENV];
if (entry === undefined) throw new Error(`The baseline pool needs ${BASELINE_ENV}: run it through npm run bench -- --baseline <dir>.`);

export const peer = poolPeer((require(entry) as typeof Forkpool).Pool);
