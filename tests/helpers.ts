/**
 * Shared by the tests: fixture paths, checks that no child outlives its pool, pools that are terminated after
 * each test, scratch directories, inputs that never end or that throw, and catching what a call throws.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool, type PoolOptions } from '../src';

export const FIXTURES = path.join(__dirname, 'fixtures');

/** Absolute path of a file in tests/fixtures. */
export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Whether a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child stays a zombie until reaped; kill(pid, 0) still succeeds on one.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll until `condition` holds, or fail after `timeout` ms. */
export async function waitFor(condition: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An endless input, 0, 1, 2, ..., that counts the items read from it and notes when it is closed. */
export interface EndlessInput {
  readonly items: Generator<number>;
  produced: number;
  closed: boolean;
}

export function endlessNaturals(): EndlessInput {
  const state = { produced: 0, closed: false };
  function* naturals(): Generator<number> {
    try {
      for (let i = 0; ; i++) {
        state.produced++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return Object.assign(state, { items: naturals() });
}

/** An input that yields `values`, then throws `error` (async: an async generator). */
export function* throwingAfter<T>(values: T[], error: Error): Generator<T> {
  yield* values;
  throw error;
}

export async function* throwingAfterAsync<T>(values: T[], error: Error): AsyncGenerator<T> {
  yield* values;
  throw error;
}

/** The rejection reason of a promise that must reject. */
export async function rejectionOf<E = unknown>(promise: PromiseLike<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

/** The error thrown by a function that must throw synchronously. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('Expected the function to throw, but it returned');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Keeps the pools it is given (and returns each), and terminates and joins them all after each test, so that
 * a failing test leaves no workers behind.
 */
export function terminatedAfterEach(): <P extends { terminate(): void; join(): Promise<void> }>(pool: P) => P {
  const pools: Array<{ terminate(): void; join(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(
      pools.splice(0).map(async (pool) => {
        pool.terminate();
        await pool.join();
      }),
    );
  });
  return (pool) => {
    pools.push(pool);
    return pool;
  };
}

/**
 * A factory for pools made with `defaults` under each call's options, every one terminated and joined after
 * each test. (An initializer is named against the module type of each pool, so it is not among the defaults.)
 */
export function usePools(defaults: Omit<PoolOptions, 'initializer'> = {}): <M = any>(options?: PoolOptions<M>) => Pool<M> {
  const keep = terminatedAfterEach();
  return <M = any>(options: PoolOptions<M> = {}): Pool<M> => keep(new Pool<M>({ ...defaults, ...options }));
}

/**
 * A fresh temporary directory named with `prefix`, made for each test (`per: 'test'`) or once for the file
 * (`per: 'file'`) and removed with its contents afterwards. Returns the current directory's path.
 */
export function useScratchDir(prefix: string, per: 'test' | 'file' = 'test'): () => string {
  let dir: string | undefined;
  const [setUp, tearDown] = per === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  setUp(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  tearDown(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error(`No scratch directory ${prefix}* outside a test`);
    return dir;
  };
}

/** A process warning as the code under test emitted it. */
export interface EmittedWarning {
  name: string;
  message: string;
}

/**
 * The process warnings each test emits, read where they are emitted: jest's sandboxed process does not
 * deliver 'warning' events to listeners in the test. Returns the current test's list.
 */
export function useWarnings(): () => EmittedWarning[] {
  let warnings: EmittedWarning[] = [];
  let emitWarning: jest.SpyInstance | undefined;
  beforeEach(() => {
    warnings = [];
    emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string, options?: { type?: string }) => {
      warnings.push({ name: options?.type ?? 'Warning', message });
    }) as typeof process.emitWarning);
  });
  afterEach(() => emitWarning?.mockRestore());
  return () => warnings;
}
