/**
 * One unit of scheduling: a chunk of calls of one function, plus where its outcome goes.
 */
import type { Transferable } from 'node:worker_threads';
import { withCode } from '../errors';
import type { WorkerInfo } from '../events';
import type { ChunkValues } from '../shared/packing';
import { scan, type EncodeOptions, type Envelope, type ScanResult } from '../shared/value-codec';
import type { TaskSpec } from '../shared/protocol';
import type { WorkerHandle } from './worker-handle';

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
  /** In no queue and with no worker: not yet submitted, or just taken back from a worker. */
  | 'loose'
  /** Waiting in the pool's queue. */
  | 'queued'
  /** Sent to a worker, which runs it or holds it ahead of its turn. */
  | 'held'
  /**
   * Resolved, rejected or dropped: its outcome has reached its call, and whatever comes later is ignored.
   * A task dropped while it ran stays with its worker (its `holder`) until the worker answers or dies.
   */
  | 'done';

const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  loose: ['queued', 'done'],
  queued: ['held', 'done'],
  // Taken back from a worker, or its worker died: loose until the engine queues or finishes it.
  held: ['loose', 'done'],
  done: [],
};

/** A task's inputs as they travel: the envelope (none: they travel as they are), and what to let go of at the end. */
export interface Carried {
  readonly envelope: Envelope | undefined;
  release(): void;
}

let nextId = 1;

export class Task {
  readonly id = nextId++;
  #state: TaskState = 'loose';
  /** The worker that holds it: set from `hold()` until the worker answers for it or exits. */
  #holder: WorkerHandle | undefined;
  /** Its number on its holder's progress page (see progress-page.ts). */
  #seq = 0;
  /** Set while the timeout clock runs. */
  timer: { cancel(): void } | undefined = undefined;
  /**
   * What the inputs became for the workers where they carry blocks or large parts (value-codec.ts): made at
   * the first send, kept for any later one (a task taken back runs elsewhere), let go when the task finishes.
   */
  carried: Carried | undefined = undefined;
  /**
   * The first look at its inputs (value-codec.ts), made at its submission: the blocks it carries, retained
   * from then until it finishes (close() waits), and what else would travel apart. Undefined for inputs that
   * need nothing, most tasks'.
   */
  scanned: ScanResult | undefined = undefined;

  constructor(
    readonly spec: TaskSpec,
    /** One input per call: its single argument, or with `spread` its argument list; numbers may come packed. */
    readonly inputs: ChunkValues,
    readonly spread: boolean,
    readonly sink: TaskSink,
    /** The call it belongs to, and the chunk's position within it. */
    readonly call: number,
    readonly index: number,
    /** Ms it may run, from the moment a worker begins it. */
    readonly timeout: number | undefined,
    /** Run every call of the chunk even after one fails (see WireTask). */
    readonly keepGoing = false,
    /**
     * Buffers the task moves to its worker rather than copies, where the channel can move them (a thread's).
     * Once sent they belong to the worker: the task is never taken back from it.
     */
    readonly transfer: readonly Transferable[] | undefined = undefined,
  ) {}

  get state(): TaskState {
    return this.#state;
  }

  get holder(): WorkerHandle | undefined {
    return this.#holder;
  }

  get seq(): number {
    return this.#seq;
  }

  /**
   * Must start the moment its worker receives it, with nothing ahead of it: its clock starts when it is
   * sent. Its worker also reports its outcome at once rather than with others.
   */
  get urgent(): boolean {
    return this.timeout !== undefined;
  }

  /**
   * Goes only to a worker that holds nothing, and first in its message: a task with a clock (`urgent`), and
   * one that moves buffers, which its worker must begin rather than hold where it could not be taken back.
   */
  get alone(): boolean {
    return this.timeout !== undefined || this.transfer !== undefined;
  }

  /** Whether a worker has begun it (it may have finished since). */
  get started(): boolean {
    return this.#holder?.hasStarted(this) ?? false;
  }

  /**
   * Look at its inputs (value-codec.ts) and retain the blocks they carry, so that closing one waits for this
   * task. Called by the engine at its submission.
   * @throws PoolStateError for a block that is closed already: none is retained then.
   */
  scanInputs(options: EncodeOptions): void {
    const found = scan(this.inputs, options);
    if (found === undefined) return;
    const { blocks } = found;
    let retained = 0;
    try {
      for (; retained < blocks.length; retained++) blocks[retained].retain();
    } catch (error) {
      for (let i = 0; i < retained; i++) blocks[i].release();
      throw error;
    }
    this.scanned = found;
  }

  /** Put in the pool's queue. Called by the engine only. */
  enqueue(): void {
    this.#to('queued');
  }

  /** Sent to `worker` as its task number `seq`. Called by the worker's handle only. */
  hold(worker: WorkerHandle, seq: number): void {
    this.#to('held');
    this.#holder = worker;
    this.#seq = seq;
  }

  /** Its holder answered for it, or died, or gave it back. Called by the worker's handle only. */
  release(): void {
    this.#holder = undefined;
    if (this.#state !== 'held') return;
    // Its clock starts again if a worker begins it again.
    this.#to('loose');
    this.#stopClock();
  }

  /** Its outcome is decided: nothing more will reach its call. */
  finish(): void {
    this.#to('done');
    this.#stopClock();
    this.carried?.release();
    this.carried = undefined;
    if (this.scanned !== undefined) {
      for (const block of this.scanned.blocks) block.release();
      this.scanned = undefined;
    }
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
