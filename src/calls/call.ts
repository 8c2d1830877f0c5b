/**
 * What every submitting call shares: its tasks, its per-task options, and its one listener on the
 * caller's AbortSignal (one per call, however many chunks it has).
 */
import type { WorkerInfo } from '../events';
import type { TaskRunner } from '../scheduler/task-runner';
import { Task, type TaskSink } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { reportCallbackError } from './callback-warning';

/** A call's per-task options, defaults filled in. */
export interface CallSettings {
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  onEvent?: (value: unknown, info: WorkerInfo) => void;
}

let nextCallId = 1;

export abstract class Call implements TaskSink {
  readonly #id = nextCallId++;
  protected readonly engine: TaskRunner;
  readonly #spec: TaskSpec;
  readonly #options: CallSettings;
  /** Whether each input is an argument list (apply, starmap) or a single argument (map, imap). */
  readonly #spread: boolean;
  /**
   * Submitted and not settled. An apply has one task, and making a Set for it costs a tiny call more than
   * the rest of its bookkeeping: the Set is made at a second task.
   */
  #live: Task | Set<Task> | undefined = undefined;
  /** Made only for a call with a signal: most calls have none. */
  readonly #onAbort: (() => void) | undefined;

  constructor(engine: TaskRunner, spec: TaskSpec, options: CallSettings, spread: boolean) {
    this.engine = engine;
    this.#spec = spec;
    this.#options = options;
    this.#spread = spread;
    const { signal } = options;
    if (signal !== undefined) {
      this.#onAbort = () => this.aborted(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  abstract resolveChunk(task: Task, values: ChunkValues): void;
  abstract rejectChunk(task: Task, error: unknown, index?: number, done?: ChunkValues): void;

  /** Whether a chunk runs all its calls even after one fails, to hand out those that succeed. */
  protected get keepsGoing(): boolean {
    return false;
  }

  eventFor(_task: Task, value: unknown, info: WorkerInfo): void {
    const { onEvent } = this.#options;
    if (onEvent === undefined) return;
    try {
      onEvent(value, info);
    } catch (error) {
      reportCallbackError(error, 'onEvent listener');
    }
  }

  resolveTask(task: Task, values: ChunkValues): void {
    this.#forget(task);
    this.resolveChunk(task, values);
  }

  rejectTask(task: Task, error: unknown, index?: number, done?: ChunkValues): void {
    this.#forget(task);
    this.rejectChunk(task, error, index, done);
  }

  /** The tasks submitted and not settled, in the order they were submitted. */
  #liveTasks(): Task[] {
    const live = this.#live;
    return live === undefined ? [] : live instanceof Set ? [...live] : [live];
  }

  #remember(task: Task): void {
    const live = this.#live;
    if (live === undefined) this.#live = task;
    else if (live instanceof Set) live.add(task);
    else this.#live = new Set([live, task]);
  }

  #forget(task: Task): void {
    const live = this.#live;
    if (live === task) this.#live = undefined;
    else if (live instanceof Set) live.delete(task);
  }

  /** Queue one chunk of calls; once the signal is aborted, reject it instead. */
  protected submit(inputs: ChunkValues, index: number): void {
    const { timeout, signal } = this.#options;
    const task = new Task(this.#spec, inputs, this.#spread, this, this.#id, index, timeout, this.keepsGoing);
    if (signal?.aborted) {
      task.finish();
      this.rejectTask(task, signal.reason);
      return;
    }
    this.#remember(task);
    this.engine.submit(task);
  }

  /** The signal was aborted: every task of the call rejects with its reason. */
  protected aborted(reason: unknown): void {
    for (const task of this.#liveTasks()) this.engine.abort(task, reason);
  }

  /** Cancel the tasks no child has begun, wherever they wait; returns them. */
  protected cancelNotStarted(): Task[] {
    const cancelled = this.#liveTasks().filter((task) => this.engine.cancel(task));
    for (const task of cancelled) this.#forget(task);
    return cancelled;
  }

  /** Drop whatever of this call has not started (what has goes on, its outcome ignored), and stop listening. */
  protected end(): void {
    if (this.#onAbort !== undefined) this.#options.signal!.removeEventListener('abort', this.#onAbort);
    if (this.#live === undefined) return;
    const live = this.#liveTasks();
    this.#live = undefined;
    for (const task of live) this.engine.discard(task);
  }
}
