/**
 * What the calls (apply, map, imap, futures) need from whatever runs their tasks: the scheduler of a local
 * pool, whose workers are child processes or threads, or a cluster's queue. The pools' faces and the calls
 * are written against this alone, so that every kind of pool shares them.
 */
import type { Readable } from 'node:stream';
import type { ExitReason, PoolStats, WorkerInfo } from '../events';
import type { TaskSpec } from '../shared/protocol';
import type { Task } from './task';

export type PoolState =
  /** Taking tasks. */
  | 'running'
  /** `close()`d: submitted work finishes, nothing new is taken, then the workers exit. */
  | 'closed'
  /** `terminate()`d: workers killed, unfinished tasks rejected. */
  | 'terminated'
  /** A worker crashed (policy `'break'`) or an initializer failed: everything pending and later rejects. */
  | 'broken';

/** A call still reading its input, and so still submitting tasks. */
export interface OpenInput {
  /** The pool was closed: read the rest now, or stop reading; either way, call `closeInput` when done. */
  poolClosed(): void;
}

/** What a runner tells the pool's face (Pool, ProcessPoolExecutor...), which tells its listeners. */
export interface PoolObserver {
  spawn(info: WorkerInfo): void;
  exit(info: WorkerInfo & { exitCode: number | null; signal: NodeJS.Signals | null; reason: ExitReason }): void;
  event(value: unknown, info: WorkerInfo): void;
}

export interface TaskRunner {
  readonly state: PoolState;
  /** How many tasks can run at once: the pool's `processes`. */
  readonly processes: number;
  stats(): PoolStats;
  /** The workers' stdout and stderr as streams of lines, where the options pipe them; null elsewhere. */
  readonly output: { stdout: Readable | null; stderr: Readable | null };
  /**
   * How many chunks of a call whose input is read lazily (imap) may be submitted and not yet consumed:
   * enough to keep the workers busy, asked again as the call goes on.
   */
  inputWindow(spec: TaskSpec): number;
  /** Queue a task; in a pool that runs no more tasks it is rejected at once. */
  submit(task: Task): void;
  /** Reject a task with `reason`: one not started is dropped, a running one is stopped. */
  abort(task: Task, reason: unknown): void;
  /** Drop a task that has not started: true if it never will, false if it may have begun. */
  cancel(task: Task): boolean;
  /** The task's call no longer wants it: cancel it, or let it run to its end and ignore its outcome. */
  discard(task: Task): void;
  /** Whether a worker has begun the task and it is not finished. */
  running(task: Task): boolean;
  /** A call will keep submitting tasks from its input (even after close()) until `closeInput`. */
  openInput(input: OpenInput): void;
  closeInput(input: OpenInput): void;
  close(): void;
  terminate(): void;
  /** Resolves once every worker has exited; rejects with PoolStateError before close() or terminate(). */
  join(): Promise<void>;
}

/** Chunks per worker a lazily read input keeps submitted and not yet consumed: enough to keep every worker busy. */
const INPUT_WINDOW_PER_WORKER = 4;

/** How many chunks of a lazily read input may be submitted and not yet consumed, `processes` running them. */
export function chunkedInputWindow(processes: number): number {
  return INPUT_WINDOW_PER_WORKER * processes;
}
