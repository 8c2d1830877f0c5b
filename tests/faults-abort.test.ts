/**
 * AbortSignal: a call rejects with the signal's reason. Already aborted, nothing runs; queued, the task is
 * dropped; running, its child is killed and replaced. The pool goes on either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fixture, isAlive, rejectionOf, thrownBy, useScratchDir, waitFor } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';
import { expectNoChildrenLeft, readLines } from './faults-helpers';

const HANG = fixture('hang.js');

describe.each(KINDS)('%s', (_name, kind) => {
  const pool = usePoolsOf(kind, { processes: 1, module: HANG });
  const dir = useScratchDir('forkpool-faults-');
  let marks: string;

  beforeEach(() => {
    marks = path.join(dir(), 'marks');
  });

  afterAll(expectNoChildrenLeft);

  function abortedWith(reason: unknown): AbortSignal {
    const controller = new AbortController();
    controller.abort(reason);
    return controller.signal;
  }

  describe('an already aborted signal', () => {
    test('rejects every kind of call at once with its reason, and runs nothing', async () => {
      const p = pool();
      const reason = new Error('stopped before it began');
      const signal = abortedWith(reason);
      expect(await rejectionOf(p.apply('mark', [marks, 'apply'], { signal }))).toBe(reason);
      expect(await rejectionOf(p.applyAsync('mark', [marks, 'applyAsync'], { signal }).get())).toBe(reason);
      expect(await rejectionOf(p.map('mark', ['map'], { signal }))).toBe(reason);
      expect(await rejectionOf(p.starmap('mark', [[marks, 'starmap']], { signal }))).toBe(reason);
      expect(await rejectionOf(p.imap('square', [1, 2], { signal }).next())).toBe(reason);

      // The pool works, and by the time it has run a task nothing of the aborted calls has.
      expect(await p.apply('square', [7])).toBe(49);
      expect(readLines(marks)).toEqual([]);
    });

    test("AbortSignal.abort()'s default reason is the rejection", async () => {
      const p = pool();
      const signal = AbortSignal.abort();
      const error = await rejectionOf(p.apply('square', [2], { signal }));
      expect(error).toBe(signal.reason);
      expect((error as Error).name).toBe('AbortError');
    });
  });

  describe('aborting a queued task', () => {
    test('drops it: it never runs, it rejects with the reason, and the child is not disturbed', async () => {
      const p = pool();
      const [pid] = idsOf(p);
      const busy = p.apply('markSlowly', [marks, 'busy', 400]);
      await waitFor(() => readLines(marks).includes('busy'), 10000, 'the first task to start');
      const controller = new AbortController();
      const queued = p.apply('mark', [marks, 'queued'], { signal: controller.signal });
      const after = p.apply('mark', [marks, 'after']);
      const reason = new Error('not needed any more');
      controller.abort(reason);
      expect(await rejectionOf(queued)).toBe(reason);

      expect(await busy).toBe('busy');
      expect(await after).toBe('after');
      expect(readLines(marks)).toEqual(['busy', 'after']);
      expect(idsOf(p)).toEqual([pid]);
      expect(p.broken).toBe(false);
    });

    test('drops the queued chunks of an aborted map', async () => {
      const p = pool();
      const busy = p.apply('markSlowly', [marks, 'busy', 400]);
      await waitFor(() => readLines(marks).includes('busy'), 10000, 'the first task to start');
      const controller = new AbortController();
      const mapped = p.starmap(
        'mark',
        [1, 2, 3, 4].map((x) => [marks, `item ${x}`]),
        { chunksize: 1, signal: controller.signal },
      );
      controller.abort('enough');
      expect(await rejectionOf(mapped)).toBe('enough');
      await busy;
      expect(await p.apply('square', [3])).toBe(9);
      expect(readLines(marks)).toEqual(['busy']);
    });
  });

  describe('aborting a running task', () => {
    test("kills and replaces its child, and rejects with the reason", async () => {
      const p = pool();
      const file = path.join(dir(), 'started');
      const controller = new AbortController();
      const running = p.apply('markThenSleep', [file, 60000], { signal: controller.signal });
      await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== '', 10000, 'the task to start');
      const pid = Number(fs.readFileSync(file, 'utf8'));
      const reason = new Error('cancelled by the user');
      controller.abort(reason);
      expect(await rejectionOf(running)).toBe(reason);

      await waitFor(() => !workerAlive(kind, pid, p), 5000, 'the child to be killed');
      expect(p.broken).toBe(false);
      const next = await p.apply('pid');
      expect(next).not.toBe(pid);
      expect(idsOf(p)).toEqual([next]);
    });

    test('kills a child stuck in a synchronous loop', async () => {
      const p = pool();
      const file = path.join(dir(), 'started');
      const controller = new AbortController();
      const running = p.apply('markThenSpin', [file], { signal: controller.signal });
      await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== '', 10000, 'the task to start');
      const pid = Number(fs.readFileSync(file, 'utf8'));
      controller.abort('stop spinning');
      expect(await rejectionOf(running)).toBe('stop spinning');
      await waitFor(() => !workerAlive(kind, pid, p), 5000, 'the child to be killed');
      expect(await p.apply('square', [5])).toBe(25);
    });

    test('a task queued behind the aborted one in the same child still runs', async () => {
      const p = pool();
      const file = path.join(dir(), 'started');
      const controller = new AbortController();
      const running = p.apply('markThenSleep', [file, 60000], { signal: controller.signal });
      await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== '', 10000, 'the task to start');
      const behind = [p.apply('mark', [marks, 'one']), p.apply('mark', [marks, 'two'])];
      controller.abort('gone');
      await rejectionOf(running);
      expect(await Promise.all(behind)).toEqual(['one', 'two']);
      expect(readLines(marks)).toEqual(['one', 'two']);
    });
  });

  test('aborting after the task finished changes nothing', async () => {
    const p = pool();
    const [pid] = idsOf(p);
    const controller = new AbortController();
    expect(await p.apply('square', [6], { signal: controller.signal })).toBe(36);
    controller.abort('too late');
    expect(await p.apply('pid')).toBe(pid);
    expect(workerAlive(kind, pid, p)).toBe(true);
  });

  test('a signal that is not an AbortSignal is refused', () => {
    const p = pool();
    const error = thrownBy(() => p.applyAsync('square', [2], { signal: {} as AbortSignal }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('signal');
  });
});
