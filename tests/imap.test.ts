/**
 * imap / imapUnordered: results as an async iterator, an input read lazily, errors at their position.
 */
import fs from 'node:fs';
import path from 'node:path';
import { endlessNaturals, fixture, throwingAfter, useScratchDir, waitFor } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('tasks.js');
const SIGNAL = { module: fixture('signal.js') };

describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  const scratch = useScratchDir('forkpool-imap-', 'file');

  async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
    const values: T[] = [];
    for await (const value of iterator) values.push(value);
    return values;
  }

  test('imap yields every result in input order, whatever order they finish in', async () => {
    const pool = makePool({ processes: 2, module: TASKS });
    const delays = [120, 0, 60, 0, 30, 0];
    await expect(collect(pool.imap('slow', delays))).resolves.toEqual(delays);
  });

  test('imapUnordered yields results in the order they finish', async () => {
    const pool = makePool({ processes: 2 });
    const file = path.join(scratch(), 'unordered-signal');
    // The waiter cannot finish before a raiser has run. A child may hold a task or more queued behind the one
    // it runs, so there are raisers enough that one of them always runs in the other child.
    const items = [{ role: 'wait', file }, ...Array.from({ length: 4 }, () => ({ role: 'raise', file }))];
    const unordered = await collect(pool.imapUnordered(SIGNAL, items));
    expect([...unordered].sort()).toEqual(['raise', 'raise', 'raise', 'raise', 'wait']);
    expect(unordered[0]).toBe('raise');
    // The same items through imap come back in input order.
    fs.rmSync(file);
    await expect(collect(pool.imap(SIGNAL, items))).resolves.toEqual(['wait', 'raise', 'raise', 'raise', 'raise']);
  });

  test('imapUnordered yields every result exactly once', async () => {
    const pool = makePool({ processes: 2, module: TASKS });
    const inputs = Array.from({ length: 25 }, (_, i) => i);
    const results = await collect(pool.imapUnordered('square', inputs, { chunksize: 3 }));
    expect(results.sort((a, b) => a - b)).toEqual(inputs.map((x) => x * x));
  });

  test('an endless generator works, and breaking out of the loop stops reading it', async () => {
    const pool = makePool({ processes: 2, module: TASKS });
    const input = endlessNaturals();
    const results: number[] = [];
    for await (const square of pool.imap('square', input.items)) {
      results.push(square);
      if (results.length === 10) break;
    }
    expect(results).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    // The generator is closed (its finally ran), so it can produce nothing more.
    await waitFor(() => input.closed, 5000, "the generator's finally block");
    // Only a bounded number of items beyond those consumed was read ahead.
    expect(input.produced).toBeLessThan(100);
    // The pool goes on after the abandoned iteration.
    await expect(pool.apply('square', [12])).resolves.toBe(144);
  });

  test('imapUnordered over an endless generator also stops reading on break', async () => {
    const pool = makePool({ processes: 1, module: TASKS });
    const input = endlessNaturals();
    let count = 0;
    for await (const _ of pool.imapUnordered('square', input.items)) {
      if (++count === 5) break;
    }
    await waitFor(() => input.closed, 5000, "the generator's finally block");
    expect(input.produced).toBeLessThan(100);
  });

  test('imap reads an async iterable', async () => {
    const pool = makePool({ processes: 2, module: TASKS });
    async function* numbers() {
      for (let i = 1; i <= 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield i;
      }
    }
    await expect(collect(pool.imap('square', numbers()))).resolves.toEqual([1, 4, 9, 16, 25, 36]);
    await expect(collect(pool.imapUnordered('square', numbers())).then((r) => r.sort((a, b) => a - b))).resolves.toEqual([
      1, 4, 9, 16, 25, 36,
    ]);
  });

  test('an item’s error is thrown at its position, after the earlier results', async () => {
    const pool = makePool({ processes: 2 });
    const fn = (x: number) => {
      if (x < 0) throw new RangeError(`negative ${x}`);
      return x * 10;
    };
    const iterator = pool.imap(fn, [1, 2, -3, 4, 5]);
    const results: number[] = [];
    let error: unknown;
    try {
      for await (const value of iterator) results.push(value);
    } catch (e) {
      error = e;
    }
    expect(results).toEqual([10, 20]);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('negative -3');
    // The iteration is over once the error has been thrown.
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
    await expect(pool.apply(fn, [7])).resolves.toBe(70);
  });

  test('an input that throws ends the iteration with its error after the results before it', async () => {
    const pool = makePool({ module: TASKS });
    const inputError = new Error('input broke');
    const results: number[] = [];
    let error: unknown;
    try {
      for await (const value of pool.imap('square', throwingAfter([1, 2], inputError))) results.push(value);
    } catch (e) {
      error = e;
    }
    expect(results).toEqual([1, 4]);
    expect(error).toBe(inputError);
    await expect(pool.apply('square', [3])).resolves.toBe(9);
  });

  test('default chunksize is 1: every item is a task of its own', async () => {
    // With maxTasksPerChild 1 every task runs in a fresh child: one pid per task.
    const pool = makePool({ processes: 1, maxTasksPerChild: 1, module: TASKS });
    const pids = await collect(pool.imap('pid', [0, 1, 2, 3, 4]));
    expect(new Set(pids).size).toBe(5);
  });

  test('an explicit chunksize groups items into tasks', async () => {
    const pool = makePool({ processes: 1, maxTasksPerChild: 1, module: TASKS });
    const pids = await collect(pool.imap('pid', [0, 1, 2, 3, 4], { chunksize: 2 }));
    expect(pids[0]).toBe(pids[1]);
    expect(pids[2]).toBe(pids[3]);
    expect(new Set(pids).size).toBe(3);
  });
});
