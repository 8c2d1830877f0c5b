/**
 * What every pool and executor is, whatever its API (Pool's or concurrent.futures'): an event emitter of
 * PoolEvents over a runner of its tasks, whose state and counts it shows. `on`, `once` and `off` are
 * declared here, typed, so that the API reference lists them with the pool's own members.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { observerFor } from './calls/observer';
import type { PoolSetup } from './calls/pool-setup';
import type { ChildInfo, PoolEvents, PoolStats } from './events';
import type { PoolObserver } from './scheduler/task-runner';

/**
 * @internal The runner, resolver and default task timeout a face was started with, for the faces' own
 * code (BasePool, BaseExecutor); set by PoolFace's static block, as ES private fields reach no subclass.
 */
// eslint-disable-next-line prefer-const
export let setupOf: (face: PoolFace<any>) => PoolSetup;

/**
 * A listener of any event, as Node's EventEmitter takes one.
 * @inline
 */
type AnyListener = (...args: any[]) => void;

/**
 * @typeParam W - Which worker an event comes from: {@link ChildInfo} (`{ pid }`) for processes.
 * @typeParam E - Its events: {@link PoolEvents}, and those a kind of pool adds of its own (a cluster's hosts).
 */
export abstract class PoolFace<W extends object = ChildInfo, E extends PoolEvents<W> & Record<keyof E, unknown[]> = PoolEvents<W>> extends EventEmitter {
  readonly #setup: PoolSetup;

  static {
    setupOf = (face) => face.#setup;
  }

  /** @internal Made by the pools' own constructors, which start the runner with `start`. */
  constructor(start: (observer: PoolObserver) => PoolSetup) {
    super();
    this.#setup = start(observerFor(this));
  }

  /** True once a crash (policy `'break'`) or a failed initializer has broken it. */
  get broken(): boolean {
    return this.#setup.runner.state === 'broken';
  }

  /** With `stdout: 'pipe'`: every worker's stdout, in whole lines. Null otherwise. */
  get stdout(): Readable | null {
    return this.#setup.runner.output.stdout;
  }

  /** With `stderr: 'pipe'`: every worker's stderr, in whole lines. Null otherwise. */
  get stderr(): Readable | null {
    return this.#setup.runner.output.stderr;
  }

  /** What it is doing now, and has done since it was created, in counts. */
  stats(): PoolStats {
    return this.#setup.runner.stats();
  }

  /**
   * Call `listener` for every `event`: `'spawn'` and `'exit'` of the pool's workers, and `'event'` for every
   * value a task sends with `emit()`. A listener added right after the constructor sees the first
   * `'spawn'` events too; one that throws becomes a process warning.
   */
  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
  // The untyped form keeps the class a valid EventEmitter whatever typing of it @types/node has.
  override on(event: string | symbol, listener: AnyListener): this;
  override on(event: string | symbol, listener: AnyListener): this {
    return super.on(event as never, listener as never);
  }

  /** Like `on`, for the next `event` only. */
  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
  override once(event: string | symbol, listener: AnyListener): this;
  override once(event: string | symbol, listener: AnyListener): this {
    return super.once(event as never, listener as never);
  }

  /** Stop calling `listener` for `event`. */
  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
  override off(event: string | symbol, listener: AnyListener): this;
  override off(event: string | symbol, listener: AnyListener): this {
    return super.off(event as never, listener as never);
  }
}

