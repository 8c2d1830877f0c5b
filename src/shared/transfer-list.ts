/**
 * Which values move their buffers rather than copy them. `transfer(value, list)` notes the list against the
 * value here, and whoever sends the value (the pool, sending a task's arguments; a worker, sending a task's
 * result or event) takes the note and hands the list to the channel. The notes live under a global symbol,
 * so that every copy of the package in a thread (the task module's `forkpool/task`, the worker script's own)
 * reads the same ones; a WeakMap, so that a value never sent leaves nothing behind.
 */
import type { Transferable } from 'node:worker_threads';

const TRANSFERS = Symbol.for('forkpool.transfers');

type Notes = WeakMap<object, readonly Transferable[]>;

function notes(): Notes | undefined {
  return (globalThis as { [TRANSFERS]?: Notes })[TRANSFERS];
}

/** Note that sending `value` moves the buffers of `list`. */
export function noteTransfer(value: object, list: readonly Transferable[]): void {
  const global = globalThis as { [TRANSFERS]?: Notes };
  (global[TRANSFERS] ??= new WeakMap()).set(value, list);
}

/** The list noted for `value`, taken (a value moves once); undefined for a value with none. */
export function takeTransfer(value: unknown): readonly Transferable[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const registry = notes();
  const list = registry?.get(value);
  if (list !== undefined) registry!.delete(value);
  return list;
}

/**
 * The lists noted for the items of `values`, joined; undefined where none has one. Costs nothing until some
 * value has been noted in this thread.
 */
export function takeTransfers(values: ArrayLike<unknown>): Transferable[] | undefined {
  if (notes() === undefined) return undefined;
  let joined: Transferable[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const list = takeTransfer(values[i]);
    if (list !== undefined) (joined ??= []).push(...list);
  }
  return joined;
}
