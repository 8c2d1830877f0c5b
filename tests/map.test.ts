/**
 * map / mapAsync / starmap / starmapAsync: results in input order, chunking, inputs of every kind, and how
 * a failing item or a failing input ends the call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AsyncResult } from '../src';
import { fixture, throwingAfter, throwingAfterAsync, useScratchDir } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('tasks.js');
const RECORD = { module: fixture('record.js') };

describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  const scratch = useScratchDir('forkpool-map-', 'file');

  /** The inputs record.js saw, in the order it saw them. */
  function recorded(file: string): number[] {
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map(Number) : [];
  }

  /**
   * The sizes of the chunks a map was cut into, given each item's child pid from a pool with
   * `maxTasksPerChild: 1`: every chunk then runs in a child of its own, so a chunk is a run of equal pids
   * (and no pid comes back after its run).
   */
  function chunkSizes(pids: number[]): number[] {
    const sizes: number[] = [];
    const seen = new Set<number>();
    pids.forEach((pid, i) => {
      if (i > 0 && pid === pids[i - 1]) {
        sizes[sizes.length - 1]++;
        return;
      }
      expect(seen.has(pid)).toBe(false);
      seen.add(pid);
      sizes.push(1);
    });
    return sizes;
  }

  /** Whatever `fn` throws or rejects with; fails if it does neither. */
  async function failure(fn: () => unknown): Promise<unknown> {
    try {
      await fn();
    } catch (error) {
      return error;
    }
    throw new Error('expected a failure');
  }

  describe('results', () => {
    test('map resolves with every result in input order, whatever order they finish in', async () => {
      const pool = makePool({ processes: 2, module: TASKS });
      // Earlier items take longer: completion order is not input order.
      const delays = [80, 0, 40, 0, 20, 0, 10, 0];
      await expect(pool.map('slow', delays)).resolves.toEqual(delays);
      const inputs = Array.from({ length: 30 }, (_, i) => i);
      await expect(pool.map('square', inputs)).resolves.toEqual(inputs.map((x) => x * x));
    });

    test('mapAsync returns an AsyncResult of the list, and calls callback with it', async () => {
      const pool = makePool({ module: TASKS });
      const callback = jest.fn();
      const result = pool.mapAsync('square', [1, 2, 3], { callback });
      expect(result).toBeInstanceOf(AsyncResult);
      await expect(result.get()).resolves.toEqual([1, 4, 9]);
      expect(callback).toHaveBeenCalledTimes(1);
      expect(callback).toHaveBeenCalledWith([1, 4, 9]);
      expect(result.successful()).toBe(true);
    });

    test('starmap spreads each element as the arguments, in input order', async () => {
      const pool = makePool({ processes: 2 });
      const pairs: [number, number][] = [
        [10, 1],
        [10, 2],
        [10, 3],
        [7, 7],
      ];
      await expect(pool.starmap((a: number, b: number) => a - b, pairs)).resolves.toEqual([9, 8, 7, 0]);
    });

    test('starmapAsync returns an AsyncResult of the list', async () => {
      const pool = makePool();
      const result = pool.starmapAsync((a: string, b: string) => a + b, [
        ['a', 'b'],
        ['c', 'd'],
      ]);
      await expect(result).resolves.toEqual(['ab', 'cd']);
    });

    test('starmap refuses an element that is not an argument list, naming its position', async () => {
      const pool = makePool();
      const error = await failure(() => pool.starmap((a: number) => a, [[1], 2 as never]));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/item 1/);
    });

    test('an empty input resolves with an empty list', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.map('square', [])).resolves.toEqual([]);
      await expect(pool.starmap('square', [])).resolves.toEqual([]);
      await expect(pool.mapAsync('square', []).get()).resolves.toEqual([]);
      await expect(pool.map('square', (async function* () {})())).resolves.toEqual([]);
    });
  });

  describe('inputs', () => {
    test('map reads a generator', async () => {
      const pool = makePool({ module: TASKS });
      function* numbers() {
        for (let i = 1; i <= 5; i++) yield i;
      }
      await expect(pool.map('square', numbers())).resolves.toEqual([1, 4, 9, 16, 25]);
    });

    test('map reads any iterable (a Set)', async () => {
      const pool = makePool({ module: TASKS });
      await expect(pool.map('square', new Set([2, 3]))).resolves.toEqual([4, 9]);
    });

    test('map reads an async iterable', async () => {
      const pool = makePool({ module: TASKS });
      async function* numbers() {
        for (let i = 1; i <= 4; i++) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          yield i;
        }
      }
      await expect(pool.map('square', numbers())).resolves.toEqual([1, 4, 9, 16]);
      const pairs = (async function* (): AsyncGenerator<[number, number]> {
        yield [3, 4];
        yield [5, 6];
      })();
      await expect(pool.starmap((a: number, b: number) => a * b, pairs)).resolves.toEqual([12, 30]);
    });

    test('an input that throws rejects the call with its error, and the pool stays usable', async () => {
      const pool = makePool({ module: TASKS });
      const inputError = new Error('input broke');
      await expect(pool.map('square', throwingAfter([1, 2], inputError))).rejects.toBe(inputError);
      await expect(pool.mapAsync('square', throwingAfter([1, 2], inputError)).get()).rejects.toBe(inputError);
      await expect(pool.map('square', [3])).resolves.toEqual([9]);
      expect(pool.broken).toBe(false);
    });

    test('an async input that throws rejects the call with its error, and the pool stays usable', async () => {
      const pool = makePool({ module: TASKS });
      const inputError = new Error('async input broke');
      await expect(pool.map('square', throwingAfterAsync([1], inputError))).rejects.toBe(inputError);
      await expect(pool.map('square', [4])).resolves.toEqual([16]);
    });

    test('something that is not iterable is refused', async () => {
      const pool = makePool({ module: TASKS });
      await expect(failure(() => pool.map('square', 42 as never))).resolves.toBeInstanceOf(TypeError);
    });
  });

  describe('chunking', () => {
    test('default chunksize is ceil(length / (4 * processes)): one process', async () => {
      const pool = makePool({ processes: 1, maxTasksPerChild: 1, module: TASKS });
      // ceil(10 / 4) = 3
      const pids = await pool.map('pid', Array.from({ length: 10 }, (_, i) => i));
      expect(chunkSizes(pids)).toEqual([3, 3, 3, 1]);
    });

    test('default chunksize is ceil(length / (4 * processes)): two processes', async () => {
      const pool = makePool({ processes: 2, maxTasksPerChild: 1, module: TASKS });
      // ceil(20 / 8) = 3
      const pids = await pool.map('pid', Array.from({ length: 20 }, (_, i) => i));
      expect(chunkSizes(pids)).toEqual([3, 3, 3, 3, 3, 3, 2]);
    });

    test('default chunksize also applies to an async input, once its length is known', async () => {
      const pool = makePool({ processes: 1, maxTasksPerChild: 1, module: TASKS });
      async function* items() {
        for (let i = 0; i < 8; i++) yield i;
      }
      // ceil(8 / 4) = 2
      expect(chunkSizes(await pool.map('pid', items()))).toEqual([2, 2, 2, 2]);
    });

    test('an explicit chunksize cuts the input into chunks of that size', async () => {
      const pool = makePool({ processes: 2, maxTasksPerChild: 1, module: TASKS });
      const pids = await pool.map('pid', Array.from({ length: 10 }, (_, i) => i), { chunksize: 4 });
      expect(chunkSizes(pids)).toEqual([4, 4, 2]);
      const starPids = await pool.starmap('pid', [[], [], [], [], []], { chunksize: 2 });
      expect(chunkSizes(starPids)).toEqual([2, 2, 1]);
    });

    test('results stay in input order with chunks', async () => {
      const pool = makePool({ processes: 2, module: TASKS });
      const inputs = Array.from({ length: 23 }, (_, i) => i);
      await expect(pool.map('square', inputs, { chunksize: 5 })).resolves.toEqual(inputs.map((x) => x * x));
    });

    test.each([
      [0, RangeError],
      [-1, RangeError],
      [1.5, RangeError],
      ['2', TypeError],
    ])('chunksize %p is refused with an error naming `chunksize` and the value', async (chunksize, kind) => {
      const pool = makePool({ module: TASKS });
      const options = { chunksize: chunksize as number };
      for (const call of [
        () => pool.map('square', [1, 2], options),
        () => pool.mapAsync('square', [1, 2], options),
        () => pool.starmap('square', [[1]], options),
        () => pool.imap('square', [1, 2], options),
      ]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(kind);
        expect((error as Error).message).toContain('chunksize');
        expect((error as Error).message).toContain(String(chunksize));
      }
      // Nothing was queued by the refused calls.
      await expect(pool.map('square', [5])).resolves.toEqual([25]);
    });
  });

  describe('a failing item', () => {
    test('rejects the whole call with that item’s error', async () => {
      const pool = makePool({ processes: 2 });
      const fn = (x: number) => {
        if (x === 3) throw new RangeError(`bad item ${x}`);
        return x;
      };
      const error = await failure(() => pool.map(fn, [0, 1, 2, 3, 4, 5]));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toBe('bad item 3');
      await expect(pool.mapAsync(fn, [3]).get()).rejects.toThrow('bad item 3');
      await expect(pool.map(fn, [1, 2])).resolves.toEqual([1, 2]);
    });

    test('with several failing items, the call rejects with the first one to fail', async () => {
      // One process and chunks of one: items run in input order, so item 2 fails first.
      const pool = makePool({ processes: 1 });
      const fn = (x: number) => {
        if (x % 2 === 0 && x > 0) throw new Error(`failed ${x}`);
        return x;
      };
      await expect(pool.map(fn, [1, 2, 3, 4, 5, 6], { chunksize: 1 })).rejects.toThrow('failed 2');
    });

    test('drops the chunks of that call that have not started', async () => {
      const pool = makePool({ processes: 1 });
      const file = path.join(scratch(), 'dropped.txt');
      const args = Array.from({ length: 40 }, (_, i) => [file, i === 2 ? -2 : i]);
      await expect(pool.starmap(RECORD, args, { chunksize: 1 })).rejects.toThrow('negative input -2');
      // Runs after whatever the child still held: everything that was going to run has run by now.
      await pool.apply(RECORD, [file, 1000]);
      const ran = recorded(file);
      expect(ran.slice(0, 3)).toEqual([0, 1, -2]);
      expect(ran.at(-1)).toBe(1000);
      // The child may have had the next item or two in hand already; the rest were never run.
      expect(ran.length).toBeLessThan(8);
    });

    test('drops the chunks that have not started, also when the child has taken many tiny tasks ahead', async () => {
      const pool = makePool({ processes: 1 });
      const file = path.join(scratch(), 'dropped-late.txt');
      // Hundreds of tiny tasks before the failing one: the child is as far into its stride as it gets.
      const failing = 400;
      const args = Array.from({ length: 800 }, (_, i) => [file, i === failing ? -1 : i]);
      await expect(pool.starmap(RECORD, args, { chunksize: 1 })).rejects.toThrow('negative input -1');
      await pool.apply(RECORD, [file, 100000]);
      const ran = recorded(file);
      expect(ran.slice(0, failing + 1)).toEqual(args.slice(0, failing + 1).map(([, x]) => x));
      // Besides the marker, at most the task waiting right behind the failing one may have started.
      const afterFailure = ran.slice(failing + 1, -1);
      expect(afterFailure.length).toBeLessThanOrEqual(2);
    });
  });
});
