/**
 * ProcessPoolExecutor.shutdown({ wait, cancelFutures }) and Symbol.asyncDispose: what finishes, what is
 * cancelled, what is refused afterwards, and that no child is left behind.
 */
import { CancelledError, PoolStateError, ProcessPoolExecutor } from '../src';
import { executorFor, ONE_CALL_PER_CHILD, TASKS, useScratch, type Tasks } from './executor-helpers';
import { KINDS, executorOf, workerAlive } from './kinds';
import { isAlive, sleep, waitFor } from './helpers';

const scratch = useScratch();

/** Whether `promise` settles within `ms` (a guard against a hang, not a measure of speed). */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => (clearTimeout(timer), resolve(true)),
      () => (clearTimeout(timer), resolve(true)),
    );
  });
}

describe.each(KINDS)('%s', (_name, kind) => {
  const executor = executorFor(kind);

  describe('shutdown', () => {
    test('with wait, resolves once every child has exited', async () => {
      const { gate } = scratch();
      const ex = executor({ maxWorkers: 2, ...ONE_CALL_PER_CHILD });
      const futures = [ex.submit('gated', gate), ex.submit('gated', gate)];
      await waitFor(() => futures.every((f) => f.running()), 10000, 'both calls to run');
      scratch().openGate();
      const pids = await Promise.all(futures);
      expect(new Set(pids).size).toBe(2);
      for (const pid of pids) expect(workerAlive(kind, pid)).toBe(true);
      await ex.shutdown();
      for (const pid of pids) expect(workerAlive(kind, pid)).toBe(false);
    });

    test('with wait and no cancelFutures, every submitted call finishes first', async () => {
      const { log, gate } = scratch();
      const ex = executor({ maxWorkers: 1 });
      const futures = ['a', 'b', 'c', 'd'].map((label) => ex.submit('mark', log, label, gate));
      const pid = ex.submit('pid');
      const shutdown = ex.shutdown();
      scratch().openGate();
      await shutdown;
      expect([...futures, pid].every((f) => f.done() && !f.cancelled())).toBe(true);
      expect(await Promise.all(futures)).toEqual(['a', 'b', 'c', 'd']);
      expect(scratch().marks()).toEqual(['a', 'b', 'c', 'd']);
      expect(workerAlive(kind, await pid)).toBe(false);
    });

    test('cancelFutures cancels the calls no child has taken (CancelledError, never run); running ones finish', async () => {
      const { log, gate } = scratch();
      const ex = executor({ maxWorkers: 1 });
      const labels = ['a', 'b', 'c', 'd', 'e'];
      const futures = labels.map((label) => ex.submit('mark', log, label, gate));
      await waitFor(() => scratch().marks().includes('a'), 10000, 'the first call to start');
      const running = futures.filter((f) => f.running());
      const runningLabels = labels.filter((_, i) => futures[i].running());
      expect(running).toContain(futures[0]);
      const queued = futures.filter((f) => !f.running());
      // One child holds the running call and at most one more; the rest are queued.
      expect(queued.length).toBeGreaterThanOrEqual(3);

      let shutDown = false;
      const shutdown = ex.shutdown({ cancelFutures: true }).then(() => (shutDown = true));
      for (const future of queued) {
        expect(future.cancelled()).toBe(true);
        await expect(future.result()).rejects.toBeInstanceOf(CancelledError);
      }
      for (const future of running) expect(future.cancelled()).toBe(false);
      // Waiting: the running calls are still at the gate.
      await sleep(100);
      expect(shutDown).toBe(false);

      scratch().openGate();
      await shutdown;
      for (const future of running) await expect(future.result()).resolves.toEqual(expect.any(String));
      expect(scratch().marks()).toEqual(runningLabels);
    });

    test('without wait, resolves at once; the running call still finishes and the children then exit', async () => {
      const { gate } = scratch();
      const ex = executor({ maxWorkers: 1 });
      const future = ex.submit('gated', gate);
      await waitFor(() => future.running(), 10000, 'the call to run');
      await ex.shutdown({ wait: false });
      expect(future.done()).toBe(false);
      expect(() => ex.submit('double', 1)).toThrow(PoolStateError);
      scratch().openGate();
      const pid = await future;
      await waitFor(() => !workerAlive(kind, pid), 10000, 'the child to exit');
    });

    test('is idempotent: a second call, or two at once, resolve too', async () => {
      const ex = executor({ maxWorkers: 2 });
      const pid = await ex.submit('pid');
      await Promise.all([ex.shutdown(), ex.shutdown({ wait: true }), ex.shutdown({ cancelFutures: true })]);
      await ex.shutdown();
      await ex.shutdown({ wait: false });
      expect(workerAlive(kind, pid)).toBe(false);
    });

    test('submit after shutdown throws PoolStateError, even while the shutdown is still waiting', async () => {
      const { gate } = scratch();
      const ex = executor();
      const running = ex.submit('gated', gate);
      const shutdown = ex.shutdown();
      expect(() => ex.submit('double', 1)).toThrow(PoolStateError);
      expect(() => ex.submit('double', 1)).toThrow(/shut down/);
      scratch().openGate();
      await shutdown;
      await running;
      expect(() => ex.submit('double', 1)).toThrow(PoolStateError);
    });

    test('a shut-down executor is not broken', async () => {
      const ex = executor();
      await ex.shutdown();
      expect(ex.broken).toBe(false);
    });
  });

  describe('Symbol.asyncDispose', () => {
    test('await using shuts the executor down with wait: pending calls finish, the children are gone', async () => {
      let pid = 0;
      let pending;
      {
        await using ex = executorOf<Tasks>(kind, { maxWorkers: 1, module: TASKS });
        pid = await ex.submit('pid');
        pending = ex.submit('sleep', 100);
      }
      expect(pending.done()).toBe(true);
      await expect(pending).resolves.toBe(100);
      expect(workerAlive(kind, pid)).toBe(false);
    });

    test('[Symbol.asyncDispose]() is shutdown({ wait: true })', async () => {
      const ex = executor({ maxWorkers: 1 });
      const pid = await ex.submit('pid');
      await ex[Symbol.asyncDispose]();
      expect(workerAlive(kind, pid)).toBe(false);
      expect(() => ex.submit('pid')).toThrow(PoolStateError);
    });
  });

  describe('shutdown with a map under way', () => {
    test('shutdown({ wait: true }) does not wait for someone to consume the rest of a map', async () => {
      const ex = executor({ maxWorkers: 1 });
      const iterator = ex.map('double', Array.from({ length: 50 }, (_, i) => i));
      await expect(iterator.next()).resolves.toEqual({ done: false, value: 0 });
      const shutdown = ex.shutdown();
      try {
        // As in Python, the calls the map has made finish and shutdown returns; it must not hang.
        expect(await settlesWithin(shutdown, 5000)).toBe(true);
      } finally {
        await iterator.return!();
        await shutdown;
      }
    });

    test('shutdown({ cancelFutures: true }) also cancels the items of a map that have not started', async () => {
      const { log, gate } = scratch();
      const ex = executor({ maxWorkers: 1 });
      // Four items: within the window of one child, so the whole input is read and submitted at once and
      // the map holds no open input that could keep the shutdown waiting.
      const items = Array.from({ length: 4 }, (_, i) => ({ log, label: String(i), gate }));
      const iterator = ex.map('markItem', items);
      const first = iterator.next();
      await waitFor(() => scratch().marks().includes('0'), 10000, 'the first item to start');
      const shutdown = ex.shutdown({ cancelFutures: true });
      scratch().openGate();
      try {
        expect(await settlesWithin(shutdown, 5000)).toBe(true);
        await expect(first).resolves.toEqual({ done: false, value: '0' });
        // The item that was running and (perhaps) the one the child held next; none of the queued ones.
        const ran = scratch().marks();
        expect(ran.length).toBeLessThanOrEqual(2);
      } finally {
        await iterator.return!();
        await shutdown;
      }
    });
  });
});
