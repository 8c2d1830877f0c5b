/**
 * A workload: one run against a fresh pool of one peer, in a measuring process of its own.
 */
import type { NodePeer } from '../peers/types';
import type { Measurement, MeasureSpec } from '../types';

export interface Workload {
  /** Only pools with a map can run it; the others are reported as n/a. */
  needsMap?: boolean;
  run(peer: NodePeer, spec: MeasureSpec): Promise<Measurement>;
}
