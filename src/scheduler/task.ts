/**
 * One unit of scheduling: a chunk of calls of one function, plus where its outcome goes.
 */
import { withCode } from '../errors';
import type { WorkerInfo } from '../events';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import type { ChildHandle } from './child-handle';

/**
 * Receives the outcome of the tasks of one call (an apply, a map, an imap...). One object per call rather
 * than closures per task keeps the per-task path free of allocations beyond the task itself.
 */
export interface TaskSink {
  resolveTask(task: Task, values: ChunkValues): void;
  /**
   * `index` is the failing call within the chunk, when the task itself ran; `done` the results of the
   * chunk's calls that succeeded, in order (see WireFailure).
   */
  rejectTask(task: Task, error: unknown, index?: number, done?: ChunkValues): void;
  /** A value the task sent with `emit()` while it ran. */
  eventFor?(task: Task, value: unknown, info: WorkerInfo): void;
}

export type TaskState =
  /** In no queue and with no child: not yet submitted, or just taken back from a child. */
  | 'loose'
  /** Waiting in the pool's queue. */
  | 'queued'
  /** Sent to a child, which runs it or holds it ahead of its turn. */
  | 'held'
  /**
   * Resolved, rejected or dropped: its outcome has reached its call, and whatever comes later is ignored.
   * A task dropped while it ran stays with its child (its `holder`) until the child answers or dies.
   */
  | 'done';

const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  loose: ['queued', 'done'],
  queued: ['held', 'done'],
  // Taken back from a child, or its child died: loose until the engine queues or finishes it.
  held: ['loose', 'done'],
  done: [],
};

let nextId = 1;

export class Task {
  readonly id = nextId++;
  #state: TaskState = 'loose';
  /** The child that holds it: set from `hold()` until the child answers for it or exits. */
  #holder: ChildHandle | undefined;
  /** Its number on its holder's progress page (see progress-page.ts). */
  #seq = 0;
  /** Set while the timeout clock runs. */
  timer: { cancel(): void } | undefined = undefined;

  constructor(
    readonly spec: TaskSpec,
    /** One input per call: its single argument, or with `spread` its argument list; numbers may come packed. */
    readonly inputs: ChunkValues,
    readonly spread: boolean,
    readonly sink: TaskSink,
    /** The call it belongs to, and the chunk's position within it. */
    readonly call: number,
    readonly index: number,
    /** Ms it may run, from the moment a child begins it. */
    readonly timeout: number | undefined,
    /** Run every call of the chunk even after one fails (see WireTask). */
    readonly keepGoing = false,
  ) {}

  get state(): TaskState {
    return this.#state;
  }

  get holder(): ChildHandle | undefined {
    return this.#holder;
  }

  get seq(): number {
    return this.#seq;
  }

  /**
   * Must start the moment its child receives it, with nothing ahead of it: its clock starts when it is
   * sent. Its child also reports its outcome at once rather than with others.
   */
  get urgent(): boolean {
    return this.timeout !== undefined;
  }

  /** Whether a child has begun it (it may have finished since). */
  get started(): boolean {
    return this.#holder?.hasStarted(this) ?? false;
  }

  /** Put in the pool's queue. Called by the engine only. */
  enqueue(): void {
    this.#to('queued');
  }

  /** Sent to `child` as its task number `seq`. Called by the child's handle only. */
  hold(child: ChildHandle, seq: number): void {
    this.#to('held');
    this.#holder = child;
    this.#seq = seq;
  }

  /** Its holder answered for it, or died, or gave it back. Called by the child's handle only. */
  release(): void {
    this.#holder = undefined;
    if (this.#state !== 'held') return;
    // Its clock starts again if a child begins it again.
    this.#to('loose');
    this.#stopClock();
  }

  /** Its outcome is decided: nothing more will reach its call. */
  finish(): void {
    this.#to('done');
    this.#stopClock();
  }

  #stopClock(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  #to(state: TaskState): void {
    if (!TRANSITIONS[this.#state].includes(state)) {
      throw withCode(new Error(`Internal error: task ${this.id} cannot go from ${this.#state} to ${state}.`), 'ERR_POOL_INTERNAL');
    }
    this.#state = state;
  }
}
