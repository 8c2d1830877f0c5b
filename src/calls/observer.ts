/**
 * How a pool's face (Pool, ProcessPoolExecutor...) hears from its runner: as events of its own. A listener
 * that throws becomes a process warning and disturbs neither the other listeners nor the pool.
 */
import type { PoolObserver } from '../scheduler/task-runner';
import { reportCallbackError } from './callback-warning';

/** What a pool's face is, as far as telling its listeners goes: an event emitter of any typing of @types/node. */
interface Listened {
  rawListeners(event: string): Function[];
}

/**
 * Call every listener of `event` with `args`: the one way a face tells its listeners, its own events (a
 * cluster's hosts coming and going) as well as its runner's. One that throws is reported; the others still run.
 */
export function emitSafely(emitter: Listened, event: string, ...args: unknown[]): void {
  for (const listener of emitter.rawListeners(event)) {
    try {
      (listener as (...values: unknown[]) => void).apply(emitter, args);
    } catch (error) {
      reportCallbackError(error, `'${event}' listener`);
    }
  }
}

export function observerFor(emitter: Listened): PoolObserver {
  return {
    // The first children are forked in the constructor: their 'spawn' waits for the listeners added after it.
    spawn: (info) => process.nextTick(() => emitSafely(emitter, 'spawn', info)),
    exit: (info) => emitSafely(emitter, 'exit', info),
    event: (value, info) => emitSafely(emitter, 'event', value, info),
  };
}
