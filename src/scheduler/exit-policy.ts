/**
 * What a child's exit means for the tasks it held and for the pool: which tasks fail, which go back to the
 * queue, whether the pool breaks. Pure: the engine supplies the facts and carries out the decision.
 *
 * The rules (API.md, "Blame", "Crash" and "Start-up failures"):
 * - A task the child had begun fails: it ran, and running it again could repeat its effects. That covers
 *   the task it was running and any it had finished without sending the result.
 * - A task it had not begun goes back to the queue and runs elsewhere, unless the pool breaks, or its
 *   arguments' buffers moved to the worker (a thread's transfer list): they went with it, so it fails too.
 * - A child stopped for a timeout or an abort, retired, or stopped with the pool, did not crash.
 * - A child that dies unasked crashed: with `'break'` the pool breaks. With `'respawn'` it is replaced,
 *   unless it died before answering a first task and so did the children before it: a few failed starts in
 *   a row (a module that exits at load, an initializer that is killed) break the pool rather than fork forever.
 */
import type { ExitReason } from '../events';
import type { CrashPolicy } from '../options';

export type { ExitReason };

/** Why the pool stopped or retired a child. */
export type StopReason = 'recycle' | 'idle' | 'close' | 'timeout' | 'abort' | 'terminate' | 'break';

const EXIT_REASONS: Record<StopReason, ExitReason> = {
  recycle: 'recycled',
  idle: 'idle',
  close: 'closed',
  timeout: 'timeout',
  abort: 'aborted',
  terminate: 'terminated',
  break: 'broken',
};

/** Failed starts in a row that break a `'respawn'` pool. One alone may be a kill from outside. */
export const MAX_START_FAILURES = 3;

export interface ExitFacts<T> {
  /** What the pool asked of the child; undefined if it died unasked. */
  stopReason: StopReason | undefined;
  /** Whether it answered at least one task before it died. */
  answeredOne: boolean;
  /** What it held, in the order it was sent; `done` for tasks whose outcome is settled already. */
  held: ReadonlyArray<{ task: T; started: boolean; done: boolean; moved?: boolean }>;
  onWorkerCrash: CrashPolicy;
  /** Failed starts in a row before this exit. */
  startFailures: number;
}

export interface ExitDecision<T> {
  reason: ExitReason;
  /** Reject with BrokenPoolError. */
  fail: T[];
  /** Back to the front of the queue, in this order. */
  requeue: T[];
  breakPool: boolean;
  /** Failed starts in a row after this exit. */
  startFailures: number;
}

export function decideExit<T>(facts: ExitFacts<T>): ExitDecision<T> {
  const live = facts.held.filter((held) => !held.done);
  // Lost with the worker: what it began, and what cannot run elsewhere because its buffers went with it.
  const ran = live.filter((held) => held.started || held.moved === true).map((held) => held.task);
  const notRun = live.filter((held) => !held.started && held.moved !== true).map((held) => held.task);
  if (facts.stopReason !== undefined) {
    return { reason: EXIT_REASONS[facts.stopReason], fail: ran, requeue: notRun, breakPool: false, startFailures: facts.startFailures };
  }
  const startFailures = facts.answeredOne ? facts.startFailures : facts.startFailures + 1;
  const breakPool = facts.onWorkerCrash === 'break' || startFailures >= MAX_START_FAILURES;
  return {
    reason: 'crashed',
    fail: breakPool ? [...ran, ...notRun] : ran,
    requeue: breakPool ? [] : notRun,
    breakPool,
    startFailures,
  };
}
