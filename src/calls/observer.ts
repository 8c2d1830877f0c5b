/**
 * How a pool's face (Pool, ProcessPoolExecutor...) hears from its runner: as events of its own. A listener
 * that throws becomes a process warning and disturbs neither the other listeners nor the pool.
 */
import type { PoolEvents } from '../events';
import type { PoolObserver } from '../scheduler/task-runner';
import { reportCallbackError } from './callback-warning';

/** What a pool's face is, as far as telling its listeners goes: an event emitter of any typing of @types/node. */
interface Listened {
  rawListeners(event: string): Function[];
}

export function observerFor(emitter: Listened): PoolObserver {
  // The info is the pool's own kind of worker (W): the emitter's events are typed for it.
  const emit = <E extends keyof PoolEvents<any>>(event: E, ...args: PoolEvents<any>[E]) => {
    for (const listener of emitter.rawListeners(event)) {
      try {
        (listener as (...values: PoolEvents<any>[E]) => void).apply(emitter, args);
      } catch (error) {
        reportCallbackError(error, `'${event}' listener`);
      }
    }
  };
  return {
    // The first children are forked in the constructor: their 'spawn' waits for the listeners added after it.
    spawn: (info) => process.nextTick(() => emit('spawn', info)),
    exit: (info) => emit('exit', info),
    event: (value, info) => emit('event', value, info),
  };
}
