/**
 * Names and shapes shared by the orchestrator (run.ts), the measuring processes (measure.ts) and the
 * report. The Python side (python/pools.py) prints the same result shape.
 */

/** The workloads, as the issue names them. */
export type WorkloadId =
  /** A: tiny tasks, one call each. */
  | 'A-call'
  /** A-call with tasks that each send one event with emit() (forkpool only): what an event costs. */
  | 'A-emit'
  /** A: one map over tiny tasks, chunksize 1. */
  | 'A-map1'
  /** A: one map over tiny tasks, the pool's default chunksize. */
  | 'A-map'
  /** A-map again, after as many full-size maps: the same call in a process that has made it before. */
  | 'A-map-warm'
  /** B: CPU tasks of a few tens of milliseconds. */
  | 'B'
  /** C: echoes of a large Buffer. */
  | 'C'
  /** C with the Buffer's memory moved both ways (a transfer list) rather than copied: threads only. */
  | 'C-move'
  /** D: create a pool, get the first result. */
  | 'D'
  /** E: a fresh pool, one CPU task of about a second per worker: the time to the last result. */
  | 'E'
  /** F: a warm pool, one long CPU task then many short ones: the time until the last short one ends. */
  | 'F'
  /** The real workload: gzip every file of a package in node_modules. */
  | 'gzip'
  /** Memory of a pool whose children sit idle. */
  | 'idle';

export type NodePeerId =
  | 'forkpool'
  /** Another build of forkpool (--baseline): the Pool of a release or of a branch, beside this one's. */
  | 'forkpool-baseline'
  /** forkpool's ProcessPoolExecutor: a Future per call. */
  | 'forkpool-executor'
  /** forkpool's ThreadPool: the same pool over worker threads. */
  | 'forkpool-threads'
  /** forkpool's ThreadPoolExecutor. */
  | 'forkpool-thread-executor'
  | 'jest-worker'
  | 'worker-farm'
  | 'tinypool'
  /** tinypool with its default runtime, worker threads. */
  | 'tinypool-threads'
  | 'workerpool'
  | 'piscina'
  | 'raw-fork'
  /** The work done in the measuring process itself, one task after another: the reference for speedups. */
  | 'serial';

export type PythonPeerId = 'python-pool' | 'python-executor' | 'python-serial';

export type PeerId = NodePeerId | PythonPeerId;

/** The sizes of one run of the harness. */
export interface Sizes {
  /** Children (or threads) per pool. */
  workers: number;
  /** A-call: number of calls. */
  tinyCalls: number;
  /** A-map1 and A-map: items in the map. */
  mapItems: number;
  /** B: number of tasks, and how long each takes when run alone. */
  cpuTasks: number;
  cpuTaskMs: number;
  /** E: how long each task takes when run alone. */
  coarseTaskMs: number;
  /** F: the long task, the short ones, and how many short ones per worker. */
  headLongMs: number;
  headShortMs: number;
  headShortsPerWorker: number;
  /** C: number of echoes and the size of the Buffer. */
  echoes: number;
  echoBytes: number;
  /** gzip: files larger than this are left out (quick mode); null: every file. */
  gzipMaxFileBytes: number | null;
  /** idle: how long the children sit idle before their memory is read. */
  idleSettleMs: number;
}

/** What a measuring process is asked to do. */
export interface MeasureSpec {
  peer: PeerId;
  workload: WorkloadId;
  sizes: Sizes;
  /** B: loop iterations of one CPU task (of `cpuTaskMs`), calibrated for the runtime that runs it; E and F scale it. */
  cpuIterations: number;
  /** gzip: the directory whose files are compressed. */
  gzipDir: string;
  /** Python only: multiprocessing start method. */
  startMethod?: string;
}

export interface ProcessMemory {
  pid: number;
  /** Resident set now, MiB. */
  rssMiB: number;
  /** Peak resident set over the process's life (VmHWM), MiB. */
  peakMiB: number;
}

/** Memory around one measurement; null fields where /proc is not available. */
export interface MemoryReport {
  /** The measuring process before the pool was created, after a garbage collection. */
  parentBaseMiB: number | null;
  /** Its peak from just before the pool was created to the end of the workload. */
  parentPeakMiB: number | null;
  /** Its resident set at the end of the workload (idle: after a garbage collection). */
  parentEndMiB: number | null;
  /** The pool's children, read at the end of the workload, before the pool is closed. */
  children: ProcessMemory[];
}

/** The result of one measurement. */
export interface Measurement {
  /**
   * The workload's figure: tasks/s or items/s (A), MiB/s (C), milliseconds (B, D, gzip), MiB of the children's
   * resident sets (idle).
   */
  value: number;
  /** Milliseconds spent in named parts of the run, e.g. submitting the calls versus waiting for results. */
  phases?: Record<string, number>;
  memory?: MemoryReport;
  /** A figure derived from the results that every pool must reproduce: the work was really done. */
  check?: number;
}

export interface Outcome extends Partial<Measurement> {
  ok: boolean;
  error?: string;
  /** Something odd that did not spoil the figure (a child left behind, for example). */
  warning?: string;
}

/** The measuring processes print their Outcome as JSON on a line that starts with this. */
export const RESULT_MARKER = '@@forkpool-bench ';

/** Tasks in tasks/tasks.js (and python/tasks.py). */
export type TaskName = 'tiny' | 'tinyEmit' | 'cpu' | 'echo' | 'moveBack' | 'moveBackPiscina' | 'moveBackTinypool' | 'gzipFile' | 'sleep';
export const TASK_NAMES: readonly TaskName[] = ['tiny', 'tinyEmit', 'cpu', 'echo', 'moveBack', 'moveBackPiscina', 'moveBackTinypool', 'gzipFile', 'sleep'];
