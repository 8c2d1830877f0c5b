/**
 * CPython's own tests of `multiprocessing.Pool` (Lib/test/_test_multiprocessing.py: TestInitializers,
 * _TestPool, _TestPoolWorkerErrors), translated test by test; each title names the test it translates.
 * Seconds become milliseconds, scaled down where the original waits for seconds; Python's exceptions
 * become the error classes of tests/fixtures/python-tasks.js, registered with `errorClasses`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Pool, PoolStateError, TimeoutError } from '../src';
import { fixture, rejectionOf, sleep, thrownBy, usePools, useScratchDir } from './helpers';

const TASKS = fixture('python-tasks.js');
type Tasks = typeof import('./fixtures/python-tasks');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ZeroDivisionError } = require(TASKS) as Tasks;

const makePool = usePools({ processes: 4, module: TASKS, errorClasses: [ZeroDivisionError] });
const pool = () => makePool<Tasks>();
const scratch = useScratchDir('forkpool-python-');

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sqr = (x: number) => x * x;

/** Python's `exception_throwing_generator(total, when)`: yields 0, 1, ... and throws at `when` (-1: at once). */
class SayWhenError extends RangeError {
  override name = 'SayWhenError';
}
function* exceptionThrowingGenerator(total: number, when: number): Generator<number> {
  if (when === -1) throw new SayWhenError('Somebody said when');
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError('Somebody said when');
    yield i;
  }
}

/** The next value of an async iterator, which must not be done. */
async function next<T>(iterator: AsyncIterator<T>): Promise<T> {
  const step = await iterator.next();
  if (step.done) throw new Error('The iterator ended early');
  return step.value;
}

