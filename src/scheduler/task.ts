/**
 * One unit of scheduling: a chunk of calls of one function, plus where its outcome goes.
 */
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import type { WorkerHandle } from './child-handle';

/**
 * Receives the outcome of the tasks of one call (an apply, a map, an imap...). One object per call rather
 * than closures per task keeps the per-task path free of allocations beyond the task itself.
 */
export interface TaskSink {
  resolveTask(task: Task, values: ChunkValues): void;
  /** `index` is the failing call within the chunk, when the task itself ran. */
  rejectTask(task: Task, error: unknown, index?: number): void;
}

export type TaskState =
  /** Waiting in the pool's queue. */
  | 'queued'
  /** Sent to a child, which runs it or has it next in line. */
  | 'sent'
  /** Resolved, rejected or dropped; whatever comes later for it is ignored. */
  | 'settled';

let nextId = 1;

export class Task {
  readonly id = nextId++;
  state: TaskState = 'queued';
  /** The child holding it, while `sent`. */
  worker: WorkerHandle | undefined = undefined;
  /** Set while the timeout clock runs. */
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly spec: TaskSpec,
    /** One input per call: its single argument, or with `spread` its argument list. */
    readonly inputs: unknown[],
    readonly spread: boolean,
    readonly sink: TaskSink,
    /** The call it belongs to, and the chunk's position within it. */
    readonly call: number,
    readonly index: number,
    readonly timeout: number | undefined,
    /** How many tasks its child may hold ahead of it when it is sent: see {@link maxTasksAhead}. */
    readonly maxAhead: number,
  ) {}

  /** Its outcome is awaited by a clock or an abort: the child should report it the moment it is known. */
  get urgent(): boolean {
    return this.maxAhead === 0;
  }
}

/**
 * How many tasks a child may hold ahead of a task it is sent. A task with a deadline or an abort signal
 * goes only to a child with nothing else in hand, so that being sent means running: its clock starts on
 * time and aborting it never has to guess whether it started. A future may be cancelled until a child
 * takes it, so at most one waits in a child behind the one it runs, as in Python's executor. Other tasks
 * may queue in a child as deep as it asks.
 */
export function maxTasksAhead({ deadline, cancellable }: { deadline: boolean; cancellable: boolean }): number {
  return deadline ? 0 : cancellable ? 1 : Infinity;
}
