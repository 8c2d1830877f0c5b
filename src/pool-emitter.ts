/**
 * The event emitter every pool and executor is: `on`, `once` and `off` typed by PoolEvents, declared here
 * so that the API reference lists them with the pool's own members.
 */
import { EventEmitter } from 'node:events';
import type { ChildInfo, PoolEvents } from './events';

/**
 * A listener of any event, as Node's EventEmitter takes one.
 * @inline
 */
type AnyListener = (...args: any[]) => void;

/**
 * @typeParam W - Which worker an event comes from: {@link ChildInfo} (`{ pid }`) for processes.
 */
export abstract class PoolEmitter<W extends object = ChildInfo> extends EventEmitter<PoolEvents<W>> {
  /**
   * Call `listener` for every `event`: `'spawn'` and `'exit'` of the pool's workers, and `'event'` for every
   * value a task sends with `emit()`. A listener added right after the constructor sees the first
   * `'spawn'` events too; one that throws becomes a process warning.
   */
  override on<E extends keyof PoolEvents<W>>(event: E, listener: (...args: PoolEvents<W>[E]) => void): this;
  // The untyped form keeps the class a valid EventEmitter whatever typing of it @types/node has.
  override on(event: string | symbol, listener: AnyListener): this;
  override on(event: string | symbol, listener: AnyListener): this {
    return super.on(event as never, listener as never);
  }

  /** Like `on`, for the next `event` only. */
  override once<E extends keyof PoolEvents<W>>(event: E, listener: (...args: PoolEvents<W>[E]) => void): this;
  override once(event: string | symbol, listener: AnyListener): this;
  override once(event: string | symbol, listener: AnyListener): this {
    return super.once(event as never, listener as never);
  }

  /** Stop calling `listener` for `event`. */
  override off<E extends keyof PoolEvents<W>>(event: E, listener: (...args: PoolEvents<W>[E]) => void): this;
  override off(event: string | symbol, listener: AnyListener): this;
  override off(event: string | symbol, listener: AnyListener): this {
    return super.off(event as never, listener as never);
  }
}
