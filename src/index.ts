/**
 * forkpool: Python's process pools for Node.js. {@link Pool} is `multiprocessing.Pool`;
 * {@link ProcessPoolExecutor}, {@link Future}, {@link asCompleted} and {@link wait} are `concurrent.futures`.
 * Tasks run in child processes started with `child_process.fork`, which pull their work from the parent
 * over IPC. {@link ThreadPool} and {@link ThreadPoolExecutor} are the same over worker threads, as Python's
 * `multiprocessing.pool.ThreadPool` and `ThreadPoolExecutor` are: switching is one word. A task reports progress to its caller with `emit` from `forkpool/task`. {@link SharedMemory} is
 * `multiprocessing.shared_memory.SharedMemory`: memory that processes share without copying.
 *
 * @module forkpool
 */
export { BasePool } from './base-pool';
export { Pool } from './pool';
export { AsyncResult } from './async-result';
export { BaseExecutor } from './base-executor';
export type { ExecutorMapOptions, ShutdownOptions } from './base-executor';
export { ProcessPoolExecutor } from './executor';
export type { ExecutorOptions } from './executor';
export { ThreadPool } from './thread-pool';
export { ThreadPoolExecutor } from './thread-executor';
export type { ThreadExecutorOptions } from './thread-executor';
export type { ThreadPoolOptions } from './thread-options';
export { transfer } from './transfer';
export { Future } from './future';
export { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, asCompleted, wait } from './futures';
export type { AsCompletedIterator, FutureIterator, ReturnWhen, SpentFutureIterator } from './futures';
export { SharedMemory } from './shared/shared-memory';
export { BrokenPoolError, CancelledError, PoolError, PoolStateError, TimeoutError } from './errors';
export type { ChildExit } from './errors';
export type { ChildExitInfo, ChildInfo, ExitReason, PoolEvents, PoolStats, ThreadExitInfo, ThreadInfo, WorkerExitInfo } from './events';
export type {
  ApplyOptions,
  CallOptions,
  CallbackOptions,
  ChunkOptions,
  CrashPolicy,
  OutputMode,
  PoolOptions,
  Serialization,
  TaskOptions,
} from './options';
export type { AnyFunction, FunctionName, ModuleTaskRef, TaskArgs, TaskRef, TaskResult } from './task-ref';
