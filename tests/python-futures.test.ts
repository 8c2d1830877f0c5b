/**
 * CPython's own tests of `concurrent.futures` (Lib/test/test_concurrent_futures: executor.py, test_future.py,
 * test_as_completed.py, test_wait.py, test_init.py), translated test by test against ProcessPoolExecutor;
 * each title names the test it translates. Python builds futures in each state by hand; here they come from
 * executors: a running call held at a gate, calls queued behind it, one cancelled, and finished ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  ALL_COMPLETED,
  BrokenPoolError,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  ProcessPoolExecutor,
  TimeoutError,
  asCompleted,
  wait,
  type ExecutorOptions,
} from '../src';
import { fixture, rejectionOf, thrownBy, useScratchDir, waitFor } from './helpers';

const TASKS = fixture('python-tasks.js');
type Tasks = typeof import('./fixtures/python-tasks');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ZeroDivisionError } = require(TASKS) as Tasks;

let executors: ProcessPoolExecutor<Tasks>[] = [];

afterEach(async () => {
  // Gated calls end, then every executor shuts down; only then is the scratch directory removed (its hook
  // is declared below, and runs after this one).
  openGate();
  await Promise.all(executors.splice(0).map((ex) => ex.shutdown({ wait: true, cancelFutures: true })));
});
const scratch = useScratchDir('forkpool-python-futures-');

function executor(options: ExecutorOptions<Tasks> = {}): ProcessPoolExecutor<Tasks> {
  const ex = new ProcessPoolExecutor<Tasks>({ maxWorkers: 2, module: TASKS, errorClasses: [ZeroDivisionError], ...options });
  executors.push(ex);
  return ex;
}

const gate = () => path.join(scratch(), 'gate');
const openGate = () => fs.writeFileSync(gate(), '');

/** Futures in each of Python's states, as util.py makes them. */
async function futuresInEachState() {
  const busy = executor({ maxWorkers: 1 });
  const running = busy.submit('waitFor', gate());
  await waitFor(() => running.running(), 5000, 'the gated call to start');
  const pending = busy.submit('sqr', 2);
  const cancelled = busy.submit('sqr', 3);
  expect(cancelled.cancel()).toBe(true);
  const idle = executor({ maxWorkers: 1 });
  const exception = idle.submit('raising');
  const successful = idle.submit('mul', 6, 7);
  await Promise.all([exception.exception(), successful.result()]);
  return { pending, running, cancelled, exception, successful };
}

describe('ExecutorTest', () => {
  test('test_submit', async () => {
    await expect(executor().submit('mul', 2, 8).result()).resolves.toBe(16);
  });

  test('test_map', async () => {
    const ex = executor();
    const results: number[][] = [];
    for (const chunksize of [1, 3]) {
      const values: number[] = [];
      for await (const value of ex.map('sqr', Array.from({ length: 10 }, (_, i) => i), { chunksize })) values.push(value);
      results.push(values);
    }
    const expected = Array.from({ length: 10 }, (_, i) => i * i);
    expect(results).toEqual([expected, expected]);
  });

  test.each([1, 3])('test_map_exception: the results before the failing call, then its error (chunksize %p)', async (chunksize) => {
    const ex = executor();
    // divmod over zip([1, 1, 1, 1], [2, 3, 0, 5]): the map's single argument is the pair.
    const it = ex.map((pair: [number, number]) => {
      const [a, b] = pair;
      if (b === 0) throw new RangeError('integer division or modulo by zero');
      return [Math.floor(a / b), a % b];
    }, [[1, 2], [1, 3], [1, 0], [1, 5]] as [number, number][], { chunksize });
    await expect(it.next()).resolves.toEqual({ done: false, value: [0, 1] });
    await expect(it.next()).resolves.toEqual({ done: false, value: [0, 1] });
    await expect(it.next()).rejects.toThrow(RangeError);
  });

  test('test_map_timeout: the results ready in time, then TimeoutError', async () => {
    const ex = executor();
    const results: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const value of ex.map('sleep', [0, 0, 1000], { timeout: 300 })) results.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(results).toEqual([undefined, undefined]);
  });

  test('test_max_workers_negative', () => {
    for (const maxWorkers of [0, -1]) {
      const error = thrownBy(() => new ProcessPoolExecutor({ maxWorkers }));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/maxWorkers/);
    }
  });
});

