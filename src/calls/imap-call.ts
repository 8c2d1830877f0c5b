/**
 * imap / imapUnordered: results as an async iterator over an input that is read lazily.
 *
 * The input is read only while fewer than `window` chunks are submitted and not yet handed to the
 * consumer, so an endless generator works and a consumer that stops (breaks out of its loop) stops the
 * reading too. An error, from a task or from the input itself, is thrown at its position and ends the
 * iteration, as an async generator's would.
 */
import { Call, type CallSettings } from './call';
import { withCallerStack } from './caller-stack';
import { Wakeup, deadlineIn } from './deadline';
import { CancelledError, PoolStateError, TimeoutError } from '../errors';
import type { OpenInput, TaskRunner } from '../scheduler/task-runner';
import type { Task } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';

export interface ImapOptions extends CallSettings {
  /** Items per task. */
  chunksize: number;
  /** Chunks submitted and not yet consumed, at most: asked before each chunk is read. */
  window: () => number;
  /** Input order (imap) or completion order (imapUnordered). */
  ordered: boolean;
  /** Every result must have arrived within this many ms of the call (ProcessPoolExecutor.map). */
  resultsTimeout?: number;
  /**
   * When the pool is closed with the input partly read: read the rest and run it (Pool, where close()
   * lets submitted work finish), or stop reading, so that the consumer meets a PoolStateError where the
   * unread input starts (ProcessPoolExecutor, whose map submits lazily, as Python 3.14's does).
   */
  onPoolClose: 'read-all' | 'stop';
}

/** A chunk's outcome: its values, or its error and the values of its calls that succeeded (`done`). */
type Outcome = { values: ChunkValues } | { error: unknown; done?: ChunkValues };

export class ImapIterator<R> extends Call implements AsyncIterableIterator<R>, OpenInput {
  readonly #ordered: boolean;
  readonly #chunksize: number;
  #window: () => number;
  readonly #onPoolClose: ImapOptions['onPoolClose'];
  /** Set when reading stopped before the input's end: what the consumer meets where the unread part starts. */
  #stopped: { error: unknown } | undefined;
  /** The results' `timeout` (ms from the call), and the moment (Date.now()) it runs out; Infinity without one. */
  readonly #timeout: number | undefined;
  readonly #deadline: number;
  /** Finished chunks not yet handed out: by chunk index (ordered) or in completion order. */
  readonly #finished = new Map<number, Outcome>();
  #submitted = 0;
  #consumed = 0;
  /** Values of the chunk being handed out, and the next one's position. */
  #current: ChunkValues = [];
  #position = 0;
  /** The error of the chunk being handed out, thrown once its values that succeeded are out. */
  #currentError: { error: unknown } | undefined;
  #inputDone = false;
  #inputError: { error: unknown } | undefined;
  #closed = false;
  /** Wakes the consumer when a chunk finishes, the feeder when the window opens. */
  readonly #consumerWake = new Wakeup();
  readonly #feederWake = new Wakeup();
  /** next() calls run one after another even when the caller does not await them in turn. */
  #previous: Promise<unknown> = Promise.resolve();

  constructor(
    engine: TaskRunner,
    spec: TaskSpec,
    input: Iterable<unknown> | AsyncIterable<unknown>,
    { chunksize, window, ordered, resultsTimeout, onPoolClose, ...options }: ImapOptions,
  ) {
    super(engine, spec, options, false);
    this.#onPoolClose = onPoolClose;
    this.#timeout = resultsTimeout;
    this.#deadline = deadlineIn(resultsTimeout);
    this.#ordered = ordered;
    this.#chunksize = chunksize;
    this.#window = window;
    if (options.signal?.aborted) {
      this.#inputError = { error: options.signal.reason };
      this.#inputDone = true;
      return;
    }
    engine.openInput(this);
    void this.#feed(input);
  }

  /** True once the iteration is over: exhausted, thrown, or left. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal The engine closed. */
  poolClosed(): void {
    if (this.#onPoolClose === 'read-all') {
      this.#window = () => Infinity;
      this.#feederWake.wake();
    } else {
      this.#stopReading(new PoolStateError('The pool was shut down before this input was read, so it never ran.'));
    }
  }

