/**
 * The behavioural tests run for both kinds of worker: `describe.each(KINDS)` runs a file's tests once over
 * child processes (Pool, ProcessPoolExecutor) and once over worker threads (ThreadPool, ThreadPoolExecutor),
 * as API.md promises that a program written for one runs on the other. The fixtures name the worker that ran
 * a task with worker-id.js: its pid in a child, its threadId in a thread.
 */
import { BaseExecutor, BasePool, Pool, ProcessPoolExecutor, ThreadPool, ThreadPoolExecutor, type ExecutorOptions, type PoolOptions } from '../src';
import { liveThreads } from '../src/transports/thread/thread-transport';
import { isAlive, terminatedAfterEach } from './helpers';

export type Kind = 'process' | 'thread';

/** For `describe.each`: each kind with the name of its pool class, which titles the tests. */
export const KINDS: Array<[string, Kind]> = [
  ['Pool', 'process'],
  ['ThreadPool', 'thread'],
];

/** Either kind of pool, as the tests use it (its generic options are Pool's). */
export type AnyPool<M = any> = BasePool<M, any>;
export type AnyExecutor<M = any> = BaseExecutor<M, any>;

/** A pool of this kind. */
export function poolOf<M = any>(kind: Kind, options: PoolOptions<M> = {}): AnyPool<M> {
  return kind === 'process' ? new Pool<M>(options) : new ThreadPool<M>(options as ConstructorParameters<typeof ThreadPool<M>>[0]);
}

/** An executor of this kind. */
export function executorOf<M = any>(kind: Kind, options: ExecutorOptions<M> = {}): AnyExecutor<M> {
  return kind === 'process'
    ? new ProcessPoolExecutor<M>(options)
    : new ThreadPoolExecutor<M>(options as ConstructorParameters<typeof ThreadPoolExecutor<M>>[0]);
}

/** The ids of the pool's live workers: pids or threadIds. */
export function idsOf(pool: AnyPool): number[] {
  return pool instanceof ThreadPool ? pool.threadIds : (pool as Pool).pids;
}

/** The worker an event, an exit or an error names: its pid or its threadId. */
export function idOf(info: { pid?: number; threadId?: number } | object): number {
  const { pid, threadId } = info as { pid?: number; threadId?: number };
  return (pid ?? threadId)!;
}

/** Whether the worker with this id still runs: a process as the system sees it, a thread until its 'exit'. */
export function workerAlive(kind: Kind, id: number, _pool?: AnyPool): boolean {
  return kind === 'process' ? isAlive(id) : liveThreads().includes(id);
}

/**
 * A factory for pools of `kind` made with `defaults` under each call's options, every one terminated and
 * joined after each test (see usePools in helpers.ts).
 */
export function usePoolsOf(kind: Kind, defaults: Omit<PoolOptions, 'initializer'> = {}): <M = any>(options?: PoolOptions<M>) => AnyPool<M> {
  const keep = terminatedAfterEach();
  return <M = any>(options: PoolOptions<M> = {}): AnyPool<M> => keep(poolOf<M>(kind, { ...defaults, ...options }));
}

/**
 * `test` where the kind is `only`, and nothing for the other kind: a test of signals or of the 'json'
 * serialization has no meaning for a thread, and a skipped test would read as one left undone.
 */
export function testFor(kind: Kind, only: Kind): typeof test {
  return kind === only ? test : ((() => undefined) as unknown as typeof test);
}

/** `describe` where the kind is `only`, and nothing for the other kind (see testFor). */
export function describeFor(kind: Kind, only: Kind): typeof describe {
  return kind === only ? describe : ((() => undefined) as unknown as typeof describe);
}
