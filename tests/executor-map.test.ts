/**
 * ProcessPoolExecutor.map: results in input order, chunksize, a timeout that counts from the call, the
 * rest of the call cancelled on an error or a timeout, and lazy reading of the input.
 */
import { PoolStateError, TimeoutError } from '../src';
import { executor, useScratch } from './executor-helpers';
import { endlessNaturals, sleep, waitFor } from './helpers';

const scratch = useScratch();

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterator) values.push(value);
  return values;
}

describe('map', () => {
  test('yields the results in input order, whatever order they finish in', async () => {
    const ex = executor({ maxWorkers: 2 });
    const results = await collect(ex.map('sleep', [150, 10, 80, 0, 40]));
    expect(results).toEqual([150, 10, 80, 0, 40]);
  });

  test('returns an async iterator that is its own async iterable', async () => {
    const ex = executor();
    const iterator = ex.map('double', [1, 2]);
    expect(iterator[Symbol.asyncIterator]()).toBe(iterator);
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 4 });
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });

  test('chunksize groups items into tasks and keeps the order', async () => {
    const ex = executor({ maxWorkers: 2 });
    const input = Array.from({ length: 23 }, (_, i) => i);
    expect(await collect(ex.map('double', input, { chunksize: 5 }))).toEqual(input.map((x) => 2 * x));
  });

  test('a chunk is one task: with chunksize n every run of n items shares a child', async () => {
    const ex = executor({ maxWorkers: 2, maxTasksPerChild: 1 });
    // One task per child: every chunk runs in a fresh child, so the pids change exactly at chunk borders.
    const pids = await collect(ex.map('pid', Array.from({ length: 9 }, () => null), { chunksize: 3 }));
    expect(new Set(pids.slice(0, 3)).size).toBe(1);
    expect(new Set(pids.slice(3, 6)).size).toBe(1);
    expect(new Set(pids.slice(6, 9)).size).toBe(1);
    expect(new Set(pids).size).toBe(3);
  });

  test('takes an async iterable as input', async () => {
    const ex = executor();
    async function* numbers() {
      for (let i = 1; i <= 4; i++) yield i;
    }
    expect(await collect(ex.map('double', numbers()))).toEqual([2, 4, 6, 8]);
  });

  test('an empty input gives no results', async () => {
    const ex = executor();
    expect(await collect(ex.map('double', []))).toEqual([]);
  });

  test('checks its arguments', () => {
    const ex = executor();
    expect(() => ex.map('double', [1], { chunksize: 0 })).toThrow(RangeError);
    expect(() => ex.map('double', [1], { chunksize: 1.5 })).toThrow(/chunksize/);
    expect(() => ex.map('double', [1], { timeout: -5 })).toThrow(RangeError);
    expect(() => ex.map('double', [1], { timeout: 'soon' as never })).toThrow(RangeError);
    expect(() => ex.map('double', 42 as never)).toThrow(TypeError);
  });

  test('map after shutdown throws PoolStateError', async () => {
    const ex = executor();
    await ex.shutdown();
    expect(() => ex.map('double', [1])).toThrow(PoolStateError);
  });
});

describe('map: an error ends the call', () => {
  test("throws the item's error at its position, and the items that had not started never run", async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    // Item 0 does not wait, item 1 fails behind it; item 2 then runs (and waits at the gate) while the
    // child may already hold item 3.
    const items = Array.from({ length: 10 }, (_, i) => ({ log, label: String(i), gate: i === 0 ? undefined : gate, fail: i === 1 }));
    const iterator = ex.map('markItem', items, { chunksize: 1 });
    await expect(iterator.next()).resolves.toEqual({ done: false, value: '0' });
    const error = await iterator.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('item 1 failed');
    // The iteration is over once it has thrown.
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    scratch().openGate();
    await ex.shutdown();
    const ran = scratch().marks();
    expect(ran.slice(0, 2)).toEqual(['0', '1']);
    // At most the item that had already started when the error arrived ran after it; nothing queued did.
    expect(ran.length).toBeLessThanOrEqual(3);
    for (const label of ['3', '4', '5', '6', '7', '8', '9']) expect(ran).not.toContain(label);
  });

  test('an input that throws ends the call with its error at its position', async () => {
    const ex = executor();
    function* input() {
      yield 1;
      yield 2;
      throw new SyntaxError('bad input');
    }
    const iterator = ex.map('double', input());
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 4 });
    await expect(iterator.next()).rejects.toThrow(SyntaxError);
    // The executor goes on.
    await expect(ex.submit('double', 5)).resolves.toBe(10);
  });
});

describe('map: timeout', () => {
  test('throws TimeoutError when a result is not ready in time, and the items not started never run', async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const items = Array.from({ length: 8 }, (_, i) => ({ log, label: String(i), gate }));
    const iterator = ex.map('markItem', items, { timeout: 300 });
    await waitFor(() => scratch().marks().includes('0'), 10000, 'the first item to start');
    const error = await iterator.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ name: 'TimeoutError', timeout: 300 });
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    scratch().openGate();
    await ex.shutdown();
    // The item that was running finished; the others, the one waiting in the child included, never ran.
    expect(scratch().marks()).toEqual(['0']);
  });

  test('counts from the call, not from the first next(): results ready by then are still handed out', async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const items = [
      { log, label: 'ready' },
      { log, label: 'gated', gate },
    ];
    const iterator = ex.map('markItem', items, { timeout: 300 });
    await waitFor(() => scratch().marks().includes('gated'), 10000, 'the second item to start');
    // Let the deadline pass before asking for anything.
    await sleep(400);
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 'ready' });
    // Counted from this next() the gated item would make it: the gate opens right now. Counted from the
    // call, the deadline is already behind.
    const late = iterator.next();
    scratch().openGate();
    await expect(late).rejects.toThrow(TimeoutError);
    await ex.shutdown();
  });

  test('a timeout that is not reached changes nothing', async () => {
    const ex = executor({ maxWorkers: 2 });
    expect(await collect(ex.map('double', [1, 2, 3], { timeout: 20000 }))).toEqual([2, 4, 6]);
  });
});

describe('map: lazy input', () => {
  test('an endless generator works: it is read a bounded number of items ahead and closed on break', async () => {
    const ex = executor({ maxWorkers: 1 });
    const input = endlessNaturals();
    const results: number[] = [];
    for await (const value of ex.map('double', input.items)) {
      results.push(value);
      if (results.length === 10) break;
    }
    expect(results).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    await waitFor(() => input.closed, 5000, 'the generator to be closed');
    // 10 consumed, plus a window of a few chunks per child.
    expect(input.produced).toBeLessThan(30);
    const after = input.produced;
    await ex.submit('double', 1);
    expect(input.produced).toBe(after);
  });

  test('an input that is not consumed is not read past the window', async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    let pulled = 0;
    function* items() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield { log, label: String(i), gate };
      }
    }
    const iterator = ex.map('markItem', items());
    await waitFor(() => scratch().marks().length > 0, 10000, 'the first item to start');
    await waitFor(() => pulled > 1, 5000, 'the input to be read ahead');
    const ahead = pulled;
    expect(ahead).toBeLessThan(30);
    // Nothing is consumed and nothing finishes: the reading stays where it is.
    await sleep(200);
    expect(pulled).toBe(ahead);
    await iterator.return!();
    scratch().openGate();
    await ex.shutdown();
    expect(pulled).toBe(ahead);
  });
});
