/**
 * forkpool: Python's process pools for Node.js. {@link Pool} is `multiprocessing.Pool`;
 * {@link ProcessPoolExecutor}, {@link Future}, {@link asCompleted} and {@link wait} are `concurrent.futures`.
 * Tasks run in child processes started with `child_process.fork`, which pull their work from the parent
 * over IPC. A task reports progress to its caller with `emit` from `forkpool/task`. {@link SharedMemory} is
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
export { Future } from './future';
export { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, asCompleted, wait } from './futures';
export type { AsCompletedIterator, FutureIterator, ReturnWhen, SpentFutureIterator } from './futures';
export { SharedMemory } from './shared/shared-memory';
export { BrokenPoolError, CancelledError, PoolError, PoolStateError, TimeoutError } from './errors';
export type { ChildExit } from './errors';
export type { ChildExitInfo, ChildInfo, ExitReason, PoolEvents, PoolStats, WorkerExitInfo } from './events';
export type {
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
