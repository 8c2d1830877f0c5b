/**
 * forkpool, through its built package as users get it, with its defaults (the advanced channel).
 */
import type * as Forkpool from '../../src';
import { PACKAGE_ENTRY } from '../paths';
import { poolPeer } from './pool-peer';

export const peer = poolPeer((require(PACKAGE_ENTRY) as typeof Forkpool).Pool);
