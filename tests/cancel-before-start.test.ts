/**
 * Cancelling before start (API.md): `Future.cancel()` is true, and an aborted signal drops the task without
 * killing any child, for every task that has not started, wherever it waits: in the pool's queue or held by
 * a child ahead of its turn. A cancelled task never runs. A task counts as started only once a child has
 * begun it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CancelledError, ProcessPoolExecutor } from '../src';
import { readLines } from './faults-helpers';
import { fixture, rejectionOf, sleep, useScratchDir, waitFor } from './helpers';
import { KINDS, executorOf, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('balance-tasks.js');
const scratch = useScratchDir('forkpool-cancel-');
describe.each(KINDS)('%s', (_name, kind) => {
  const pool = usePoolsOf(kind, { module: TASKS, processes: 1 });

  const executors: ProcessPoolExecutor[] = [];
  afterEach(async () => {
    await Promise.all(executors.splice(0).map((ex) => ex.shutdown({ cancelFutures: true })));
  });

  /** An executor of one child whose window is widened, so that it takes the futures after a blocking one. */
  async function oneChildExecutor(): Promise<ProcessPoolExecutor> {
    const ex = executorOf(kind, { maxWorkers: 1, module: TASKS });
    executors.push(ex);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => ex.submit('tiny', i)));
    return ex;
  }

  test('cancel() is true for futures waiting behind a running one, and they never run', async () => {
    const gate = path.join(scratch(), 'gate');
    const marks = path.join(scratch(), 'marks');
    const ex = await oneChildExecutor();
    const blocking = ex.submit('blockUntil', gate);
    const waiting = Array.from({ length: 8 }, (_, i) => ex.submit('mark', marks, i));
    await waitFor(() => blocking.running(), 10000, 'the blocking future to run');

    expect(waiting.map((future) => future.running())).toEqual(waiting.map(() => false));
    expect(waiting.map((future) => future.cancel())).toEqual(waiting.map(() => true));
    expect(blocking.cancel()).toBe(false);
    fs.writeFileSync(gate, '');
    expect(await blocking).not.toBe('gave up');
    for (const future of waiting) {
      expect(future.cancelled()).toBe(true);
      expect(await rejectionOf(future.result())).toBeInstanceOf(CancelledError);
    }
    // The child goes on past the cancelled ones; had any of them run, it would have left a mark.
    await ex.submit('tiny', 0);
    expect(readLines(marks)).toEqual([]);
  });

  test('running() is false until a child begins the task, then true until it is done', async () => {
    const gate = path.join(scratch(), 'gate');
    const second = path.join(scratch(), 'second');
    const ex = await oneChildExecutor();
    const first = ex.submit('blockUntil', gate);
    const next = ex.submit('blockUntil', second);
    await waitFor(() => first.running(), 10000, 'the first future to run');
    // The child holds the second one, but has not begun it.
    await sleep(100);
    expect(next.running()).toBe(false);
    fs.writeFileSync(gate, '');
    await first;
    expect(first.running()).toBe(false);
    await waitFor(() => next.running(), 10000, 'the second future to run');
    expect(next.cancel()).toBe(false);
    fs.writeFileSync(second, '');
    await next;
  });

  test('an aborted signal drops a task its child held behind a running one, and the child lives on', async () => {
    const gate = path.join(scratch(), 'gate');
    const marks = path.join(scratch(), 'marks');
    const p = pool();
    await p.map('tiny', Array.from({ length: 3000 }, (_, i) => i), { chunksize: 1 });
    const [child] = idsOf(p);
    const blocking = p.apply('blockUntil', [gate]);
    const controller = new AbortController();
    const dropped = p.apply('mark', [marks, 1], { signal: controller.signal });
    const kept = p.apply('mark', [marks, 2]);
    controller.abort(new Error('changed my mind'));

    expect(((await rejectionOf(dropped)) as Error).message).toBe('changed my mind');
    fs.writeFileSync(gate, '');
    expect(await blocking).toBe(child);
    expect(await kept).toEqual({ x: 2, pid: child });
    expect(readLines(marks)).toEqual(['2']);
    expect(idsOf(p)).toEqual([child]);
  });

  test('shutdown({ cancelFutures }) cancels the futures a child holds ahead of its turn', async () => {
    const gate = path.join(scratch(), 'gate');
    const marks = path.join(scratch(), 'marks');
    const ex = await oneChildExecutor();
    const blocking = ex.submit('blockUntil', gate);
    const waiting = Array.from({ length: 5 }, (_, i) => ex.submit('mark', marks, i));
    await waitFor(() => blocking.running(), 10000, 'the blocking future to run');
    const shutdown = ex.shutdown({ cancelFutures: true });
    expect(waiting.every((future) => future.cancelled())).toBe(true);
    fs.writeFileSync(gate, '');
    await shutdown;
    expect(await blocking).not.toBe('gave up');
    expect(readLines(marks)).toEqual([]);
  });
});
