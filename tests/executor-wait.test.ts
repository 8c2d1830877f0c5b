/**
 * The module functions over futures: asCompleted (each future once, as it finishes, finished ones first;
 * TimeoutError saying how many are unfinished) and wait (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED;
 * never throws on timeout).
 */
import { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, Future, TimeoutError, asCompleted, wait } from '../src';
import { executor, useScratch } from './executor-helpers';
import { waitFor } from './helpers';

const scratch = useScratch();

describe('asCompleted', () => {
  test('yields each future (not its result) once, in the order they finish', async () => {
    const ex = executor({ maxWorkers: 1 });
    // One child runs the calls one after another, in the order they were submitted.
    const futures = [1, 2, 3, 4].map((x) => ex.submit('sleep', 10 * x));
    const finishOrder: Future<number>[] = [];
    for (const future of futures) future.addDoneCallback((f) => finishOrder.push(f));
    const yielded: Future<number>[] = [];
    for await (const item of asCompleted([...futures].reverse())) {
      const future = item;
      expect(future).toBeInstanceOf(Future);
      expect(future.done()).toBe(true);
      yielded.push(future);
    }
    expect(yielded).toEqual(finishOrder);
    expect(yielded).toEqual(futures);
    expect(new Set(yielded).size).toBe(4);
  });

  test('futures already finished come first, then the others as they finish', async () => {
    const { log, gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const finished = ex.submit('double', 1);
    const failed = ex.submit('boom', 'x');
    await finished;
    await failed.exception();
    const gated = ex.submit('mark', log, 'gated', gate);
    const after = ex.submit('double', 2);
    const iterator = asCompleted([gated, after, failed, finished] as Future<unknown>[]);
    const first = await iterator.next();
    const second = await iterator.next();
    expect(new Set([first.value, second.value])).toEqual(new Set([finished, failed]));
    expect(gated.done()).toBe(false);
    const third = iterator.next();
    scratch().openGate();
    expect((await third).value).toBe(gated);
    expect((await iterator.next()).value).toBe(after);
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });

  test('a future given twice is yielded once; cancelled futures count as finished', async () => {
    const ex = executor({ maxWorkers: 1 });
    const cancelled = ex.submit('double', 1);
    expect(cancelled.cancel()).toBe(true);
    const ok = ex.submit('double', 2);
    const yielded: Future<number>[] = [];
    for await (const item of asCompleted([ok, cancelled, ok, cancelled])) yielded.push(item);
    expect(yielded).toEqual([cancelled, ok]);
  });

  test('throws TimeoutError saying how many of how many are unfinished when time runs out', async () => {
    const { gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const done = ex.submit('double', 1);
    await done;
    const stuck = [ex.submit('gated', gate), ex.submit('gated', gate)];
    const yielded: Future<number>[] = [];
    let error: unknown;
    try {
      for await (const item of asCompleted([done, ...stuck], { timeout: 200 })) yielded.push(item);
    } catch (e) {
      error = e;
    }
    expect(yielded).toEqual([done]);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/\b2 of 3\b/);
    // Nothing was cancelled: the calls go on and finish.
    scratch().openGate();
    await Promise.all(stuck);
  });

  test('the timeout counts from the call: futures that finished by then are still handed out', async () => {
    const { gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const quick = ex.submit('double', 3);
    const stuck = ex.submit('gated', gate);
    const iterator = asCompleted([quick, stuck], { timeout: 300 });
    await quick;
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(iterator.next()).resolves.toEqual({ done: false, value: quick });
    await expect(iterator.next()).rejects.toThrow(TimeoutError);
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    scratch().openGate();
    await stuck;
  });

  test('breaking out of the loop early is fine', async () => {
    const ex = executor({ maxWorkers: 1 });
    const futures = [1, 2, 3].map((x) => ex.submit('double', x));
    for await (const item of asCompleted(futures)) {
      expect(item.done()).toBe(true);
      break;
    }
    await Promise.all(futures);
  });

  test('an empty set of futures finishes at once; anything but futures is refused', async () => {
    const nothing: Future<number>[] = [];
    for await (const future of asCompleted(nothing)) throw new Error(`unexpected ${String(future)}`);
    expect(() => asCompleted([Promise.resolve(1)] as never)).toThrow(TypeError);
    expect(() => asCompleted([], { timeout: -1 })).toThrow(RangeError);
  });
});

describe('wait', () => {
  test('ALL_COMPLETED (the default) returns once every future is done', async () => {
    const ex = executor({ maxWorkers: 2 });
    const futures = [ex.submit('sleep', 50), ex.submit('double', 2), ex.submit('boom', 'x')];
    const { done, notDone } = await wait(futures);
    expect(done).toEqual(new Set(futures));
    expect(notDone.size).toBe(0);
    const again = await wait(futures, { returnWhen: ALL_COMPLETED });
    expect(again.done).toEqual(new Set(futures));
  });

  test('FIRST_COMPLETED returns as soon as one future is done', async () => {
    const { gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const stuck = ex.submit('gated', gate);
    const quick = ex.submit('double', 4);
    const cancelled = ex.submit('double', 5);
    // The only child is held at the gate, so nothing finishes until this cancel.
    await waitFor(() => stuck.running(), 10000, 'the gated call to run');
    const waiting = wait([stuck, quick, cancelled], { returnWhen: FIRST_COMPLETED });
    expect(cancelled.cancel()).toBe(true);
    const { done, notDone } = await waiting;
    expect(done).toEqual(new Set([cancelled]));
    expect(notDone).toEqual(new Set([stuck, quick]));
    scratch().openGate();
    await Promise.all([stuck, quick]);
  });

  test('FIRST_EXCEPTION returns when a future fails, with the others not done', async () => {
    const { gate } = scratch();
    // A third child runs the failing call while two are held at the gate.
    const ex = executor({ maxWorkers: 3 });
    const stuck = [ex.submit('gated', gate), ex.submit('gated', gate)];
    const failing = ex.submit('boom', 'bad');
    const { done, notDone } = await wait([...stuck, failing], { returnWhen: FIRST_EXCEPTION });
    expect(done).toEqual(new Set([failing]));
    expect(notDone).toEqual(new Set(stuck));
    scratch().openGate();
    await Promise.all(stuck);
  });

  test('FIRST_EXCEPTION with no failure waits for all; a cancelled future is not an exception', async () => {
    const ex = executor({ maxWorkers: 1 });
    const cancelled = ex.submit('double', 1);
    cancelled.cancel();
    const futures = [cancelled, ex.submit('sleep', 30), ex.submit('double', 2)];
    const { done, notDone } = await wait(futures, { returnWhen: FIRST_EXCEPTION });
    expect(done).toEqual(new Set(futures));
    expect(notDone.size).toBe(0);
  });

  test('returns on timeout without throwing, splitting the futures into done and not done', async () => {
    const { gate } = scratch();
    const ex = executor({ maxWorkers: 1 });
    const quick = ex.submit('double', 1);
    await quick;
    const stuck = ex.submit('gated', gate);
    const { done, notDone } = await wait([quick, stuck], { timeout: 100 });
    expect(done).toEqual(new Set([quick]));
    expect(notDone).toEqual(new Set([stuck]));
    const first = await wait([stuck], { timeout: 100, returnWhen: FIRST_COMPLETED });
    expect(first.done.size).toBe(0);
    expect(first.notDone).toEqual(new Set([stuck]));
    scratch().openGate();
    await stuck;
  });

  test('checks its arguments', async () => {
    await expect(async () => wait([], { returnWhen: 'SOMETIMES' as never })).rejects.toThrow(TypeError);
    await expect(async () => wait([], { timeout: -1 })).rejects.toThrow(RangeError);
    await expect(wait([])).resolves.toEqual({ done: new Set(), notDone: new Set() });
  });
});
