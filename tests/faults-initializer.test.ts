/**
 * An initializer that fails breaks the pool once: every pending and later task rejects with a
 * BrokenPoolError whose cause is the initializer's error, and no child is started again and again.
 */
import path from 'node:path';
import { BrokenPoolError } from '../src';
import { fixture, isAlive, rejectionOf, sleep, usePools, useScratchDir, waitFor } from './helpers';
import { expectNoChildrenLeft, readLines } from './faults-helpers';

const INIT = fixture('crash-init.js');

const pool = usePools({ processes: 2, module: INIT });
const dir = useScratchDir('forkpool-faults-');
let log: string;

beforeEach(() => {
  log = path.join(dir(), 'init.log');
});

afterAll(expectNoChildrenLeft);

function expectBrokenBy(error: unknown, message: string): BrokenPoolError {
  expect(error).toBeInstanceOf(BrokenPoolError);
  const cause = (error as BrokenPoolError).cause;
  expect(cause).toBeInstanceOf(Error);
  expect((cause as Error).message).toBe(message);
  expect((error as Error).message).toContain(message);
  return error as BrokenPoolError;
}

/** Children started, by the lines their initializers logged, once things have had time to go wrong. */
async function startsAfterAWhile(): Promise<string[]> {
  await sleep(500);
  return readLines(log);
}

describe.each(['break', 'respawn'] as const)("an initializer that throws (onWorkerCrash: '%s')", (onWorkerCrash) => {
  test('rejects every pending and later task with BrokenPoolError caused by its error, once', async () => {
    const p = pool({ initializer: 'logAndThrow', initargs: [log, 'no database'], onWorkerCrash });
    const pending = [p.apply('square', [1]), p.apply('square', [2]), p.map('square', [1, 2, 3], { chunksize: 1 })];
    const errors = await Promise.all(pending.map((task) => rejectionOf(task)));
    for (const error of errors) expectBrokenBy(error, 'no database');
    // The initializer's own error comes back as itself: class, message and code.
    const cause = (errors[0] as BrokenPoolError).cause as RangeError & { code: string };
    expect(cause).toBeInstanceOf(RangeError);
    expect(cause.code).toBe('E_INIT');
    expect(p.broken).toBe(true);

    expectBrokenBy(await rejectionOf(p.apply('square', [3])), 'no database');
    expectBrokenBy(await rejectionOf(p.applyAsync('square', [3]).get()), 'no database');
    expectBrokenBy(await rejectionOf(p.imap('square', [3]).next()), 'no database');

    const starts = await startsAfterAWhile();
    expect(starts.length).toBeGreaterThanOrEqual(1);
    expect(starts.length).toBeLessThanOrEqual(p.processes);
    await waitFor(() => starts.every((pid) => !isAlive(Number(pid))), 5000, 'the children to stop');
  });
});

describe.each(['break', 'respawn'] as const)("an initializer that calls process.exit (onWorkerCrash: '%s')", (onWorkerCrash) => {
  test('rejects every pending and later task with BrokenPoolError, without respawning forever', async () => {
    const p = pool({ initializer: 'logAndExit', initargs: [log, 6], onWorkerCrash });
    const pending = [p.apply('square', [1]), p.apply('square', [2]), p.apply('square', [3])];
    for (const task of pending) {
      const error = await rejectionOf(task);
      expect(error).toBeInstanceOf(BrokenPoolError);
      expect((error as BrokenPoolError).exitCode).toBe(6);
    }
    expect(p.broken).toBe(true);
    expect(await rejectionOf(p.apply('square', [4]))).toBeInstanceOf(BrokenPoolError);

    const starts = await startsAfterAWhile();
    expect(starts.length).toBeGreaterThanOrEqual(1);
    // 'respawn' may replace a child that died starting up, but only a bounded number of times.
    expect(starts.length).toBeLessThanOrEqual(onWorkerCrash === 'break' ? p.processes : 3 * p.processes);
    await waitFor(() => starts.every((pid) => !isAlive(Number(pid))), 5000, 'the children to stop');
  });
});

test('an initializer that fails only in a replacement child breaks the pool then', async () => {
  const p = pool({ processes: 1, maxTasksPerChild: 1, initializer: 'failAfterFirst', initargs: [log] });
  expect(await p.apply('square', [3])).toBe(9);
  // The first child retires after one task; its replacement's initializer throws.
  const error = expectBrokenBy(await rejectionOf(p.apply('square', [4])), 'initializer run 2 failed');
  expect(error.pid).toBe(Number(readLines(log)[1]));
  expect(p.broken).toBe(true);
  expect(await startsAfterAWhile()).toHaveLength(2);
});