describe('FutureTests', () => {
  test('test_done_callback_with_result', async () => {
    let result: unknown;
    const future = executor().submit('mul', 5, 1);
    future.addDoneCallback((done) => void done.result().then((value) => (result = value)));
    await future;
    await waitFor(() => result !== undefined);
    expect(result).toBe(5);
  });

  test('test_done_callback_with_exception', async () => {
    let error: unknown;
    const future = executor().submit('raising');
    future.addDoneCallback((done) => void done.exception().then((value) => (error = value)));
    await future.exception();
    await waitFor(() => error !== undefined);
    expect(error).toMatchObject({ name: 'KeyError' });
  });

  test('test_done_callback_with_cancel', async () => {
    const { pending } = await futuresInEachState();
    let wasCancelled: boolean | undefined;
    pending.addDoneCallback((done) => (wasCancelled = done.cancelled()));
    expect(pending.cancel()).toBe(true);
    expect(wasCancelled).toBe(true);
  });

  test('test_done_callback_already_successful, _already_failed, _already_cancelled: called at once', async () => {
    const { successful, exception, cancelled } = await futuresInEachState();
    const seen: string[] = [];
    successful.addDoneCallback(() => seen.push('successful'));
    exception.addDoneCallback(() => seen.push('exception'));
    cancelled.addDoneCallback((done) => seen.push(`cancelled ${done.cancelled()}`));
    expect(seen).toEqual(['successful', 'exception', 'cancelled true']);
  });

  test('test_cancel, test_cancelled, test_done, test_running', async () => {
    const { pending, running, cancelled, exception, successful } = await futuresInEachState();
    expect([pending, running, cancelled, exception, successful].map((f) => f.running())).toEqual([false, true, false, false, false]);
    expect([pending, running, cancelled, exception, successful].map((f) => f.done())).toEqual([false, false, true, true, true]);
    expect(running.cancel()).toBe(false);
    expect(cancelled.cancel()).toBe(true);
    expect(exception.cancel()).toBe(false);
    expect(successful.cancel()).toBe(false);
    expect(pending.cancel()).toBe(true);
    expect([pending, running, cancelled, exception, successful].map((f) => f.cancelled())).toEqual([true, false, true, false, false]);
  });

  test('test_result_with_timeout: a timeout of 0 answers at once, whatever the state', async () => {
    const { pending, running, cancelled, exception, successful } = await futuresInEachState();
    await expect(pending.result(0)).rejects.toThrow(TimeoutError);
    await expect(running.result(0)).rejects.toThrow(TimeoutError);
    await expect(cancelled.result(0)).rejects.toThrow(CancelledError);
    await expect(exception.result(0)).rejects.toMatchObject({ name: 'KeyError' });
    await expect(successful.result(0)).resolves.toBe(42);
  });

  test('test_exception_with_timeout: a timeout of 0 answers at once, whatever the state', async () => {
    const { pending, running, cancelled, exception, successful } = await futuresInEachState();
    await expect(pending.exception(0)).rejects.toThrow(TimeoutError);
    await expect(running.exception(0)).rejects.toThrow(TimeoutError);
    await expect(cancelled.exception(0)).rejects.toThrow(CancelledError);
    await expect(exception.exception(0)).resolves.toMatchObject({ name: 'KeyError' });
    await expect(successful.exception(0)).resolves.toBeNull();
  });

  test('test_result_with_success and test_result_with_cancel, within a timeout', async () => {
    const { pending } = await futuresInEachState();
    const waiting = pending.result(5000);
    pending.cancel();
    await expect(waiting).rejects.toThrow(CancelledError);
    const later = executor().submit('sqr', 7, 200);
    await expect(later.result(5000)).resolves.toBe(49);
  });

  test('a negative or non-numeric timeout rejects with RangeError through the promise, never by throwing', async () => {
    const { successful } = await futuresInEachState();
    for (const timeout of [-1, NaN, '10' as unknown as number]) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = successful.result(timeout))).not.toThrow();
      await expect(result).rejects.toThrow(RangeError);
      await expect(successful.exception(timeout)).rejects.toThrow(RangeError);
    }
  });
});

