/**
 * How a pool's face (Pool, ProcessPoolExecutor...) hears from its runner: as events of its own. A listener
 * that throws becomes a process warning and disturbs neither the other listeners nor the pool.
 */
import type { EventEmitter } from 'node:events';
import type { PoolObserver } from '../scheduler/task-runner';
import { reportCallbackError } from './callback-warning';

/** A pool's face, whatever its own events (a cluster's add some): an emitter whose listeners can be read. */
type Emitter = Pick<EventEmitter, 'rawListeners'>;

/** Call every listener of `event` with `args`; one that throws is reported and the others still run. */
export function emitSafely(emitter: Emitter, event: string, ...args: unknown[]): void {
  for (const listener of emitter.rawListeners(event)) {
    try {
      (listener as (...values: unknown[]) => void).apply(emitter, args);
    } catch (error) {
      reportCallbackError(error, `'${event}' listener`);
    }
  }
}

export function observerFor(emitter: Emitter): PoolObserver {
  return {
    // The first children are forked in the constructor: their 'spawn' waits for the listeners added after it.
    spawn: (info) => process.nextTick(() => emitSafely(emitter, 'spawn', info)),
    exit: (info) => emitSafely(emitter, 'exit', info),
    event: (value, info) => emitSafely(emitter, 'event', value, info),
  };
}
