/**
 * ProcessPoolExecutor.submit and the Future it returns: results, errors, cancel of a pending versus a
 * running call, result/exception with a timeout, the executor's taskTimeout, and done callbacks.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CancelledError, Future, TimeoutError } from '../src';
import { executor, TASKS, useScratch } from './executor-helpers';
import { fixture, useWarnings, waitFor } from './helpers';

const scratch = useScratch();

describe('submit', () => {
  test('returns a Future whose result is the task result, and which can be awaited', async () => {
    const ex = executor();
    const future = ex.submit('double', 21);
    expect(future).toBeInstanceOf(Future);
    await expect(future.result()).resolves.toBe(42);
    expect(await future).toBe(42);
    expect(future.done()).toBe(true);
    expect(future.running()).toBe(false);
    expect(future.cancelled()).toBe(false);
    expect(future.failed()).toBe(false);
    await expect(future.exception()).resolves.toBeNull();
  });

  test("a task's error rejects result() and await, and is what exception() returns", async () => {
    const ex = executor();
    const future = ex.submit('boom', 'bad input');
    const error = await future.exception();
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: 'bad input', code: 'E_BOOM' });
    await expect(future.result()).rejects.toThrow(TypeError);
    await expect(future).rejects.toMatchObject({ code: 'E_BOOM' });
    expect(future.done()).toBe(true);
    expect(future.failed()).toBe(true);
    expect(future.cancelled()).toBe(false);
    // The executor goes on.
    await expect(ex.submit('double', 2)).resolves.toBe(4);
  });

  test('takes any TaskRef: an export name, { module, name }, or a self-contained function', async () => {
    const ex = executor();
    await expect(ex.submit({ module: TASKS, name: 'double' }, 8)).resolves.toBe(16);
    await expect(ex.submit((a: number, b: number) => a * b, 6, 7)).resolves.toBe(42);
    await expect(ex.submit('sleep', 1)).resolves.toBe(1);
  });

  test('calls run in other processes and tasks can run side by side', async () => {
    const ex = executor({ maxWorkers: 2 });
    expect(ex.maxWorkers).toBe(2);
    const pids = await Promise.all([1, 2, 3, 4].map(() => ex.submit('pid')));
    for (const pid of pids) expect(pid).not.toBe(process.pid);
  });
});

describe('cancel', () => {
  test('a future no child has taken yet is cancelled: cancel() is true and the task never runs', async () => {
    const { log } = scratch();
    const ex = executor();
    // No child can have asked for work yet: the children are still starting.
    const future = ex.submit('mark', log, 'cancelled');
    expect(future.running()).toBe(false);
    expect(future.cancel()).toBe(true);
    expect(future.cancelled()).toBe(true);
    expect(future.done()).toBe(true);
    expect(future.running()).toBe(false);
    expect(future.failed()).toBe(false);
    // Cancelling again still reports a cancelled future.
    expect(future.cancel()).toBe(true);
    await expect(future.result()).rejects.toThrow(CancelledError);
    await expect(future.exception()).rejects.toThrow(CancelledError);
    await expect(future).rejects.toBeInstanceOf(CancelledError);
    // A later call runs; the cancelled one never did.
    await expect(ex.submit('mark', log, 'later')).resolves.toBe('later');
    expect(scratch().marks()).toEqual(['later']);
  });

  test('a running future cannot be cancelled: cancel() is false and it finishes with its result', async () => {
    const { log, gate } = scratch();
    const ex = executor();
    const future = ex.submit('mark', log, 'running', gate);
    await waitFor(() => future.running(), 10000, 'the future to run');
    expect(future.cancel()).toBe(false);
    expect(future.cancelled()).toBe(false);
    expect(future.running()).toBe(true);
    expect(future.done()).toBe(false);
    scratch().openGate();
    await expect(future.result()).resolves.toBe('running');
    expect(future.running()).toBe(false);
    expect(future.cancelled()).toBe(false);
  });

  test('a future still queued behind running ones is cancelled and never runs; the others finish', async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const first = ex.submit('mark', log, 'first', gate);
    const second = ex.submit('mark', log, 'second', gate);
    const third = ex.submit('mark', log, 'third', gate);
    const fourth = ex.submit('mark', log, 'fourth', gate);
    await waitFor(() => first.running(), 10000, 'the first future to run');
    await waitFor(() => scratch().marks().includes('first'), 10000, 'the first task to start');
    expect(first.cancel()).toBe(false);
    // The single child holds at most the running call and the next one: the fourth is still queued.
    expect(fourth.running()).toBe(false);
    expect(fourth.cancel()).toBe(true);
    expect(fourth.cancelled()).toBe(true);
    scratch().openGate();
    await expect(first).resolves.toBe('first');
    await expect(second).resolves.toBe('second');
    await expect(third).resolves.toBe('third');
    await expect(fourth.result()).rejects.toThrow(CancelledError);
    await ex.shutdown();
    expect(scratch().marks()).toEqual(['first', 'second', 'third']);
  });

  test('after many tiny calls, a child still holds only the call it runs and the next: later ones stay cancellable', async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    // Tiny calls make a child ask for many calls at a time.
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 200 }, (_, i) => ex.submit('double', i)));
    const labels = Array.from({ length: 20 }, (_, i) => String(i));
    const futures = labels.map((label) => ex.submit('mark', log, label, gate));
    await waitFor(() => scratch().marks().length > 0, 10000, 'the first call to start');
    await waitFor(() => futures[0].running(), 10000, 'the first future to run');
    expect(scratch().marks()).toEqual(['0']);
    // Only the first call has started. As in Python, where the call queue holds maxWorkers + 1 calls,
    // the child may hold one more, but not dozens that then report running() and refuse cancel().
    const running = futures.filter((f) => f.running()).length;
    expect(running).toBeLessThanOrEqual(2);
    const cancelled = futures.slice(2).filter((f) => f.cancel()).length;
    expect(cancelled).toBe(futures.length - 2);
    scratch().openGate();
    await Promise.allSettled(futures);
  });

  test('a finished future cannot be cancelled', async () => {
    const ex = executor();
    const ok = ex.submit('double', 1);
    const failed = ex.submit('boom', 'no');
    await ok;
    await failed.exception();
    expect(ok.cancel()).toBe(false);
    expect(failed.cancel()).toBe(false);
    expect(ok.cancelled()).toBe(false);
    expect(failed.cancelled()).toBe(false);
    await expect(ok).resolves.toBe(2);
  });
});

describe('timeouts', () => {
  test('result(timeout) rejects with TimeoutError while the call goes on, and resolves once it is done', async () => {
    const { log, gate } = scratch();
    const ex = executor();
    const future = ex.submit('mark', log, 'slow', gate);
    const late = await future.result(50).catch((error: unknown) => error);
    expect(late).toBeInstanceOf(TimeoutError);
    expect(late).toMatchObject({ name: 'TimeoutError', timeout: 50 });
    await expect(future.exception(50)).rejects.toThrow(TimeoutError);
    expect(future.done()).toBe(false);
    expect(future.cancelled()).toBe(false);
    scratch().openGate();
    await expect(future.result(20000)).resolves.toBe('slow');
    await expect(future.exception(20000)).resolves.toBeNull();
  });

  test("a TimeoutError and a CancelledError name the code that awaited them, like a task's error", async () => {
    const { log, gate } = scratch();
    const ex = executor();
    const slow = ex.submit('mark', log, 'slow', gate);
    const queued = ex.submit('double', 1);
    expect(queued.cancel()).toBe(true);
    async function awaitsTooBriefly() {
      await slow.result(50);
    }
    async function awaitsTheCancelled() {
      await queued;
    }
    for (const [caller, type] of [[awaitsTooBriefly, TimeoutError], [awaitsTheCancelled, CancelledError]] as const) {
      const error = (await caller().then(
        () => undefined,
        (caught: unknown) => caught,
      )) as Error;
      expect(error).toBeInstanceOf(type);
      // "at async caller (...)" from Node, "at caller (...)" under jest, whose source maps rewrite the frames.
      expect(error.stack!.split('--- awaited in the parent process')[1]).toMatch(new RegExp(`at (async )?${caller.name} \\(${__filename}`));
    }
    scratch().openGate();
    await expect(slow).resolves.toBe('slow');
  });

  test('result(timeout) of a future that is already done resolves at once', async () => {
    const ex = executor();
    const future = ex.submit('double', 5);
    await future;
    await expect(future.result(1)).resolves.toBe(10);
  });

  test('taskTimeout rejects a call that runs too long with TimeoutError; its child is replaced, the executor goes on', async () => {
    const { gate } = scratch();
    const ex = executor({ maxWorkers: 1, taskTimeout: 2000 });
    const firstPid = await ex.submit('pid');
    const stuck = ex.submit('gated', gate);
    await expect(stuck.result()).rejects.toThrow(TimeoutError);
    expect(ex.broken).toBe(false);
    const nextPid = await ex.submit('pid');
    expect(nextPid).not.toBe(firstPid);
  });

  test('timeouts are validated, and a bad one rejects the promise rather than throwing', async () => {
    const ex = executor();
    const future = ex.submit('double', 1);
    await expect(future.result(-1)).rejects.toThrow(RangeError);
    await expect(future.exception('soon' as never)).rejects.toThrow(RangeError);
    // 0 is Python's "do not wait": an answer now, whichever it is.
    await future;
    await expect(future.result(0)).resolves.toBe(2);
  });
});

describe('addDoneCallback', () => {
  // Warnings are read where they are emitted; a plain Node process is checked end to end below.
  const emitted = useWarnings();

  test('callbacks run once each, in order, with the future, when it finishes', async () => {
    const { log, gate } = scratch();
    const ex = executor();
    const future = ex.submit('mark', log, 'x', gate);
    const calls: Array<[string, unknown]> = [];
    future.addDoneCallback((f) => calls.push(['first', f]));
    future.addDoneCallback((f) => calls.push(['second', f]));
    await waitFor(() => future.running(), 10000, 'the future to run');
    expect(calls).toEqual([]);
    scratch().openGate();
    await future;
    expect(calls).toEqual([
      ['first', future],
      ['second', future],
    ]);
    expect(calls[0][1]).toBe(future);
  });

  test('a callback added after completion is called at once', async () => {
    const ex = executor();
    const future = ex.submit('double', 3);
    await future;
    const seen: unknown[] = [];
    future.addDoneCallback((f) => seen.push(f));
    expect(seen).toEqual([future]);
    await Promise.resolve();
    expect(seen).toHaveLength(1);
  });

  test('callbacks run for failed and for cancelled futures', async () => {
    const ex = executor();
    const cancelled = ex.submit('double', 1);
    const seen: string[] = [];
    cancelled.addDoneCallback((f) => seen.push(`cancelled:${f.cancelled()}`));
    expect(cancelled.cancel()).toBe(true);
    const failed = ex.submit('boom', 'x');
    failed.addDoneCallback((f) => seen.push(`failed:${f.failed()}`));
    await failed.exception();
    expect(seen).toEqual(['cancelled:true', 'failed:true']);
  });

  test('a callback that throws is reported as a warning and does not stop the others', async () => {
    const ex = executor();
    const future = ex.submit('double', 4);
    const seen: string[] = [];
    future.addDoneCallback(() => seen.push('before'));
    future.addDoneCallback(() => {
      throw new Error('callback exploded');
    });
    future.addDoneCallback(() => seen.push('after'));
    await expect(future).resolves.toBe(8);
    expect(seen).toEqual(['before', 'after']);
    // Thrown at once for a done future too, and still reported.
    expect(() =>
      future.addDoneCallback(() => {
        throw new Error('late callback exploded');
      }),
    ).not.toThrow();
    await waitFor(() => emitted().length >= 2, 5000, 'two warnings');
    expect(emitted().map((w) => w.name)).toEqual(['ForkpoolCallbackWarning', 'ForkpoolCallbackWarning']);
    expect(emitted()[0].message).toContain('callback exploded');
    expect(emitted()[1].message).toContain('late callback exploded');
  });

  test('callbacks that throw do not stop the executor from running the calls queued behind', async () => {
    const ex = executor({ maxWorkers: 1 });
    // The child holds the first two calls; the third waits in the parent until one of them is answered.
    const [first, second, third] = [ex.submit('sleep', 20), ex.submit('sleep', 20), ex.submit('double', 3)];
    for (const future of [first, second]) {
      future.addDoneCallback(() => {
        throw new Error('callback exploded');
      });
    }
    await Promise.all([first, second]);
    const outcome = await Promise.race([
      third.result(),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10000)),
    ]);
    expect(outcome).toBe(6);
  });

  test('a callback that throws is reported as a warning in a plain Node process too', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [fixture('executor-callback-warning.js')], {
      timeout: 60000,
    });
    expect(JSON.parse(stdout)).toEqual({
      value: 8,
      seen: ['before', 'after'],
      warnings: [
        { name: 'ForkpoolCallbackWarning', message: expect.stringContaining('callback exploded') },
        { name: 'ForkpoolCallbackWarning', message: expect.stringContaining('late callback exploded') },
      ],
    });
  });

  test('a callback must be a function', () => {
    const ex = executor();
    const future = ex.submit('double', 1);
    expect(() => future.addDoneCallback('nope' as never)).toThrow(TypeError);
  });
});