describe('TestInitializers', () => {
  test('test_pool_initializer: close() and join() right after the pool is made run the initializer in every child', async () => {
    expect(thrownBy(() => new Pool({ initializer: 1 as never }))).toBeInstanceOf(TypeError);
    const log = path.join(scratch(), 'initialized');
    const p = makePool({ processes: 1, initializer: 'countInit', initargs: [log] });
    p.close();
    await p.join();
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  test('test_pool_initializer: an async initializer still loading when close() comes runs to its end in each child', async () => {
    const log = path.join(scratch(), 'initialized');
    const p = makePool({ processes: 2, initializer: 'countInit', initargs: [log, 200] });
    p.close();
    await p.join();
    const pids = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(new Set(pids).size).toBe(2);
  });
});

describe('_TestPool', () => {
  test('test_apply', async () => {
    await expect(pool().apply('sqr', [5])).resolves.toBe(25);
  });

  test('test_map', async () => {
    const p = pool();
    expect(await p.map('sqr', range(10))).toEqual(range(10).map(sqr));
    expect(await p.map('sqr', range(100), { chunksize: 20 })).toEqual(range(100).map(sqr));
  });

  test('test_starmap', async () => {
    const p = pool();
    const tuples = range(10).map((i) => [i, 9 - i] as [number, number]);
    expect(await p.starmap('mul', tuples)).toEqual(tuples.map(([x, y]) => x * y));
    const more = range(100).map((i) => [i, 99 - i] as [number, number]);
    expect(await p.starmap('mul', more, { chunksize: 20 })).toEqual(more.map(([x, y]) => x * y));
  });

  test('test_starmap_async', async () => {
    const tuples = range(100).map((i) => [i, 99 - i] as [number, number]);
    expect(await pool().starmapAsync('mul', tuples).get()).toEqual(tuples.map(([x, y]) => x * y));
  });

  test('test_map_async', async () => {
    expect(await pool().mapAsync('sqr', range(10)).get()).toEqual(range(10).map(sqr));
  });

  test('test_map_async_callbacks', async () => {
    const p = pool();
    const calls: unknown[] = [];
    const record = (value: unknown) => void calls.push(value);
    await p.mapAsync('int', ['1'], { callback: record, errorCallback: record }).wait();
    expect(calls).toEqual([[1]]);
    await p.mapAsync('int', ['a'], { callback: record, errorCallback: record }).wait();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toBeInstanceOf(RangeError);
  });

  test('test_map_chunksize: an empty list with chunksize 1 does not stall', async () => {
    await expect(pool().mapAsync('sqr', [], { chunksize: 1 }).get(1000)).resolves.toEqual([]);
  });

  test('test_map_handle_iterable_exception', async () => {
    const p = pool();
    // Seen at the very first item, twice (the pool is reentrant), then later in the input.
    await expect(p.map('sqr', exceptionThrowingGenerator(1, -1), { chunksize: 1 })).rejects.toThrow(SayWhenError);
    await expect(p.map('sqr', exceptionThrowingGenerator(1, -1), { chunksize: 1 })).rejects.toThrow(SayWhenError);
    await expect(p.map('sqr', exceptionThrowingGenerator(10, 3), { chunksize: 1 })).rejects.toThrow(SayWhenError);
    const special: Iterable<number> = {
      [Symbol.iterator]: () => ({
        next: () => {
          throw new SayWhenError('Somebody said when');
        },
      }),
    };
    await expect(p.map('sqr', special, { chunksize: 1 })).rejects.toThrow(SayWhenError);
    await expect(p.map('sqr', special, { chunksize: 1 })).rejects.toThrow(SayWhenError);
  });

  test('test_async', async () => {
    const result = pool().applyAsync('sqr', [7, 100]);
    await expect(result.get()).resolves.toBe(49);
  });

  test('test_async_timeout', async () => {
    const result = pool().applyAsync('sqr', [6, 1000]);
    await expect(result.get(100)).rejects.toThrow(TimeoutError);
    // The task goes on.
    await expect(result.get()).resolves.toBe(36);
  });

  test('test_async_timeout with a timeout of 0: get(0) and wait(0) answer now, without waiting', async () => {
    const p = pool();
    const slow = p.applyAsync('sqr', [3, 500]);
    await expect(slow.get(0)).rejects.toThrow(TimeoutError);
    await slow.wait(0);
    expect(slow.ready()).toBe(false);
    const quick = p.applyAsync('sqr', [4]);
    await quick.wait();
    await expect(quick.get(0)).resolves.toBe(16);
    // A bad timeout rejects through the promise: get() and wait() never throw.
    for (const timeout of [-1, NaN, 'soon' as unknown as number]) {
      let got: Promise<unknown> | undefined;
      expect(() => (got = quick.get(timeout))).not.toThrow();
      await expect(got).rejects.toThrow(RangeError);
      await expect(quick.wait(timeout)).rejects.toThrow(RangeError);
    }
    await expect(slow.get()).resolves.toBe(9);
  });

  test('test_imap', async () => {
    const p = pool();
    const all: number[] = [];
    for await (const value of p.imap('sqr', range(10))) all.push(value);
    expect(all).toEqual(range(10).map(sqr));
    const it = p.imap('sqr', range(10));
    for (const i of range(10)) expect(await next(it)).toBe(i * i);
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
    const chunked = p.imap('sqr', range(1000), { chunksize: 100 });
    for (const i of range(1000)) expect(await next(chunked)).toBe(i * i);
    await expect(chunked.next()).resolves.toEqual({ done: true, value: undefined });
  });

  test('test_imap_handle_iterable_exception', async () => {
    const p = pool();
    await expect(p.imap('sqr', exceptionThrowingGenerator(1, -1), { chunksize: 1 }).next()).rejects.toThrow(SayWhenError);
    await expect(p.imap('sqr', exceptionThrowingGenerator(1, -1), { chunksize: 1 }).next()).rejects.toThrow(SayWhenError);
    let it = p.imap('sqr', exceptionThrowingGenerator(10, 3), { chunksize: 1 });
    for (const i of range(3)) expect(await next(it)).toBe(i * i);
    await expect(it.next()).rejects.toThrow(SayWhenError);
    // Seen at the start of the chunk the input failed in: the items read before it still run.
    it = p.imap('sqr', exceptionThrowingGenerator(20, 7), { chunksize: 2 });
    for (const i of range(6)) expect(await next(it)).toBe(i * i);
    await expect(it.next()).rejects.toThrow(SayWhenError);
    it = p.imap('sqr', exceptionThrowingGenerator(20, 7), { chunksize: 4 });
    for (const i of range(4)) expect(await next(it)).toBe(i * i);
    await expect(it.next()).rejects.toThrow(SayWhenError);
  });

  test('test_imap_unordered', async () => {
    const p = pool();
    const some: number[] = [];
    for await (const value of p.imapUnordered('sqr', range(10))) some.push(value);
    expect(some.sort((a, b) => a - b)).toEqual(range(10).map(sqr));
    const many: number[] = [];
    for await (const value of p.imapUnordered('sqr', range(1000), { chunksize: 100 })) many.push(value);
    expect(many.sort((a, b) => a - b)).toEqual(range(1000).map(sqr));
  });

  test('test_imap_unordered_handle_iterable_exception', async () => {
    const p = pool();
    await expect(p.imapUnordered('sqr', exceptionThrowingGenerator(1, -1), { chunksize: 1 }).next()).rejects.toThrow(SayWhenError);
    for (const [total, when, chunksize] of [
      [10, 3, 1],
      [20, 7, 2],
    ]) {
      const expected = range(total).map(sqr);
      const error = await rejectionOf(
        (async () => {
          for await (const value of p.imapUnordered('sqr', exceptionThrowingGenerator(total, when), { chunksize })) {
            expect(expected).toContain(value);
            expected.splice(expected.indexOf(value), 1);
          }
        })(),
      );
      expect(error).toBeInstanceOf(SayWhenError);
    }
  });

  test('test_make_pool', () => {
    for (const processes of [-1, 0]) expect(thrownBy(() => new Pool({ processes }))).toBeInstanceOf(RangeError);
    const p = makePool({ processes: 3 });
    expect(p.processes).toBe(3);
    expect(p.pids).toHaveLength(3);
  });

  test('test_terminate: terminate() does not wait for the queued tasks', async () => {
    const p = pool();
    const result = p.mapAsync('sleep', Array.from({ length: 10000 }, () => 100), { chunksize: 1 });
    p.terminate();
    await p.join();
    await expect(result.get()).rejects.toThrow(PoolStateError);
  });

  test('test_empty_iterable', async () => {
    const p = makePool<Tasks>({ processes: 1 });
    expect(await p.map('sqr', [])).toEqual([]);
    for await (const value of p.imap('sqr', [])) throw new Error(`unexpected ${value}`);
    for await (const value of p.imapUnordered('sqr', [])) throw new Error(`unexpected ${value}`);
    expect(await p.mapAsync('sqr', []).get()).toEqual([]);
  });

  test('test_context: a pool disposed by `await using` takes no more calls', async () => {
    const expected = range(10).map(sqr);
    let disposed: Pool<Tasks> | undefined;
    {
      await using p = makePool<Tasks>({ processes: 2 });
      disposed = p;
      expect(await p.mapAsync('sqr', range(10)).get()).toEqual(expected);
    }
    expect(thrownBy(() => disposed.mapAsync('sqr', range(10)))).toBeInstanceOf(PoolStateError);
  });

  test('test_map_no_failfast: a failing map rejects, and close() then join() still end', async () => {
    const p = makePool<Tasks>({ processes: 2 });
    await expect(p.map('reciprocal', [0, 1])).rejects.toThrow(ZeroDivisionError);
    await sleep(100);
    p.close();
    await p.join();
  });

  test('test_enter: a pool that is closed cannot be entered again (no new calls)', async () => {
    const p = makePool<Tasks>({ processes: 1 });
    await p[Symbol.asyncDispose]();
    await expect(p.apply('sqr', [2])).rejects.toThrow(PoolStateError);
  });
});

describe('chunks that fail part-way (the neighbours of a failing item are not lost)', () => {
  test('test_map_exception: imap with chunksize 3 yields the results before the failing item, then throws at its place', async () => {
    const it = pool().imap('reciprocal', [1, 0, 2], { chunksize: 3 });
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(it.next()).rejects.toThrow(ZeroDivisionError);
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  test('test_map_exception: the same in a longer input, across chunks', async () => {
    const values: number[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const value of pool().imap('reciprocal', [1, 2, 4, 5, 0, 8, 10], { chunksize: 3 })) values.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(ZeroDivisionError);
    expect(values).toEqual([1, 0.5, 0.25, 0.2]);
  });

  test('test_map_exception: imapUnordered yields every item of the chunk that succeeded, then throws', async () => {
    const values: number[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const value of pool().imapUnordered('reciprocal', [1, 0, 2], { chunksize: 3 })) values.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(ZeroDivisionError);
    expect(values.sort()).toEqual([0.5, 1]);
  });

  test('test_map_close: map rejects with the failing item\'s own error, and the pool closes and joins', async () => {
    const p = pool();
    await expect(p.map('reciprocal', [1, 0, 2], { chunksize: 3 })).rejects.toThrow(ZeroDivisionError);
    p.close();
    await p.join();
  });
});

describe('_TestPoolWorkerErrors', () => {
  test('test_async_error_callback', async () => {
    const p = pool();
    const scratchpad: unknown[] = [];
    const result = p.applyAsync('raising', [], { errorCallback: (error) => scratchpad.push(error) });
    await expect(result.get()).rejects.toMatchObject({ name: 'KeyError' });
    expect(scratchpad).toHaveLength(1);
    expect(scratchpad[0]).toMatchObject({ name: 'KeyError' });
  });
});
