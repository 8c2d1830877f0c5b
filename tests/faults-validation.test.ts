/**
 * Bad input: options that are not positive integers (or positive numbers, for timeouts) are refused with
 * an error naming the option and the value; a missing task, a throwing input and huge errors fail one call
 * and leave the pool working; a failing map drops the chunks it has not started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from '../src';
import { fixture, isAlive, rejectionOf, throwingAfter, throwingAfterAsync, thrownBy, usePools, useScratchDir } from './helpers';
import { childrenOf, expectNoChildrenLeft, readLines } from './faults-helpers';

const TASKS = fixture('bad-input-tasks.js');

const pool = usePools({ processes: 1, module: TASKS });
const dir = useScratchDir('forkpool-faults-');

afterAll(expectNoChildrenLeft);

const NOT_POSITIVE_INTEGERS: unknown[] = [0, -1, 1.5, '2', NaN, Infinity];
const NOT_POSITIVE_NUMBERS: unknown[] = [0, -1, -0.5, '100', NaN];

/** A RangeError or TypeError that names the option and shows the value, with Node's code for its kind. */
function expectRefused(error: unknown, option: string, value: unknown): void {
  expect([RangeError, TypeError].some((kind) => error instanceof kind)).toBe(true);
  const message = (error as Error).message;
  expect(message).toContain(option);
  expect(message).toContain(String(value));
  expect(error).toBeInstanceOf(typeof value === 'number' ? RangeError : TypeError);
  expect((error as { code?: string }).code).toBe(typeof value === 'number' ? 'ERR_OUT_OF_RANGE' : 'ERR_INVALID_ARG_TYPE');
}

describe('pool options', () => {
  test.each(NOT_POSITIVE_INTEGERS)('processes: %p is refused, and no child is started', (value) => {
    const before = childrenOf(process.pid);
    expectRefused(thrownBy(() => new Pool({ processes: value as number, module: TASKS })), 'processes', value);
    expect(childrenOf(process.pid).filter((pid) => !before.includes(pid))).toEqual([]);
  });

  test.each(NOT_POSITIVE_INTEGERS)('maxTasksPerChild: %p is refused', (value) => {
    expectRefused(thrownBy(() => new Pool({ processes: 1, maxTasksPerChild: value as number })), 'maxTasksPerChild', value);
  });

  test.each(NOT_POSITIVE_NUMBERS)('taskTimeout: %p is refused', (value) => {
    expectRefused(thrownBy(() => new Pool({ processes: 1, taskTimeout: value as number })), 'taskTimeout', value);
  });
});

describe('call options', () => {
  test.each(NOT_POSITIVE_INTEGERS)('chunksize: %p is refused by map, starmap, imap and mapAsync', async (value) => {
    const p = pool();
    const chunksize = value as number;
    expectRefused(await rejectionOf(p.map('square', [1, 2, 3], { chunksize })), 'chunksize', value);
    expectRefused(await rejectionOf(p.starmap('square', [[1], [2]], { chunksize })), 'chunksize', value);
    expectRefused(thrownBy(() => p.imap('square', [1, 2, 3], { chunksize })), 'chunksize', value);
    expectRefused(thrownBy(() => p.imapUnordered('square', [1, 2, 3], { chunksize })), 'chunksize', value);
    expectRefused(thrownBy(() => p.mapAsync('square', [1, 2, 3], { chunksize })), 'chunksize', value);
    expect(await p.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
  });

  test.each(NOT_POSITIVE_NUMBERS)('timeout: %p is refused by apply, map and imap', async (value) => {
    const p = pool();
    const timeout = value as number;
    expectRefused(await rejectionOf(p.apply('square', [2], { timeout })), 'timeout', value);
    expectRefused(await rejectionOf(p.map('square', [2], { timeout })), 'timeout', value);
    expectRefused(thrownBy(() => p.imap('square', [2], { timeout })), 'timeout', value);
    expectRefused(thrownBy(() => p.applyAsync('square', [2], { timeout })), 'timeout', value);
    expect(await p.apply('square', [2])).toBe(4);
  });

  test('a fractional timeout is a valid timeout', async () => {
    const p = pool();
    expect(await p.apply('square', [3], { timeout: 5000.5 })).toBe(9);
  });
});

describe('tasks that cannot be found', () => {
  test('an unknown export fails that task, naming it; the pool goes on with the same child', async () => {
    const p = pool();
    const [pid] = p.pids;
    const error = await rejectionOf(p.apply('noSuchTask', [1]));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('noSuchTask');
    expect(await p.apply('square', [4])).toBe(16);
    expect(p.pids).toEqual([pid]);
    expect(p.broken).toBe(false);
  });

  test('a missing module fails that task, naming it; the pool goes on', async () => {
    const p = pool();
    const missing = path.join(dir(), 'no-such-module.js');
    const error = await rejectionOf(p.apply({ module: missing, name: 'square' }, [1]));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(missing);
    const mapped = await rejectionOf(p.map({ module: missing, name: 'square' }, [1, 2]));
    expect((mapped as Error).message).toContain(missing);
    expect(await p.apply('square', [5])).toBe(25);
    expect(p.broken).toBe(false);
  });
});

describe('an input iterable that throws', () => {
  const failingInput = () => throwingAfter([1, 2], new Error('the input broke'));
  const failingAsyncInput = () => throwingAfterAsync([1, 2], new Error('the async input broke'));

  test('rejects map and starmap with its own error', async () => {
    const p = pool();
    const error = await rejectionOf(p.map('square', failingInput()));
    expect((error as Error).message).toBe('the input broke');
    const asyncError = await rejectionOf(p.map('square', failingAsyncInput()));
    expect((asyncError as Error).message).toBe('the async input broke');
    expect(await p.map('square', [1, 2])).toEqual([1, 4]);
  });

  test('throws from imap at its position, after the items before it', async () => {
    const p = pool();
    for (const input of [failingInput(), failingAsyncInput()]) {
      const seen: number[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const value of p.imap('square', input)) seen.push(value as number);
        })(),
      );
      expect((error as Error).message).toMatch(/the (async )?input broke/);
      expect(seen).toEqual([1, 4]);
    }
    expect(await p.apply('square', [9])).toBe(81);
    expect(p.broken).toBe(false);
  });
});

