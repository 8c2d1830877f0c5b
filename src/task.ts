/**
 * `forkpool/task`: what a task imports to talk to its pool while it runs (CommonJS:
 * `require('forkpool/task')`): {@link emit} sends events to the caller, and {@link transfer} moves a result's
 * buffers back from a worker thread rather than copy them.
 *
 * ```ts
 * // resize.ts, a task module
 * import { emit } from 'forkpool/task';
 *
 * export async function resize(file: string): Promise<string> {
 *   for (let step = 1; step <= 10; step++) {
 *     await new Promise((resolve) => setTimeout(resolve, 10)); // a tenth of the work
 *     emit({ file, done: step / 10 }); // to the call's onEvent and the pool's 'event' listeners
 *   }
 *   return `${file}.small`;
 * }
 * ```
 *
 * @module forkpool/task
 */
import { PoolStateError } from './errors';
import { taskContext } from './shared/task-context';

export { transfer } from './transfer';

// Loaded by a task module in a child: tell that child to keep each task's asynchronous work apart.
taskContext()?.trackTasks();

/**
 * Send `value` to the pool, attributed to the call whose task is running: the call's `onEvent` and the
 * pool's `'event'` listeners receive it, in the order the task sent its events, before the task's result.
 * @throws TypeError if `value` cannot be sent (a function, a symbol, ...).
 * @throws PoolStateError outside a running task (in the parent, or after the task has ended).
 */
export function emit(value: unknown): void {
  const context = taskContext();
  if (context === undefined) {
    throw new PoolStateError('emit() sends an event from a task to its pool, and this is not a task of a pool: call it inside a task function.');
  }
  context.emit(value);
}
