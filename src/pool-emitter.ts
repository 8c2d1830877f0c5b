/**
 * The event emitter every pool and executor is: `on`, `once` and `off` typed by PoolEvents, declared here
 * so that the API reference lists them with the pool's own members.
 */
import { EventEmitter } from 'node:events';
import type { ChildInfo, PoolEvents } from './events';

/**
 * @typeParam W - Which worker an event comes from: {@link ChildInfo} (`{ pid }`) for processes.
 * @typeParam E - The events: {@link PoolEvents}, and those a kind of pool adds of its own.
 */
export abstract class PoolEmitter<W extends object = ChildInfo, E extends PoolEvents<W> & Record<keyof E, unknown[]> = PoolEvents<W>> extends EventEmitter {
  /**
   * Call `listener` for every `event`: `'spawn'` and `'exit'` of the pool's workers, and `'event'` for every
   * value a task sends with `emit()`. A listener added right after the constructor sees the first
   * `'spawn'` events too; one that throws becomes a process warning.
   */
  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event as never, listener as never);
  }

  /** Like `on`, for the next `event` only. */
  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event as never, listener as never);
  }

  /** Stop calling `listener` for `event`. */
  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event as never, listener as never);
  }
}