describe('AsCompletedTests', () => {
  test('test_no_timeout', async () => {
    const { cancelled, exception, successful } = await futuresInEachState();
    const ex = executor();
    const future1 = ex.submit('mul', 2, 21);
    const future2 = ex.submit('mul', 7, 6);
    const completed = new Set<Future<unknown>>();
    for await (const future of asCompleted([cancelled, exception, successful, future1, future2])) completed.add(future);
    expect(completed).toEqual(new Set([cancelled, exception, successful, future1, future2]));
  });

  test.each([0, 100])('test_future_times_out: with timeout %p ms, the finished futures come out, then TimeoutError', async (timeout) => {
    const { cancelled, exception, successful } = await futuresInEachState();
    const alreadyCompleted = new Set<Future<unknown>>([cancelled, exception, successful]);
    const future = executor().submit('sleep', 500);
    const completed = new Set<Future<unknown>>();
    const error = await rejectionOf(
      (async () => {
        for await (const f of asCompleted([...alreadyCompleted, future], { timeout })) completed.add(f);
      })(),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(completed).toEqual(alreadyCompleted);
  });

  test('test_duplicate_futures', async () => {
    const future1 = executor().submit('sleep', 200);
    const completed: Future<unknown>[] = [];
    for await (const f of asCompleted([future1, future1, future1])) completed.push(f);
    expect(completed).toEqual([future1]);
  });

  test('test_correct_timeout_exception_msg', async () => {
    const { cancelled, pending, running, successful } = await futuresInEachState();
    const error = await rejectionOf(
      (async () => {
        for await (const f of asCompleted([cancelled, pending, running, successful], { timeout: 0 })) void f;
      })(),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/^2 of 4 futures unfinished/);
  });
});

describe('WaitTests', () => {
  test('test_20369: a future given twice is in done once', async () => {
    const future = executor().submit('mul', 1, 2);
    const { done, notDone } = await wait([future, future], { returnWhen: ALL_COMPLETED });
    expect(done).toEqual(new Set([future]));
    expect(notDone).toEqual(new Set());
  });

  test('test_first_completed', async () => {
    const { cancelled } = await futuresInEachState();
    const ex = executor();
    const future1 = ex.submit('mul', 21, 2);
    const future2 = ex.submit('waitFor', gate());
    // A cancelled future is done: Python's test uses one cancelled but not notified, which is not done.
    const { done, notDone } = await wait([future1, future2], { returnWhen: FIRST_COMPLETED });
    expect(done).toEqual(new Set([future1]));
    expect(notDone).toEqual(new Set([future2]));
    expect(cancelled.done()).toBe(true);
  });

  test('test_first_completed_some_already_completed', async () => {
    const { cancelled, successful } = await futuresInEachState();
    const future1 = executor().submit('waitFor', gate());
    const { done, notDone } = await wait([cancelled, successful, future1], { returnWhen: FIRST_COMPLETED });
    expect(done).toEqual(new Set([cancelled, successful]));
    expect(notDone).toEqual(new Set([future1]));
  });

  test('test_first_exception', async () => {
    const ex = executor({ maxWorkers: 3 });
    const future1 = ex.submit('mul', 2, 21);
    const raiseGate = path.join(scratch(), 'raise');
    const future2 = ex.submit('waitAndRaise', raiseGate);
    const future3 = ex.submit('waitFor', gate());
    void future1.then(() => fs.writeFileSync(raiseGate, ''));
    const { done, notDone } = await wait([future1, future2, future3], { returnWhen: FIRST_EXCEPTION });
    expect(done).toEqual(new Set([future1, future2]));
    expect(notDone).toEqual(new Set([future3]));
  });

  test('test_first_exception_some_already_complete', async () => {
    const { successful, cancelled } = await futuresInEachState();
    const ex = executor();
    const future1 = ex.submit('divmod', 21, 0);
    const future2 = ex.submit('waitFor', gate());
    const { done, notDone } = await wait([successful, cancelled, future1, future2], { returnWhen: FIRST_EXCEPTION });
    expect(done).toEqual(new Set([successful, cancelled, future1]));
    expect(notDone).toEqual(new Set([future2]));
    expect(await future1.exception()).toBeInstanceOf(ZeroDivisionError);
  });

  test('test_first_exception_one_already_failed', async () => {
    const { exception } = await futuresInEachState();
    const future1 = executor().submit('waitFor', gate());
    const { done, notDone } = await wait([exception, future1], { returnWhen: FIRST_EXCEPTION });
    expect(done).toEqual(new Set([exception]));
    expect(notDone).toEqual(new Set([future1]));
  });

  test('test_all_completed', async () => {
    const { successful, cancelled, exception } = await futuresInEachState();
    const ex = executor();
    const future1 = ex.submit('divmod', 2, 0);
    const future2 = ex.submit('mul', 2, 21);
    const { done, notDone } = await wait([successful, cancelled, exception, future1, future2], { returnWhen: ALL_COMPLETED });
    expect(done).toEqual(new Set([successful, cancelled, exception, future1, future2]));
    expect(notDone).toEqual(new Set());
  });

  test.each([0, 50])('test_timeout: with timeout %p ms, wait returns what is done', async (timeout) => {
    const { cancelled, exception, successful } = await futuresInEachState();
    const future = executor().submit('waitFor', gate());
    const { done, notDone } = await wait([cancelled, exception, successful, future], { timeout, returnWhen: ALL_COMPLETED });
    expect(done).toEqual(new Set([cancelled, exception, successful]));
    expect(notDone).toEqual(new Set([future]));
  });

  test('a negative timeout rejects with RangeError', async () => {
    await expect(wait([], { timeout: -1 })).rejects.toThrow(RangeError);
  });
});

describe('InitializerMixin (test_init.py)', () => {
  test('test_initializer', async () => {
    const ex = executor({ initializer: 'init', initargs: ['initialized'] });
    for (let i = 0; i < 4; i++) await expect(ex.submit('getInitStatus').result()).resolves.toBe('initialized');
  });

  test('test_initializer (FailingInitializerMixin): every call fails with BrokenPoolError', async () => {
    const ex = executor({ initializer: 'initFail' });
    const error = await rejectionOf(ex.submit('getInitStatus').result());
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect((error as Error).cause).toMatchObject({ message: 'error in initializer' });
    await expect(ex.submit('getInitStatus').result()).rejects.toThrow(BrokenPoolError);
  });
});
