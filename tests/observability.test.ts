/**
 * Observability (API.md): events from tasks, lifecycle events, stats(), the children's output, and elastic
 * pools. Real children throughout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BrokenPoolError, Pool, PoolStateError, ProcessPoolExecutor, type WorkerExitInfo } from '../src';
import { emit } from '../src/task';
import { expectNoChildrenLeft } from './faults-helpers';
import { fixture, rejectionOf, sleep, useScratchDir, useWarnings, waitFor } from './helpers';
import { KINDS, executorOf, idOf, idsOf, poolOf, usePoolsOf, workerAlive, type AnyExecutor, type AnyPool } from './kinds';

const EVENTS = fixture('event-tasks.js');
const BALANCE = fixture('balance-tasks.js');
describe.each(KINDS)('%s', (_name, kind) => {
  const pool = usePoolsOf(kind, { module: EVENTS, processes: 2 });
  const scratch = useScratchDir('forkpool-observe-');

  afterAll(expectNoChildrenLeft);

  const emitted = useWarnings();

  /** Every 'exit' a pool reports, from its construction on. */
  function exitsOf(p: AnyPool | AnyExecutor): WorkerExitInfo<any>[] {
    const exits: WorkerExitInfo<any>[] = [];
    (p as AnyPool).on('exit', (info) => exits.push(info));
    return exits;
  }

  describe('emit() from a task', () => {
    test("a task's events reach its call's onEvent in order, all before its result", async () => {
      const p = pool();
      const seen: number[] = [];
      const pids = new Set<number>();
      const result = p.apply('steps', [20], {
        onEvent: (value, info) => {
          seen.push((value as { step: number }).step);
          pids.add(idOf(info));
        },
      });
      await result.then(() => expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1)));
      expect(idsOf(p)).toEqual(expect.arrayContaining([...pids]));
    });

    test('every item of a map reports to the one onEvent of the call, and to the pool-wide listeners', async () => {
      const p = pool();
      const perCall: number[] = [];
      const poolWide: number[] = [];
      p.on('event', (value) => poolWide.push(value as number));
      const items = Array.from({ length: 50 }, (_, i) => i);
      expect(await p.map('squareLoudly', items, { chunksize: 3, onEvent: (value) => perCall.push(value as number) })).toEqual(items.map((x) => x * x));
      expect(perCall.sort((a, b) => a - b)).toEqual(items);
      expect(poolWide.sort((a, b) => a - b)).toEqual(items);
    });

    test('imap and imapUnordered take onEvent too', async () => {
      const p = pool();
      for (const method of ['imap', 'imapUnordered'] as const) {
        const seen: unknown[] = [];
        for await (const _ of p[method]('squareLoudly', [1, 2, 3], { onEvent: (value) => seen.push(value) }));
        expect(seen.sort()).toEqual([1, 2, 3]);
      }
    });

    test('an executor reports its tasks\' events to its own listeners', async () => {
      await using ex = executorOf(kind, { maxWorkers: 1, module: EVENTS });
      const seen: unknown[] = [];
      ex.on('event', (value) => seen.push(value));
      expect(await ex.submit('steps', 3)).toBe(3);
      expect(seen).toEqual([1, 2, 3].map((step) => ({ step, of: 3 })));
    });

    test('an unsendable value throws a TypeError in the task', async () => {
      const p = pool({ processes: 1 });
      expect(await p.apply('emitUnsendable')).toEqual({ name: 'TypeError', code: 'ERR_POOL_UNSENDABLE' });
      // Nested deeper than the parent could read: refused in the child, not a crash of the parent.
      expect(await p.apply('emitUnsendable', [3000])).toEqual({ name: 'TypeError', code: 'ERR_POOL_UNSENDABLE' });
      // With JSON, a function would vanish silently: it is refused the same way.
      // (Threads have no JSON: a ThreadPool refuses the option.)
      if (kind === 'process') {
        expect(await pool({ processes: 1, serialization: 'json' }).apply('emitUnsendable')).toEqual({ name: 'TypeError', code: 'ERR_POOL_UNSENDABLE' });
      }
    });

    test('outside a running task it throws PoolStateError: in the parent, and in a child after the task ended', async () => {
      expect(() => emit('nobody listens')).toThrow(PoolStateError);
      const file = path.join(scratch(), 'late');
      const p = pool({ processes: 1 });
      const seen: unknown[] = [];
      p.on('event', (value) => seen.push(value));
      expect(await p.apply('emitLate', [file])).toBe('returned');
      // Another task runs while the timer fires: the late event is not given to it.
      const running = p.apply('pause', [200], { onEvent: (value) => seen.push(value) });
      await waitFor(() => fs.existsSync(file), 5000, 'the late emit');
      await running;
      expect(fs.readFileSync(file, 'utf8')).toBe('PoolStateError');
      expect(seen).toEqual([]);
    });

    test('an onEvent listener that throws becomes a warning, and the call goes on', async () => {
      const p = pool({ processes: 1 });
      const result = await p.apply('steps', [3], {
        onEvent: () => {
          throw new Error('listener exploded');
        },
      });
      expect(result).toBe(3);
      expect(emitted().map((w) => w.message)).toEqual(Array(3).fill(expect.stringContaining('listener exploded')));
      const poolWide = pool({ processes: 1 });
      poolWide.on('event', () => {
        throw new Error('pool listener exploded');
      });
      expect(await poolWide.apply('steps', [1])).toBe(1);
      expect(emitted().map((w) => w.message)).toContainEqual(expect.stringContaining('pool listener exploded'));
    });
  });

  describe('lifecycle events', () => {
    test("listeners added right after the constructor see the first children's 'spawn'", async () => {
      const p = pool({ processes: 3 });
      const spawned: number[] = [];
      p.on('spawn', (info) => spawned.push(idOf(info)));
      await sleep(0);
      expect(spawned.sort()).toEqual([...idsOf(p)].sort());
    });

    test("'exit' says why: recycled, crashed, timeout, aborted, closed", async () => {
      const p = poolOf(kind, { processes: 1, module: BALANCE, maxTasksPerChild: 1, onWorkerCrash: 'respawn' });
      const exits = exitsOf(p);
      const errors: unknown[] = [];
      (p as unknown as NodeJS.EventEmitter).on('error', (error: unknown) => errors.push(error));
      await p.apply('tiny', [1]);
      await waitFor(() => exits.length === 1, 5000, 'the recycled child');
      await rejectionOf(p.apply('exitAfter', [0, 3]));
      await rejectionOf(p.apply('blockUntil', [path.join(scratch(), 'never')], { timeout: 100 }));
      const controller = new AbortController();
      const aborted = p.apply('markThenBlock', [path.join(scratch(), 'pid'), path.join(scratch(), 'never')], { signal: controller.signal });
      await waitFor(() => fs.existsSync(path.join(scratch(), 'pid')), 5000, 'the task to start');
      controller.abort();
      await rejectionOf(aborted);
      p.close();
      await p.join();
      expect(exits.map((exit) => exit.reason)).toEqual(['recycled', 'crashed', 'timeout', 'aborted', 'closed']);
      expect(exits[1]).toMatchObject({ exitCode: 3, signal: null });
      expect(errors).toEqual([]);
    });

    test("'exit' says terminated, and broken when a crash breaks the pool", async () => {
      const terminated = poolOf(kind, { processes: 2, module: BALANCE });
      const exits = exitsOf(terminated);
      await terminated.apply('tiny', [1]);
      terminated.terminate();
      await terminated.join();
      expect(exits.map((exit) => exit.reason)).toEqual(['terminated', 'terminated']);

      const broken = poolOf(kind, { processes: 2, module: BALANCE });
      const brokenExits = exitsOf(broken);
      expect(await rejectionOf(broken.apply('exitAfter', [0, 4]))).toBeInstanceOf(BrokenPoolError);
      await broken.join();
      expect(brokenExits.map((exit) => exit.reason).sort()).toEqual(['broken', 'crashed']);
    });
  });

  describe('stats()', () => {
    test('counts children by state and tasks by where they are', async () => {
      const gate = path.join(scratch(), 'gate');
      const p = poolOf(kind, { processes: 2, module: BALANCE });
      expect(p.stats()).toMatchObject({ processes: 2, spawned: 2, crashed: 0, completed: 0, failed: 0, queued: 0, running: 0 });
      await Promise.all([p.apply('tiny', [1]), p.apply('tiny', [2])]);
      const blocked = [p.apply('blockUntil', [gate]), p.apply('blockUntil', [gate])];
      const waiting = Array.from({ length: 5 }, (_, i) => p.apply('tiny', [i]));
      await waitFor(() => p.stats().running === 2, 5000, 'both children to run a blocking task');
      expect(p.stats()).toMatchObject({ processes: 2, starting: 0, idle: 0, busy: 2, queued: 5, running: 2 });
      fs.writeFileSync(gate, '');
      await Promise.all([...blocked, ...waiting]);
      expect(p.stats()).toMatchObject({ idle: 2, busy: 0, queued: 0, running: 0, completed: 9 });
      p.close();
      await p.join();
      expect(p.stats()).toMatchObject({ processes: 0 });
    });

    test('failed counts errors of every kind; cancelled tasks count in neither', async () => {
      const gate = path.join(scratch(), 'gate');
      await using ex = executorOf(kind, { maxWorkers: 1, module: BALANCE, onWorkerCrash: 'respawn' });
      await ex.submit('tiny', 1);
      const blocking = ex.submit('blockUntil', gate);
      const cancelled = ex.submit('tiny', 2);
      expect(cancelled.cancel()).toBe(true);
      fs.writeFileSync(gate, '');
      await blocking;
      await rejectionOf(ex.submit('exitAfter', 0, 2));
      expect(ex.stats()).toMatchObject({ completed: 2, failed: 1, crashed: 1, spawned: 2 });
    });
  });

  describe('children\'s output', () => {
    test("'pipe': whole lines from every child, none split, the last one kept though its child exits at once", async () => {
      const p = pool({ processes: 3, stdout: 'pipe', stderr: 'pipe', maxTasksPerChild: 1 });
      const out: string[] = [];
      const err: string[] = [];
      p.stdout!.on('data', (line: string) => out.push(line));
      p.stderr!.on('data', (line: string) => err.push(line));
      const ended = new Promise((resolve) => p.stdout!.once('end', resolve));
      const labels = ['a', 'b', 'c', 'd', 'e', 'f'];
      await Promise.all(labels.map((label) => p.apply('writeLines', [{ label, lines: 200 }])));
      await p.apply('writeLines', [{ label: 'err', lines: 3, toStderr: true }]);
      p.close();
      await p.join();
      // Every child has exited and said everything: the stream ends.
      await ended;
      const expected = labels.flatMap((label) => Array.from({ length: 200 }, (_, i) => `${label} line ${i}\n`));
      expect(out.sort()).toEqual(expected.sort());
      expect(err).toEqual(['err line 0\n', 'err line 1\n', 'err line 2\n']);
    });

    test("'ignore' and 'inherit' give no stream", () => {
      expect(pool({ processes: 1, stdout: 'ignore' }).stdout).toBeNull();
      expect(pool({ processes: 1 }).stderr).toBeNull();
    });

    test('a wrong value is refused, naming the option', () => {
      expect(() => poolOf(kind, { stdout: 'file' as never })).toThrow(/`stdout`.*'inherit', 'ignore', 'pipe'/);
    });
  });

  describe('elastic pools', () => {
    test('children beyond minProcesses start when work arrives and exit after idleTimeout', async () => {
      const p = poolOf(kind, { processes: 3, minProcesses: 1, idleTimeout: 200, module: BALANCE });
      const exits = exitsOf(p);
      expect(p.stats().processes).toBe(1);
      const barrier = path.join(scratch(), 'barrier');
      fs.mkdirSync(barrier);
      const pids = await Promise.all([0, 1, 2].map((i) => p.apply('meet', [{ dir: barrier, name: String(i), count: 3 }])));
      expect(new Set(pids).size).toBe(3);
      await waitFor(() => p.stats().processes === 1, 5000, 'the extra children to exit');
      expect(exits.map((exit) => exit.reason)).toEqual(['idle', 'idle']);
      // The one left is the minimum: it stays, and works.
      await sleep(400);
      expect(p.stats().processes).toBe(1);
      expect(await p.apply('tiny', [5])).toBe(5);
      p.close();
      await p.join();
    });

    test('minProcesses 0: no child until there is work, none left after', async () => {
      const p = poolOf(kind, { processes: 2, minProcesses: 0, idleTimeout: 100, module: BALANCE });
      expect(idsOf(p)).toEqual([]);
      expect(await p.apply('tiny', [1])).toBe(1);
      await waitFor(() => idsOf(p).length === 0, 5000, 'the child to exit');
      p.close();
      await p.join();
    });

    test('minProcesses must be a whole number from 0 to processes', () => {
      expect(() => poolOf(kind, { processes: 2, minProcesses: 3 })).toThrow(/`minProcesses`.*0 to `processes` \(2\), got 3/);
      expect(() => poolOf(kind, { processes: 2, minProcesses: -1 })).toThrow(RangeError);
      expect(() => poolOf(kind, { idleTimeout: 0 })).toThrow(/`idleTimeout`/);
    });
  });
});