  /** Cancel the chunks no child has begun, each failing with CancelledError at its place, and read no more. */
  override cancelNotStarted(): Task[] {
    const cancelled = () => new CancelledError('The call was cancelled before a child began it.');
    const tasks = super.cancelNotStarted();
    for (const task of tasks) this.#finish(task, { error: cancelled() });
    this.#stopReading(cancelled());
    return tasks;
  }

  protected override aborted(reason: unknown): void {
    super.aborted(reason);
    this.#stopReading(reason);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    const result = this.#previous.then(() => this.#next());
    this.#previous = result.catch(() => undefined);
    return withCallerStack(result);
  }

  /** Stop: read no more input, drop the chunks that have not started. */
  async return(): Promise<IteratorResult<R>> {
    this.#close();
    return { done: true, value: undefined };
  }

  resolveChunk(task: Task, values: ChunkValues): void {
    this.#finish(task, { values });
  }

  rejectChunk(task: Task, error: unknown, _index?: number, done?: ChunkValues): void {
    this.#finish(task, { error, done });
  }

  /** Unordered, a chunk runs all its calls, to hand out those that succeed before its error. */
  protected override get keepsGoing(): boolean {
    return !this.#ordered;
  }

  #finish(task: Task, outcome: Outcome): void {
    // Unordered results are keyed by arrival, so the consumer takes them in that order.
    this.#finished.set(this.#ordered ? task.index : this.#finished.size + this.#consumed, outcome);
    this.#consumerWake.wake();
  }

  async #next(): Promise<IteratorResult<R>> {
    while (this.#position >= this.#current.length) {
      if (this.#closed) return { done: true, value: undefined };
      if (this.#currentError !== undefined) return this.#fail(this.#currentError.error);
      const outcome = this.#finished.get(this.#consumed);
      if (outcome !== undefined) {
        this.#finished.delete(this.#consumed);
        this.#consumed++;
        this.#feederWake.wake();
        if ('error' in outcome) {
          // Ordered: the calls before the failing one; unordered: every call of the chunk that succeeded.
          this.#current = outcome.done ?? [];
          this.#currentError = { error: outcome.error };
        } else {
          this.#current = outcome.values;
        }
        this.#position = 0;
      } else if (this.#inputDone && this.#consumed === this.#submitted) {
        if (this.#inputError !== undefined) return this.#fail(this.#inputError.error);
        this.#close();
        return { done: true, value: undefined };
      } else {
        if (!(await this.#consumerWake.wait(this.#deadline))) {
          return this.#fail(new TimeoutError(`The results were not all ready within ${this.#timeout} ms of the call.`, this.#timeout!));
        }
      }
    }
    return { done: false, value: this.#current[this.#position++] as R };
  }

  #stopReading(error: unknown): void {
    this.#stopped ??= { error };
    this.#feederWake.wake();
  }

  #fail(error: unknown): never {
    this.#close();
    throw error;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current = [];
    this.end();
    this.#feederWake.wake();
    this.#consumerWake.wake();
  }

  async #feed(input: Iterable<unknown> | AsyncIterable<unknown>): Promise<void> {
    let iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
    try {
      iterator =
        Symbol.asyncIterator in input
          ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]()
          : (input as Iterable<unknown>)[Symbol.iterator]();
      while (!this.#closed && this.#stopped === undefined) {
        if (this.#submitted - this.#consumed >= this.#window()) {
          await this.#feederWake.wait();
          continue;
        }
        const items: unknown[] = [];
        while (items.length < this.#chunksize) {
          const step = await iterator.next();
          if (step.done) {
            this.#inputDone = true;
            break;
          }
          items.push(step.value);
        }
        if (this.#closed || this.#stopped !== undefined) break;
        if (items.length > 0) this.submit(items, this.#submitted++);
        if (this.#inputDone) break;
      }
    } catch (error) {
      this.#inputError = { error };
    } finally {
      // Stopped early: let a generator run its finally blocks.
      if (!this.#inputDone) await Promise.resolve(iterator?.return?.()).catch(() => undefined);
      this.#inputError ??= this.#stopped;
      this.#inputDone = true;
      this.engine.closeInput(this);
      this.#consumerWake.wake();
    }
  }
}
