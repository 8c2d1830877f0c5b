/**
 * The events the pools and executors emit, and what `stats()` returns. The pools never emit `'error'`:
 * a failure reaches the call that owns it.
 */

/** Why a child exited: asked by the pool (for each reason its own word), or `'crashed'`. */
export type ExitReason = 'recycled' | 'idle' | 'closed' | 'timeout' | 'aborted' | 'terminated' | 'broken' | 'crashed';

/** Which child a lifecycle event or a task's event comes from. */
export interface ChildInfo {
  /** The child's process id. */
  pid: number;
}

/** Which worker thread a lifecycle event or a task's event comes from (ThreadPool, ThreadPoolExecutor). */
export interface ThreadInfo {
  /** The thread's id, its `threadId` in `node:worker_threads`. */
  threadId: number;
}

/**
 * How a worker ended, and why: `'recycled'` (`maxTasksPerChild`), `'idle'` (`idleTimeout`), `'closed'`,
 * `'timeout'`, `'aborted'`, `'terminated'`, `'broken'` (stopped because the pool broke), or `'crashed'` (it
 * died unasked). `W` says which worker: {@link ChildInfo} for a child process, {@link ThreadInfo} for a thread.
 */
export type WorkerExitInfo<W extends object = ChildInfo> = W & {
  /** Its exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** Why it exited. */
  reason: ExitReason;
};

/** A child exited: how, and why (`'crashed'` when the pool did not ask it to). */
export type ChildExitInfo = WorkerExitInfo<ChildInfo>;

/** A worker thread exited: how, and why (`'crashed'` when the pool did not ask it to). `signal` is always null. */
export type ThreadExitInfo = WorkerExitInfo<ThreadInfo>;

/** @internal Which worker, as the engine reports it to a pool's face. */
export type WorkerInfo = ChildInfo | ThreadInfo;

/**
 * The events of a pool, for `on`, `once` and `off`. `W` says which worker an event comes from:
 * {@link ChildInfo} (`{ pid }`) for a pool of processes, {@link ThreadInfo} (`{ threadId }`) for threads.
 */
export interface PoolEvents<W extends object = ChildInfo> {
  /** A task sent `value` with `emit()` (from `forkpool/task`). */
  event: [value: unknown, info: W];
  /** A worker was started. Listeners added right after the constructor see the first workers' too. */
  spawn: [info: W];
  /** A worker exited, asked to or not. */
  exit: [info: WorkerExitInfo<W>];
}

/** Counts of what a pool is doing now, and has done since it was created (`stats()`). */
export interface PoolStats {
  /** Children alive now. */
  processes: number;
  /** Children not ready yet. */
  starting: number;
  /** Children holding no task. */
  idle: number;
  /** Children holding at least one task. */
  busy: number;
  /** Tasks no child has begun: in the pool's queue or held ahead by a child. */
  queued: number;
  /** Tasks a child has begun and not yet answered for. */
  running: number;
  /** Tasks that succeeded, since the pool was created. */
  completed: number;
  /** Tasks that ended with an error of any kind (cancelled ones count in neither). */
  failed: number;
  /** Children started. */
  spawned: number;
  /** Children that died when the pool did not ask them to. */
  crashed: number;
}
