/**
 * What every submitting call shares: its tasks, its per-task options, and its one listener on the
 * caller's AbortSignal (one per call, however many chunks it has).
 */
import type { Engine } from '../scheduler/engine';
import { Task, type TaskSink } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { reportCallbackError } from './callback-warning';

/** A call's per-task options, defaults filled in. */
export interface CallSettings {
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  onEvent?: (value: unknown, info: { pid: number }) => void;
}

let nextCallId = 1;

export abstract class Call implements TaskSink {
  readonly #id = nextCallId++;
  protected readonly engine: Engine;
  readonly #spec: TaskSpec;
  readonly #options: CallSettings;
  /** Whether each input is an argument list (apply, starmap) or a single argument (map, imap). */
  readonly #spread: boolean;
  /** Submitted and not settled. */
  readonly #live = new Set<Task>();
  readonly #onAbort = () => this.aborted(this.#options.signal!.reason);

  constructor(engine: Engine, spec: TaskSpec, options: CallSettings, spread: boolean) {
    this.engine = engine;
    this.#spec = spec;
    this.#options = options;
    this.#spread = spread;
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  abstract resolveChunk(task: Task, values: ChunkValues): void;
  abstract rejectChunk(task: Task, error: unknown, index?: number): void;

  eventFor(_task: Task, value: unknown, info: { pid: number }): void {
    const { onEvent } = this.#options;
    if (onEvent === undefined) return;
    try {
      onEvent(value, info);
    } catch (error) {
      reportCallbackError(error, 'onEvent listener');
    }
  }

  resolveTask(task: Task, values: ChunkValues): void {
    this.#live.delete(task);
    this.resolveChunk(task, values);
  }

  rejectTask(task: Task, error: unknown, index?: number): void {
    this.#live.delete(task);
    this.rejectChunk(task, error, index);
  }

  /** Queue one chunk of calls; once the signal is aborted, reject it instead. */
  protected submit(inputs: ChunkValues, index: number): void {
    const { timeout, signal } = this.#options;
    const task = new Task(this.#spec, inputs, this.#spread, this, this.#id, index, timeout);
    if (signal?.aborted) {
      task.finish();
      this.rejectTask(task, signal.reason);
      return;
    }
    this.#live.add(task);
    this.engine.submit(task);
  }

  /** The signal was aborted: every task of the call rejects with its reason. */
  protected aborted(reason: unknown): void {
    for (const task of [...this.#live]) this.engine.abort(task, reason);
  }

  /** Cancel the tasks no child has begun, wherever they wait; returns them. */
  protected cancelNotStarted(): Task[] {
    const cancelled: Task[] = [];
    for (const task of this.#live) {
      if (this.engine.cancel(task)) cancelled.push(task);
    }
    for (const task of cancelled) this.#live.delete(task);
    return cancelled;
  }

  /** Drop whatever of this call has not started (what has goes on, its outcome ignored), and stop listening. */
  protected end(): void {
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    for (const task of this.#live) this.engine.discard(task);
    this.#live.clear();
  }
}
