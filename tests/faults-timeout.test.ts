/**
 * Timeouts: a task that runs past its `timeout` (or the pool's `taskTimeout`) rejects with TimeoutError,
 * its child is killed and replaced, and the pool goes on. AsyncResult.get(timeout) only stops waiting.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Pool, TimeoutError } from '../src';
import { fixture, isAlive, rejectionOf, useScratchDir, waitFor } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';
import { expectNoChildrenLeft } from './faults-helpers';

const HANG = fixture('hang.js');

describe.each(KINDS)('%s', (_name, kind) => {
  const pool = usePoolsOf(kind, { processes: 1, module: HANG });
  const dir = useScratchDir('forkpool-faults-');

  afterAll(expectNoChildrenLeft);

  function expectTimeout(error: unknown, timeout: number): TimeoutError {
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).name).toBe('TimeoutError');
    expect((error as TimeoutError).code).toBe('ERR_POOL_TIMEOUT');
    expect((error as TimeoutError).timeout).toBe(timeout);
    expect((error as TimeoutError).message).toContain(String(timeout));
    return error as TimeoutError;
  }

  /** The child is gone, the pool is healthy, and a new child runs the next task. */
  async function expectReplaced(p: AnyPool, killed: number): Promise<void> {
    await waitFor(() => !workerAlive(kind, killed, p), 5000, `child ${killed} to be killed`);
    expect(p.broken).toBe(false);
    const next = await p.apply('pid');
    expect(next).not.toBe(killed);
    expect(idsOf(p)).toEqual([next]);
  }

  test('a task past its per-call timeout rejects with TimeoutError; its child is killed and replaced', async () => {
    const p = pool();
    const [pid] = idsOf(p);
    expectTimeout(await rejectionOf(p.apply('sleep', [60000], { timeout: 300 })), 300);
    await expectReplaced(p, pid);
  });

  test("the pool's taskTimeout applies to every task that sets none", async () => {
    const p = pool({ taskTimeout: 300 });
    const [pid] = idsOf(p);
    expectTimeout(await rejectionOf(p.apply('sleep', [60000])), 300);
    await expectReplaced(p, pid);
    // Quick tasks are unaffected, and a call's own timeout takes precedence.
    expect(await p.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
    expect(await p.apply('sleep', [600], { timeout: 30000 })).toBe(600);
  });

  test('a task stuck in a synchronous infinite loop times out and its child is killed', async () => {
    const p = pool();
    const file = path.join(dir(), 'spinning');
    const error = await rejectionOf(p.apply('markThenSpin', [file], { timeout: 300 }));
    expectTimeout(error, 300);
    await expectReplaced(p, Number(fs.readFileSync(file, 'utf8')));
  });

  test('a timeout covers a whole map chunk, and rejects the map', async () => {
    const p = pool({ processes: 2 });
    const pids = idsOf(p);
    // Each item takes 200 ms, well under the limit; the chunk of three does not.
    const error = await rejectionOf(p.map('sleepPid', [200, 200, 200], { chunksize: 3, timeout: 400 }));
    expectTimeout(error, 400);
    expect(p.broken).toBe(false);
    await waitFor(() => idsOf(p).length === 2 && idsOf(p).filter((pid) => pids.includes(pid)).length === 1, 5000, 'one child replaced');
    expect(await p.map('square', [1, 2, 3, 4], { chunksize: 1 })).toEqual([1, 4, 9, 16]);
  });

  test('one slow item of a map with a timeout rejects it; the pool goes on', async () => {
    const p = pool({ processes: 2 });
    const error = await rejectionOf(p.map('sleep', [10, 10, 60000, 10], { chunksize: 1, timeout: 400 }));
    expectTimeout(error, 400);
    expect(await p.map('square', [5, 6])).toEqual([25, 36]);
    expect(p.broken).toBe(false);
  });

  test('the clock starts when a child takes the task, not when it is submitted', async () => {
    const p = pool();
    const first = p.apply('sleep', [1200]);
    // Queued behind a task that takes longer than its own limit; it only runs for 100 ms.
    const second = p.apply('sleep', [100], { timeout: 1000 });
    expect(await first).toBe(1200);
    expect(await second).toBe(100);
  });

  test('a timeout elsewhere in the pool leaves the other children alone', async () => {
    const p = pool({ processes: 2 });
    const slow = p.apply('sleepPid', [60000], { timeout: 400 });
    const steady = p.apply('sleepPid', [800], { timeout: 30000 });
    expectTimeout(await rejectionOf(slow), 400);
    const survivor = await steady;
    expect(idsOf(p)).toContain(survivor);
    expect(workerAlive(kind, survivor, p)).toBe(true);
  });

  test('AsyncResult.get(timeout) only stops waiting: the task goes on and get() resolves later', async () => {
    const p = pool();
    const [pid] = idsOf(p);
    const result = p.applyAsync('sleepPid', [600]);
    const error = await rejectionOf(result.get(100));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(result.ready()).toBe(false);
    expect(await result.get()).toBe(pid);
    expect(result.ready()).toBe(true);
    expect(result.successful()).toBe(true);
    expect(idsOf(p)).toEqual([pid]);
    expect(workerAlive(kind, pid, p)).toBe(true);
  });
});
