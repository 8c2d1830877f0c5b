/**
 * apply / applyAsync: one task in a child, the AsyncResult handle, and the ways a task is named.
 */
import path from 'node:path';
import { AsyncResult, PoolStateError, TimeoutError } from '../src';
import { FIXTURES, fixture } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('tasks.js');

describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  describe('apply', () => {
    test('resolves with the result of the task run in a child process', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.apply('square', [7])).resolves.toBe(49);
      const childPid = await pool.apply('pid');
      expect(childPid).not.toBe(process.pid);
      expect(idsOf(pool)).toContain(childPid);
    });

    test('awaits an async task in the child and resolves with its value', async () => {
      const pool = makePool({ module: TASKS });
      // `slow` returns a promise; an unawaited promise could not cross the channel at all.
      await expect(pool.apply('slow', [20])).resolves.toBe(20);
    });

    test('rejects with the error the task threw', async () => {
      const pool = makePool({ module: TASKS });
      const error = await pool.apply('fail', ['no good']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toMatchObject({ message: 'no good', code: 'E_FAIL' });
    });

    test('args may be omitted for a task without arguments', async () => {
      const pool = makePool();
      await expect(pool.apply(() => 'no arguments')).resolves.toBe('no arguments');
    });
  });

  describe('naming the task', () => {
    test('a string names an export of the pool module', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.apply('square', [3])).resolves.toBe(9);
    });

    test('{ module, name } names an export of any module', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.apply({ module: fixture('cjs-tasks.cjs'), name: 'twice' }, [21])).resolves.toBe(42);
    });

    test('{ module } without a name is the default export', async () => {
      const pool = makePool();
      await expect(pool.apply({ module: fixture('esm-tasks.mjs') }, ['ann'])).resolves.toBe('hello ann from esm');
      await expect(pool.apply({ module: fixture('default-export.js') }, ['hey'])).resolves.toBe('HEY!');
    });

    test('a string task without a pool module is refused up front', async () => {
      const pool = makePool();
      await expect(pool.apply('square', [2])).rejects.toThrow(/module/);
    });

    describe('relative module paths', () => {
      const original = process.cwd();
      afterEach(() => process.chdir(original));

      test('resolve against process.cwd() when the pool is created, not later and not the cwd option', async () => {
        process.chdir(FIXTURES);
        // The children start elsewhere: a path resolved against their cwd would not be found.
        // (Threads have no cwd of their own: a ThreadPool refuses the option.)
        const pool = makePool({ module: './tasks.js', ...(kind === 'process' ? { cwd: path.parse(FIXTURES).root } : {}) });
        process.chdir(original);
        await expect(pool.apply('square', [5])).resolves.toBe(25);
        // { module } refs given later resolve against the same directory.
        await expect(pool.apply({ module: './cjs-tasks.cjs', name: 'twice' }, [4])).resolves.toBe(8);
      });
    });
  });

  describe('applyAsync', () => {
    test('returns an AsyncResult whose get() resolves with the result', async () => {
      const pool = makePool({ module: TASKS });
      const result = pool.applyAsync('square', [6]);
      expect(result).toBeInstanceOf(AsyncResult);
      await expect(result.get()).resolves.toBe(36);
      // get() can be asked again and gives the same answer.
      await expect(result.get()).resolves.toBe(36);
    });

    test('get() rejects with the task error', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.applyAsync('fail', ['bad']).get()).rejects.toThrow(RangeError);
    });

    test('get(timeout) rejects with TimeoutError while the task goes on and later resolves', async () => {
      const pool = makePool({ module: TASKS });
      const result = pool.applyAsync('slow', [600]);
      const error = await result.get(10).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(result.ready()).toBe(false);
      // The task was not cancelled by the timed-out wait.
      await expect(result.get()).resolves.toBe(600);
      expect(result.ready()).toBe(true);
    });

    test('wait(timeout) resolves without a result when time runs out, wait() when the task is done', async () => {
      const pool = makePool({ module: TASKS });
      const result = pool.applyAsync('slow', [500]);
      await expect(result.wait(10)).resolves.toBeUndefined();
      expect(result.ready()).toBe(false);
      await expect(result.wait()).resolves.toBeUndefined();
      expect(result.ready()).toBe(true);
    });

    test('wait() resolves, never rejects, for a failed task', async () => {
      const pool = makePool({ module: TASKS });
      const result = pool.applyAsync('fail', ['bad']);
      await expect(result.wait()).resolves.toBeUndefined();
      expect(result.ready()).toBe(true);
      expect(result.successful()).toBe(false);
    });

    test('successful() throws PoolStateError before the result is ready, then tells success', async () => {
      const pool = makePool({ module: TASKS });
      const result = pool.applyAsync('slow', [50]);
      expect(result.ready()).toBe(false);
      expect(() => result.successful()).toThrow(PoolStateError);
      await result.wait();
      expect(result.successful()).toBe(true);
    });

    test('callback is called once with the result, before get() settles', async () => {
      const pool = makePool({ module: TASKS });
      const events: string[] = [];
      const callback = jest.fn((value: number) => events.push(`callback ${value}`));
      const errorCallback = jest.fn();
      const result = pool.applyAsync('square', [4], { callback, errorCallback });
      await result.get().then((value) => events.push(`get ${value}`));
      expect(events).toEqual(['callback 16', 'get 16']);
      await result.get();
      expect(callback).toHaveBeenCalledTimes(1);
      expect(errorCallback).not.toHaveBeenCalled();
    });

    test('errorCallback is called once with the error, before get() settles', async () => {
      const pool = makePool({ module: TASKS });
      const events: string[] = [];
      const callback = jest.fn();
      const errorCallback = jest.fn((error: unknown) => events.push(`errorCallback ${(error as Error).message}`));
      const result = pool.applyAsync('fail', ['oops'], { callback, errorCallback });
      await result.get().catch((error: Error) => events.push(`get ${error.message}`));
      expect(events).toEqual(['errorCallback oops', 'get oops']);
      await result.wait();
      expect(errorCallback).toHaveBeenCalledTimes(1);
      expect(errorCallback.mock.calls[0][0]).toBeInstanceOf(RangeError);
      expect(callback).not.toHaveBeenCalled();
    });

    test('an AsyncResult can be awaited and chained like a promise', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.applyAsync('square', [9])).resolves.toBe(81);
      expect(await pool.applyAsync('square', [2])).toBe(4);
      await expect(pool.applyAsync('square', [3]).then((value) => value + 1)).resolves.toBe(10);
      // Promise.resolve unwraps a thenable to its result.
      await expect(Promise.resolve(pool.applyAsync('square', [5]))).resolves.toBe(25);
      await expect(pool.applyAsync('fail', ['awaited'])).rejects.toThrow('awaited');
    });
  });
});
