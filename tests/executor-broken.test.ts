/**
 * A child that dies unasked breaks the executor, as Python's BrokenProcessPool: every pending future and
 * every later submit rejects with BrokenPoolError. Plus the options the executor shares with Pool:
 * validation, onWorkerCrash: 'respawn', initializer, maxTasksPerChild.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BrokenPoolError, CancelledError, ProcessPoolExecutor } from '../src';
import { executorFor, ONE_CALL_PER_CHILD, TASKS, useScratch } from './executor-helpers';
import { KINDS, executorOf, idOf, testFor, workerAlive } from './kinds';
import { isAlive, waitFor } from './helpers';

const scratch = useScratch();

/** The pid a `pidFileThenWait` task wrote, once it has. */
async function pidFrom(file: string): Promise<number> {
  await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== '', 10000, `${path.basename(file)} to be written`);
  return Number(fs.readFileSync(file, 'utf8'));
}

describe.each(KINDS)('%s', (_name, kind) => {
  const executor = executorFor(kind);
  /** A test that sends a child a signal: a thread has none (thread-faults.test.ts covers its crashes). */
  const withSignals = testFor(kind, 'process');

  describe('a crash breaks the executor', () => {
    withSignals('SIGKILL of a child mid-task: its future, the other running and pending ones, and later submits reject', async () => {
      const { dir, gate } = scratch();
      const ex = executor({ maxWorkers: 2, ...ONE_CALL_PER_CHILD });
      const first = ex.submit('pidFileThenWait', dir, 'first', gate);
      const second = ex.submit('pidFileThenWait', dir, 'second', gate);
      const pending = [1, 2, 3, 4].map((x) => ex.submit('double', x));
      const victim = await pidFrom(path.join(dir, 'first'));
      const other = await pidFrom(path.join(dir, 'second'));
      expect(first.running()).toBe(true);
      expect(ex.broken).toBe(false);

      process.kill(victim, 'SIGKILL');

      const error = await first.exception();
      expect(error).toBeInstanceOf(BrokenPoolError);
      expect(error).toMatchObject({ name: 'BrokenPoolError', code: 'ERR_POOL_BROKEN', pid: victim, signal: 'SIGKILL' });
      for (const future of [second, ...pending]) {
        await expect(future.result()).rejects.toBeInstanceOf(BrokenPoolError);
        expect(future.done()).toBe(true);
        expect(future.failed()).toBe(true);
        expect(future.running()).toBe(false);
        expect(future.cancel()).toBe(false);
      }
      expect(ex.broken).toBe(true);

      const later = ex.submit('double', 5);
      await expect(later).rejects.toBeInstanceOf(BrokenPoolError);
      expect(later.done()).toBe(true);

      await ex.shutdown();
      expect(workerAlive(kind, victim)).toBe(false);
      expect(workerAlive(kind, other)).toBe(false);
    });

    test('process.exit in a task: the future rejects with the exit code, the executor is broken', async () => {
      const { dir, gate } = scratch();
      const ex = executor({ maxWorkers: 2, ...ONE_CALL_PER_CHILD });
      const bystander = ex.submit('pidFileThenWait', dir, 'bystander', gate);
      const otherPid = await pidFrom(path.join(dir, 'bystander'));
      const exiting = ex.submit('exitWith', 3);
      const queued = ex.submit('double', 1);

      const error = await exiting.exception();
      expect(error).toBeInstanceOf(BrokenPoolError);
      expect(error).toMatchObject({ exitCode: 3, signal: null });
      expect(idOf(error as BrokenPoolError)).toEqual(expect.any(Number));
      await expect(bystander).rejects.toBeInstanceOf(BrokenPoolError);
      await expect(queued).rejects.toBeInstanceOf(BrokenPoolError);
      expect(ex.broken).toBe(true);
      await expect(ex.submit('double', 2)).rejects.toBeInstanceOf(BrokenPoolError);

      await ex.shutdown();
      expect(workerAlive(kind, idOf(error as BrokenPoolError))).toBe(false);
      expect(workerAlive(kind, otherPid)).toBe(false);
    });

    test('a future cancelled before the crash stays cancelled', async () => {
      const { gate } = scratch();
      const ex = executor({ maxWorkers: 1 });
      const cancelled = ex.submit('gated', gate);
      expect(cancelled.cancel()).toBe(true);
      const exiting = ex.submit('exitWith', 7);
      await expect(exiting).rejects.toBeInstanceOf(BrokenPoolError);
      expect(cancelled.cancelled()).toBe(true);
      await expect(cancelled.result()).rejects.toBeInstanceOf(CancelledError);
      await ex.shutdown();
    });

    withSignals('a map under way throws BrokenPoolError when a child dies', async () => {
      const { dir, gate } = scratch();
      const ex = executor({ maxWorkers: 1 });
      const items = ['a', 'b', 'c', 'd'].map((name) => ({ dir, name, gate }));
      const iterator = ex.map('pidFileItem', items);
      const next = iterator.next();
      const pid = await pidFrom(path.join(dir, 'a'));
      process.kill(pid, 'SIGKILL');
      await expect(next).rejects.toBeInstanceOf(BrokenPoolError);
      await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
      expect(ex.broken).toBe(true);
      await ex.shutdown();
      expect(workerAlive(kind, pid)).toBe(false);
    });

    test('a broken executor can still be shut down, more than once', async () => {
      const ex = executor({ maxWorkers: 2 });
      const pids = await Promise.all([ex.submit('pid'), ex.submit('pid')]);
      await expect(ex.submit('exitWith', 1)).rejects.toBeInstanceOf(BrokenPoolError);
      await ex.shutdown();
      await ex.shutdown({ cancelFutures: true });
      for (const pid of pids) expect(workerAlive(kind, pid)).toBe(false);
    });
  });

  describe("onWorkerCrash: 'respawn'", () => {
    test('only the dead child\'s future rejects; a new child takes its place and the executor goes on', async () => {
      const { dir, gate } = scratch();
      const ex = executor({ maxWorkers: 2, onWorkerCrash: 'respawn', ...ONE_CALL_PER_CHILD });
      const survivor = ex.submit('pidFileThenWait', dir, 'survivor', gate);
      const survivorPid = await pidFrom(path.join(dir, 'survivor'));
      const exiting = ex.submit('exitWith', 4);
      await expect(exiting).rejects.toMatchObject({ name: 'BrokenPoolError', exitCode: 4 });
      expect(ex.broken).toBe(false);
      await expect(ex.submit('double', 21)).resolves.toBe(42);
      scratch().openGate();
      await expect(survivor).resolves.toBe(survivorPid);
    });
  });

  describe('options shared with Pool', () => {
    test('maxWorkers and the other options are validated, naming the option', () => {
      expect(() => executorOf(kind, { maxWorkers: 0 })).toThrow(RangeError);
      expect(() => executorOf(kind, { maxWorkers: 0 })).toThrow(/maxWorkers/);
      expect(() => executorOf(kind, { maxWorkers: 1.5 })).toThrow(/maxWorkers.*1\.5/);
      expect(() => executorOf(kind, { maxWorkers: '2' as never })).toThrow(TypeError);
      expect(() => executorOf(kind, { maxWorkers: 1, maxTasksPerChild: 0 })).toThrow(/maxTasksPerChild/);
      expect(() => executorOf(kind, { maxWorkers: 1, onWorkerCrash: 'ignore' as never })).toThrow(/onWorkerCrash/);
      expect(() => executorOf(kind, { maxWorkers: 1, initargs: 'x' as never })).toThrow(/initargs/);
    });

    test('maxWorkers defaults to the available parallelism', async () => {
      const ex = executorOf(kind, { module: TASKS });
      try {
        expect(ex.maxWorkers).toBe(require('node:os').availableParallelism());
      } finally {
        await ex.shutdown();
      }
    });

    test('the initializer runs with initargs in every child before its first task', async () => {
      const ex = executor({ maxWorkers: 1, initializer: 'remember', initargs: [{ token: 'abc' }], maxTasksPerChild: 1 });
      // maxTasksPerChild 1: each call runs in a fresh child, whose initializer ran too.
      const [a, b] = [await ex.submit('fromInit'), await ex.submit('fromInit')];
      expect(a).toEqual({ token: 'abc' });
      expect(b).toEqual({ token: 'abc' });
    });

    test('a failing initializer breaks the executor: futures reject with BrokenPoolError caused by its error', async () => {
      const ex = executor({ maxWorkers: 1, initializer: 'failInit' });
      const future = ex.submit('double', 1);
      const error = await future.exception();
      expect(error).toBeInstanceOf(BrokenPoolError);
      expect((error as BrokenPoolError).cause).toMatchObject({ message: 'initializer refused' });
      expect(ex.broken).toBe(true);
      await expect(ex.submit('double', 2)).rejects.toBeInstanceOf(BrokenPoolError);
    });

    test('maxTasksPerChild replaces a child after that many calls, and the old one exits', async () => {
      const ex = executor({ maxWorkers: 1, maxTasksPerChild: 2 });
      const pids: number[] = [];
      for (let i = 0; i < 6; i++) pids.push(await ex.submit('pid'));
      expect(new Set(pids).size).toBe(3);
      expect(pids[0]).toBe(pids[1]);
      expect(pids[2]).toBe(pids[3]);
      expect(pids[4]).toBe(pids[5]);
      await waitFor(() => !workerAlive(kind, pids[0]) && !workerAlive(kind, pids[2]), 10000, 'the retired children to exit');
    });
  });
});
