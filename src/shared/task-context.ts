/**
 * How `emit()` (src/task-events.ts, the package's `forkpool/task`) reaches the child it runs in: the child
 * script puts an object under a global symbol, which a task module finds however it was loaded (CommonJS or
 * ESM, whichever copy of the package it imported).
 */

export const TASK_CONTEXT = Symbol.for('forkpool.task-context');

export interface TaskContext {
  /** Send `value` to the parent, for the task running now. @throws outside a running task, or for an unsendable value. */
  emit(value: unknown): void;
  /**
   * A task module imported `forkpool/task`: from now on the child tells each task's asynchronous work apart,
   * so that an event sent after its task has ended is refused rather than given to the next task.
   */
  trackTasks(): void;
}

export function taskContext(): TaskContext | undefined {
  return (globalThis as { [TASK_CONTEXT]?: TaskContext })[TASK_CONTEXT];
}
