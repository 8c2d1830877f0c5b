/**
 * The workloads by id.
 */
import { FULL_MAPS_BEFORE_WARM_RUN } from '../config';
import type { WorkloadId } from '../types';
import { coarseMap } from './coarse';
import { cpuTasks } from './cpu';
import { echoes } from './echo';
import { movedEchoes } from './echo-moved';
import { gzipFiles } from './gzip';
import { headOfLine } from './head-of-line';
import { idle } from './idle';
import { mapWorkload } from './map';
import { startup } from './startup';
import { tinyCalls, tinyEmittingCalls } from './tiny-calls';
import type { Workload } from './types';

export const WORKLOADS: Record<WorkloadId, Workload> = {
  'A-call': tinyCalls,
  'A-emit': tinyEmittingCalls,
  'A-map1': mapWorkload(1),
  'A-map': mapWorkload(undefined),
  'A-map-warm': mapWorkload(undefined, FULL_MAPS_BEFORE_WARM_RUN),
  B: cpuTasks,
  C: echoes,
  'C-move': movedEchoes,
  D: startup,
  E: coarseMap,
  F: headOfLine,
  gzip: gzipFiles,
  idle,
};
