/**
 * `transfer()`: move buffers to a worker thread, or back from one, rather than copy them.
 */
import type { Transferable } from 'node:worker_threads';
import { invalidArgument } from './errors';
import { noteTransfer } from './shared/transfer-list';
import { describe } from './task-ref';

/**
 * Mark `value` to move the buffers of `list` (ArrayBuffers, MessagePorts) when it is sent to or from a worker
 * thread, instead of copying them: afterwards they are detached (empty) where they were. Returns `value`.
 *
 * - In a task, `return transfer(result, [result.buffer])` moves the result back to the caller, and
 *   `emit(transfer(event, [...]))` an event.
 * - In the caller, an argument so marked moves to the task: `executor.submit('sum', transfer(floats,
 *   [floats.buffer]))` (`submit` has no options; `apply` and `applyAsync` also take the list as their
 *   `transfer` option).
 *
 * Between processes ({@link Pool}, {@link ProcessPoolExecutor}) nothing can move: the value is copied as
 * usual, and code written for threads runs unchanged. A `SharedArrayBuffer` needs no transfer: it is shared
 * (one in `list` is left out of it).
 *
 * @example
 * ```ts
 * // tasks.ts, a task module run by a ThreadPool
 * import { transfer } from 'forkpool/task';
 *
 * export function noise(length: number): Float64Array {
 *   const samples = new Float64Array(length).map(() => Math.random());
 *   return transfer(samples, [samples.buffer]); // moved to the caller, not copied
 * }
 * ```
 * @throws TypeError if `value` is not an object or `list` is not an array.
 */
export function transfer<T>(value: T, list: ReadonlyArray<Transferable | SharedArrayBuffer>): T {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw invalidArgument(`transfer() moves the buffers inside a value, which must be an object, got ${describe(value)}.`);
  }
  if (!Array.isArray(list)) {
    throw invalidArgument(`Expected the transfer list to be an array of ArrayBuffers and MessagePorts, got ${describe(list)}.`);
  }
  // A SharedArrayBuffer is shared, never moved: a transfer list may not name one.
  noteTransfer(value as object, list.filter((item): item is Transferable => !(item instanceof SharedArrayBuffer)));
  return value;
}
