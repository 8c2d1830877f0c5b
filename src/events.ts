/**
 * The events Pool and ProcessPoolExecutor emit, and what `stats()` returns. The pools never emit `'error'`:
 * a failure reaches the call that owns it.
 */
import type { EngineStats } from './scheduler/engine';
import type { ExitReason } from './scheduler/exit-policy';

export type { ExitReason };

/** Which child a lifecycle event or a task's event comes from. */
export interface ChildInfo {
  pid: number;
}

/** A child exited: how, and why (`'crashed'` when the pool did not ask it to). */
export interface ChildExitInfo extends ChildInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  reason: ExitReason;
}

/** The events of a pool, for `on`, `once` and `off`. */
export interface PoolEvents {
  /** A task sent `value` with `emit()` (from `forkpool/task`). */
  event: [value: unknown, info: ChildInfo];
  /** A child was started. Listeners added right after the constructor see the first children's too. */
  spawn: [info: ChildInfo];
  exit: [info: ChildExitInfo];
}

/** Counts of what a pool is doing now, and has done since it was created. */
export type PoolStats = EngineStats;