test('two tasks each throwing an error with a 1 MiB message both settle', async () => {
  const p = pool({ processes: 2 });
  const size = 1024 * 1024;
  const outcomes = await Promise.allSettled([p.apply('hugeError', [size, 'a']), p.apply('hugeError', [size, 'b'])]);
  const messages = outcomes.map((outcome) => ((outcome as PromiseRejectedResult).reason as Error).message);
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  expect(messages.map((message) => message.length)).toEqual([size, size]);
  expect(messages[0]).toBe('a'.repeat(size));
  expect(messages[1]).toBe('b'.repeat(size));
  expect(await p.map('square', [1, 2, 3], { chunksize: 1 })).toEqual([1, 4, 9]);
  expect(p.pids.every(isAlive)).toBe(true);
});

describe('a map with a failing item', () => {
  test('rejects with that error and does not run the chunks it had not started', async () => {
    const p = pool();
    const marks = path.join(dir(), 'marks');
    const items = Array.from({ length: 20 }, (_, x) => [marks, x, 3, 30]);
    const error = await rejectionOf(p.starmap('markOrFail', items, { chunksize: 1 }));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('item 3 failed');
    // The child runs one task at a time; one more may have begun before it heard that the map had failed.
    // Once it has answered a later task, it has run everything of the map it ever will.
    expect(await p.apply('square', [2])).toBe(4);
    const ran = readLines(marks).map(Number);
    expect(ran.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(Math.max(...ran)).toBeLessThanOrEqual(4);
  });

  test('with quick tasks, the rest of a long map is dropped', async () => {
    const p = pool();
    const marks = path.join(dir(), 'marks');
    const items = Array.from({ length: 2000 }, (_, x) => [marks, x, 10, 0]);
    const error = await rejectionOf(p.starmap('markOrFail', items, { chunksize: 1 }));
    expect((error as Error).message).toBe('item 10 failed');
    expect(await p.apply('square', [2])).toBe(4);
    const ran = readLines(marks).map(Number);
    expect(ran).toContain(10);
    expect(ran).not.toContain(1999);
    expect(ran.length).toBeLessThan(1000);
  });

  test('with several children, a failure in one stops the chunks still queued', async () => {
    const p = pool({ processes: 2 });
    const marks = path.join(dir(), 'marks');
    const items = Array.from({ length: 40 }, (_, x) => [marks, x, 2, 30]);
    const error = await rejectionOf(p.starmap('markOrFail', items, { chunksize: 2 }));
    expect((error as Error).message).toBe('item 2 failed');
    await p.map('square', [1, 2, 3, 4], { chunksize: 1 });
    const ran = readLines(marks).map(Number);
    expect(ran).toContain(2);
    expect(ran.length).toBeLessThan(20);
  });
});
